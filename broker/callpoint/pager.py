"""The pager's pure core: what a colleague's pager shows and may do, with no I/O.

Everything a pager knows comes from the hub: pages on ``page/{staff}``, the open
calls on ``state/+`` and today's figures on ``shift/{staff}``.  The core keeps them,
decides which page needs attention (``alerting``), which buttons make sense for a
call (``allowed``), computes live waiting times from the hub's ``waited_s`` at
receipt plus the local monotonic clock (device clocks are never compared with the
hub's), and keeps the colleague's own actions in a ``StaffOutbox`` until the hub's
state shows it has them.  Time is always passed in (``now``, monotonic seconds).

Example::

    >>> from broker.contract.protocol import PageMsg
    >>> core = PagerCore("anna")
    >>> page = PageMsg(id="c1", device="kiosk-1", zone="toys", reason=None, tier=1,
    ...                opened_at="2026-01-01T10:00:00.000Z", text="kiosk-1 (toys)")
    >>> core.on_page(page, now=100.0)
    True
    >>> core.alerting(now=100.0).id, sorted(core.allowed("c1"))
    ('c1', ['ack', 'decline', 'greet', 'resolve'])
    >>> _ = core.act("ack", "c1", now=101.0)
    >>> core.alerting(now=101.0) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broker.callpoint.pending import OutboxJournal, Pending, PendingActions
from broker.contract.protocol import CLOSED_STATUSES, OPEN_STATUSES, PageMsg, StateMsg

TICKING = frozenset({"waiting", "acknowledged"})
"""The customer's wait keeps counting until someone greets them."""


class StaffOutbox(PendingActions):
    """Staff actions kept until the hub's state reflects them (the devices' one outbox library).

    Confirmation rules, from what the hub publishes:
      ack      the call is acknowledged by me, or by anyone below tier 3 (mine was then refused), or greeted
      greet    the call is greeted
      resolve  the call is closed
      decline  the broker acknowledged it (the hub publishes no state for a tier-3 decline)
    A closed call makes every action on it moot.  Resending and giving up follow
    ``broker.callpoint.pending``; the ``journal`` (``broker.callpoint.outbox.ActionStore``)
    is injected, so this stays pure.
    """

    CONFIRMED_BY_BROKER = frozenset({"decline"})

    def __init__(self, staff: str, journal: OutboxJournal | None = None) -> None:
        super().__init__(journal)
        self.staff = staff

    def confirmed(self, item: Pending, state: StateMsg) -> bool:
        s = state
        if s.status in CLOSED_STATUSES:
            return True
        if item.action == "ack":
            return s.status == "greeted" or (s.status == "acknowledged" and (s.staff == self.staff or s.tier < 3))
        if item.action == "greet":
            return s.status == "greeted"
        if item.action == "decline":
            return s.staff is not None and s.staff != self.staff
        return False


@dataclass
class KnownCall:
    """The hub's last state of an open call, and when (local monotonic) it arrived."""

    state: StateMsg
    received: float

    def waited(self, now: float) -> int:
        if self.state.status in TICKING:
            return max(0, int(self.state.waited_s + (now - self.received)))
        return self.state.waited_s


@dataclass
class Alert:
    """The page that needs this colleague's attention now."""

    id: str
    page: PageMsg | None
    """None when the alert comes from a state that names me as the paged colleague (a page missed offline)."""
    kind: str
    received: float


@dataclass
class CallRow:
    """One line of the open-calls list."""

    id: str
    where: str
    zone: str
    reason: str | None
    status: str
    staff: str | None
    staff_name: str | None
    tier: int
    waited_s: int
    mine: bool
    pending: set[str]
    allowed: set[str]


@dataclass
class PagerCore:
    staff: str
    presence: str | None = None
    calls: dict[str, KnownCall] = field(default_factory=dict)
    pages: dict[str, tuple[PageMsg, float]] = field(default_factory=dict)
    shift: dict[str, Any] | None = None
    outbox: StaffOutbox = None  # type: ignore[assignment]
    _handled: dict[str, float] = field(default_factory=dict)
    """Call id -> when I last acted on it (ack, decline, dismiss): older pages for it stop alerting."""
    _closed: dict[str, StateMsg] = field(default_factory=dict)
    holding_since: float | None = None
    """Set while a resumed MQTT session replays what was queued: nothing alerts until ``release``."""

    def __post_init__(self) -> None:
        if self.outbox is None:
            self.outbox = StaffOutbox(self.staff)

    # --- what the hub sends ------------------------------------------------------------

    def on_page(self, page: PageMsg, now: float) -> bool:
        """Keep a page; True when it should sound (a new alert)."""
        self.pages[page.id] = (page, now)
        if self.holding_since is not None:
            return False  # a replayed page: its call may have closed since, the states after it tell
        if page.kind == "unattended":
            return True
        self._closed.pop(page.id, None)
        return self.alerting(now) is not None and self.alerting(now).id == page.id

    def hold(self, now: float) -> None:
        """A resumed session is about to replay the pages and states queued while this pager was away.

        They come in the order the hub sent them, so a page may be followed by the states that
        closed its call.  Until ``release`` nothing alerts, so a stale page never flashes or sounds.
        """
        self.holding_since = now

    def release(self, now: float) -> bool:
        """The replay is over; True when what alerts now arrived during it (it should sound)."""
        since, self.holding_since = self.holding_since, None
        if since is None:
            return False
        alert = self.alerting(now)
        return alert is not None and alert.received >= since

    def on_state(self, state: StateMsg, now: float) -> None:
        self.outbox.on_state(state)
        if state.status in CLOSED_STATUSES:
            self._forget(state.id)
            self._closed[state.id] = state
            return
        self.calls[state.id] = KnownCall(state, now)

    def on_cleared(self, call_id: str) -> None:
        """The retained state was cleared: the call is closed."""
        self.outbox.on_closed(call_id)
        self._forget(call_id)

    def on_shift(self, figures: dict[str, Any]) -> None:
        self.shift = figures

    def _forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
        self.outbox.on_closed(call_id)
        page = self.pages.get(call_id)
        if page is not None and page[0].kind != "unattended":
            del self.pages[call_id]
        self._handled.pop(call_id, None)

    # --- what the colleague does -------------------------------------------------------

    def act(self, action: str, call_id: str, now: float, outcome: str | None = None) -> Pending | None:
        """Queue ``ack``/``greet``/``resolve``/``decline`` for the hub, or ``dismiss`` a closed call's page.

        Returns the outbox entry to send, or None when nothing goes to the hub.
        Raises ValueError for an action the call does not allow (the UI greys those out).
        """
        known = self.calls.get(call_id)
        if action == "ack" and known and known.state.status == "acknowledged" and known.state.staff == self.staff:
            action = "dismiss"  # a reminder for a call I already took: silence it, the hub has my ack
        if action == "dismiss":
            page = self.pages.get(call_id)
            if page is not None and page[0].kind == "unattended":
                del self.pages[call_id]
            self._handled[call_id] = now
            return None
        if action not in self.allowed(call_id):
            raise ValueError(f"{action!r} is not possible for call {call_id!r} now")
        if action in ("ack", "decline", "greet", "resolve"):
            self._handled[call_id] = now
        body: dict[str, Any] = {"id": call_id}
        if action == "resolve" and outcome:
            body["outcome"] = outcome
        if action == "decline":
            self.pages.pop(call_id, None)
        return self.outbox.add(action, call_id, body, now)

    # --- what the pager shows ------------------------------------------------------------

    def alerting(self, now: float) -> Alert | None:
        """The newest page I have not answered yet (ack, decline, dismiss), or None.

        A state naming me as the paged colleague counts as a page too: a pager that was
        offline when the page went out still alerts once it sees the call's state.
        """
        if self.holding_since is not None:
            return None
        best: Alert | None = None
        for call_id, (page, received) in self.pages.items():
            if received <= self._handled.get(call_id, float("-inf")):
                continue
            known = self.calls.get(call_id)
            if page.kind != "unattended":
                if known is None and call_id in self._closed:
                    continue
                if known is not None and not self._needs_me(known.state):
                    continue
            if best is None or received > best.received:
                best = Alert(call_id, page, page.kind, received)
        if best is not None:
            return best
        for call_id, known in self.calls.items():
            s = known.state
            answered = call_id in self._handled or self.outbox.pending(call_id) & {"ack", "decline"}
            if s.status == "waiting" and s.staff == self.staff and not answered:
                return Alert(call_id, None, "call", known.received)
        return None

    def focus(self, now: float) -> str | None:
        """The call a bare command (``a``, a hardware button) means: the alert, else my newest call."""
        alert = self.alerting(now)
        if alert is not None:
            return alert.id
        mine = [(k.received, i) for i, k in self.calls.items() if k.state.staff == self.staff]
        paged = [(r, i) for i, (pg, r) in self.pages.items() if i in self.calls]
        candidates = sorted(mine + paged)
        return candidates[-1][1] if candidates else None

    def _needs_me(self, s: StateMsg) -> bool:
        if s.status == "waiting":
            return True
        if s.status == "acknowledged":
            return s.staff == self.staff or s.tier >= 3
        return False

    def allowed(self, call_id: str) -> set[str]:
        """The buttons that make sense for this call now (the hub would refuse the others)."""
        known = self.calls.get(call_id)
        paged = call_id in self.pages
        if known is None:
            if paged and self.pages[call_id][0].kind == "unattended":
                return {"dismiss"}
            # Paged, but its state has not arrived yet (it follows the page at once).
            return {"ack", "greet", "resolve", "decline"} if paged else set()
        s = known.state
        mine = s.staff == self.staff
        out: set[str] = set()
        if s.status == "waiting" or (s.status == "acknowledged" and not mine and s.tier >= 3):
            out.add("ack")
        if s.status in ("waiting", "acknowledged") and (mine or s.status == "waiting" or s.tier >= 3):
            out.add("greet")
        if s.status in OPEN_STATUSES and (mine or s.status == "waiting" or s.tier >= 3):
            out.add("resolve")
        if paged and (s.status == "waiting" or (s.status == "acknowledged" and mine)):
            out.add("decline")
        return out - self.outbox.pending(call_id)

    def waited(self, call_id: str, now: float) -> int | None:
        known = self.calls.get(call_id)
        if known is not None:
            return known.waited(now)
        page = self.pages.get(call_id)
        return None if page is None else max(0, int(now - page[1]))

    def open_calls(self, now: float) -> list[CallRow]:
        """Open calls, longest wait first: so a free colleague can take one."""
        rows = []
        for call_id, known in self.calls.items():
            s = known.state
            rows.append(
                CallRow(
                    id=call_id,
                    where=s.label or s.device,
                    zone=s.zone,
                    reason=s.reason,
                    status=s.status,
                    staff=s.staff,
                    staff_name=s.staff_name,
                    tier=s.tier,
                    waited_s=known.waited(now),
                    mine=s.staff == self.staff,
                    pending=self.outbox.pending(call_id),
                    allowed=self.allowed(call_id),
                )
            )
        # The hub's opening times, not the ticking waits: those are whole seconds and would make rows swap places.
        opened = {i: k.state.opened_at for i, k in self.calls.items()}
        rows.sort(key=lambda r: (r.status != "waiting", opened[r.id]))
        return rows

    def state_of(self, call_id: str) -> StateMsg | None:
        known = self.calls.get(call_id)
        return known.state if known else self._closed.get(call_id)


def mmss(seconds: int | None) -> str:
    """``125`` -> ``'2:05'``; the pager shows waits like a stopwatch."""
    if seconds is None:
        return "-"
    return f"{seconds // 60}:{seconds % 60:02d}"
