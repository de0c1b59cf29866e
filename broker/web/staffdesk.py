"""The staff web app's pure core: who is signed in, what their phone shows, and when they count as offline.

One ``PagerCore`` (``broker/callpoint/pager.py``: alerting, allowed actions, live waits,
staff-action outbox) per colleague who signed in on a phone, fed by the server's MQTT
subscription.  ``StaffDesk`` adds what a web page needs: counting each colleague's
live connections, and reporting ``offline`` when the last one has been gone for
``grace_s`` (a phone that lost the store's Wi-Fi cannot send a Will), so the hub
re-routes their page within its ``ack_timeout_s``; the chosen presence comes back
when the phone reconnects.

No I/O: every method takes ``now`` (monotonic seconds) and returns ``Publish``
commands for the shell.

Example::

    >>> desk = StaffDesk(grace_s=5)
    >>> desk.set_presence("anna", "on_shift", now=0.0)
    [Publish(topic='staff/anna/presence', body={'status': 'on_shift'}, retain=True, seq=None, will=True)]
    >>> desk.stream_opened("anna", now=1.0) + desk.stream_closed("anna", now=2.0)
    []
    >>> desk.tick(now=5.5), desk.tick(now=7.5)[0].body
    ([], {'status': 'offline'})
    >>> desk.seen("anna", now=9.0)[0].body
    {'status': 'on_shift'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broker.callpoint.pager import PagerCore, mmss
from broker.contract.protocol import CLOSED_STATUSES, PageMsg, StateMsg

SHIFT_KEYS = ("calls", "greeted", "greeted_within_target", "median_greet_s", "declines")
STEPS = ("ack", "greet", "resolve")
"""A colleague's steps on their own call, in order: On my way -> Greeted -> Resolved."""


def next_step(status: str, allowed: set[str], pending: set[str]) -> str | None:
    """The one big button a colleague's own call shows: the next step the hub will accept.

    None while a step is on its way (the hub's state confirms it, then the next one shows),
    so a double tap cannot skip Greeted and leave time-to-greet unmeasured.

    >>> next_step("acknowledged", {"greet", "resolve", "decline"}, set())
    'greet'
    >>> next_step("greeted", {"resolve"}, set()), next_step("acknowledged", {"resolve"}, {"greet"})
    ('resolve', None)
    """
    if pending & set(STEPS):
        return None
    after = {"waiting": "ack", "acknowledged": "greet", "greeted": "resolve"}.get(status)
    return after if after in allowed else None


@dataclass
class Publish:
    """Send ``body`` (JSON) on ``staffcall/{store}/{topic}``; ``seq`` is the staff outbox entry, if any.

    ``will``: a presence that ``broker/web/wills.py`` follows (a colleague signed in on a phone);
    False for a radio pager's presence set by a manager (``broker/web/radiopagers.py``).
    """

    topic: str
    body: dict[str, Any]
    retain: bool = False
    seq: int | None = None
    will: bool = True


@dataclass
class Session:
    staff: str
    core: PagerCore
    chosen: str | None = None
    """The presence the colleague picked (on_shift / break / off)."""
    streams: int = 0
    gone_since: float | None = None
    last_seen: float | None = None
    """The phone's last sign of life (its live stream opening, or its ping every few seconds)."""
    offline_reported: bool = False


@dataclass
class StaffDesk:
    grace_s: float = 8.0
    sessions: dict[str, Session] = field(default_factory=dict)
    states: dict[str, tuple[StateMsg, float]] = field(default_factory=dict)
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)
    presence: dict[str, str] = field(default_factory=dict)

    def session(self, staff: str, now: float) -> Session:
        s = self.sessions.get(staff)
        if s is None:
            s = self.sessions[staff] = Session(staff, PagerCore(staff))
            for state, received in self.states.values():  # catch up on the retained open calls
                s.core.on_state(state, received)
            if staff in self.shifts:
                s.core.on_shift(self.shifts[staff])
        return s

    # --- from the hub ------------------------------------------------------------------------

    def on_page(self, staff: str, page: PageMsg, now: float) -> bool:
        """True when that colleague's phone should ring."""
        s = self.sessions.get(staff)
        return s.core.on_page(page, now) if s else False

    def on_state(self, state: StateMsg, now: float) -> None:
        if state.status in CLOSED_STATUSES:
            self.states.pop(state.id, None)
        else:
            self.states[state.id] = (state, now)
        for s in self.sessions.values():
            s.core.on_state(state, now)

    def on_cleared(self, call_id: str) -> None:
        self.states.pop(call_id, None)
        for s in self.sessions.values():
            s.core.on_cleared(call_id)

    def on_shift(self, staff: str, figures: dict[str, Any]) -> None:
        self.shifts[staff] = figures
        if staff in self.sessions:
            self.sessions[staff].core.on_shift(figures)

    def on_presence(self, staff: str, status: str | None) -> None:
        if status is None:
            self.presence.pop(staff, None)
        else:
            self.presence[staff] = status

    # --- from the phone ------------------------------------------------------------------------

    def set_presence(self, staff: str, status: str, now: float) -> list[Publish]:
        s = self.session(staff, now)
        s.chosen = status
        s.offline_reported = False
        s.core.presence = status
        return [Publish(f"staff/{staff}/presence", {"status": status}, retain=True)]

    def act(self, staff: str, action: str, call_id: str, now: float, outcome: str | None = None) -> list[Publish]:
        """Raises ValueError for an action the call does not allow now."""
        item = self.session(staff, now).core.act(action, call_id, now, outcome)
        if item is None:
            return []
        item.sent_at, item.sends = now, 1
        return [Publish(f"staff/{staff}/{item.action}", item.body, seq=item.seq)]

    def seen(self, staff: str, now: float) -> list[Publish]:
        """The phone is there: after an offline report, its chosen presence goes out again."""
        s = self.session(staff, now)
        s.last_seen = now
        if s.offline_reported and s.chosen:
            s.offline_reported = False
            s.core.outbox.reconnected()
            return [Publish(f"staff/{staff}/presence", {"status": s.chosen}, retain=True)]
        return []

    def stream_opened(self, staff: str, now: float) -> list[Publish]:
        s = self.session(staff, now)
        s.streams += 1
        s.gone_since = None
        return self.seen(staff, now)

    def stream_closed(self, staff: str, now: float) -> list[Publish]:
        s = self.session(staff, now)
        s.streams = max(0, s.streams - 1)
        if s.streams == 0:
            s.gone_since = now
        return []

    def tick(self, now: float) -> list[Publish]:
        """Offline reports for phones gone past the grace period, and staff actions to (re)send."""
        out: list[Publish] = []
        for s in self.sessions.values():
            closed = s.streams == 0 and s.gone_since is not None and now - s.gone_since >= self.grace_s
            silent = s.last_seen is not None and now - s.last_seen >= self.grace_s  # dropped without a goodbye
            gone = closed or silent
            if gone and not s.offline_reported and s.chosen in ("on_shift", "break"):
                s.offline_reported = True
                out.append(Publish(f"staff/{s.staff}/presence", {"status": "offline"}, retain=True))
            if s.offline_reported:
                continue  # nothing goes out for a phone that is not there
            for item in s.core.outbox.to_send(now):
                s.core.outbox.mark_sent(item.seq, now)
                out.append(Publish(f"staff/{s.staff}/{item.action}", item.body, seq=item.seq))
        return out

    def sign_out(self, staff: str, now: float) -> list[Publish]:
        s = self.sessions.pop(staff, None)
        return [Publish(f"staff/{staff}/presence", {"status": "off"}, retain=True)] if s and s.chosen else []

    # --- what the phone shows ----------------------------------------------------------------

    @staticmethod
    def _is_mine(row: Any) -> bool:
        """Taken by me (acknowledged or greeted), or my On my way is on its way to the hub."""
        return (row.mine and row.status in ("acknowledged", "greeted")) or (
            row.status == "waiting" and "ack" in row.pending
        )

    def view(self, staff: str, name: str, now: float, outcomes: list[str]) -> dict[str, Any]:
        """The JSON twin of ``/staff``: the alert, open calls and my shift; waits tick in the page from here."""
        s = self.session(staff, now)
        core = s.core
        alert = core.alerting(now)
        alert_view = None
        if alert is not None:
            state = core.state_of(alert.id)
            page = alert.page
            alert_view = {
                "id": alert.id,
                "kind": alert.kind,
                "label": (page.label if page else None) or (state.label if state else None) or (page or state).device,
                "zone": (page or state).zone,
                "reason": (page or state).reason,
                "customer_text": page.customer_text if page else None,
                "tier": page.tier if page else state.tier,
                "urgency": page.urgency if page else 1,
                "waited_s": core.waited(alert.id, now) or 0,
                "allowed": sorted(core.allowed(alert.id)),
            }
        rows = core.open_calls(now)
        calls = [
            {
                "id": r.id,
                "where": r.where,
                "zone": r.zone,
                "reason": r.reason,
                "status": r.status,
                "staff_name": r.staff_name,
                "tier": r.tier,
                "waited_s": r.waited_s,
                "ticking": r.status in ("waiting", "acknowledged"),
                "mine": r.mine,
                "pending": sorted(r.pending),
                "allowed": sorted(r.allowed),
            }
            for r in rows
            if not self._is_mine(r)
        ]
        # My calls stay on screen until closed, each with its next step (the alert is gone once answered).
        my_calls = [
            {
                "id": r.id,
                "where": r.where,
                "zone": r.zone,
                "reason": r.reason,
                "status": r.status,
                "waited_s": r.waited_s,
                "ticking": r.status in ("waiting", "acknowledged"),
                "pending": sorted(r.pending),
                "next": next_step(r.status, r.allowed, r.pending),
            }
            for r in rows
            if self._is_mine(r)
        ]
        shift = core.shift or {}
        return {
            "staff": staff,
            "name": name,
            "presence": s.chosen or self.presence.get(staff),
            "alert": alert_view,
            "my_calls": my_calls,
            "calls": calls,
            # Recognition, not surveillance: today's counts and median; no customer's face for any one call.
            "shift": {k: shift.get(k) for k in SHIFT_KEYS},
            "shift_median": mmss(int(shift["median_greet_s"])) if shift.get("median_greet_s") is not None else "-",
            "outcomes": outcomes,
            "pending": len(core.outbox),
        }
