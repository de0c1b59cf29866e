"""Replay recorded calls through the real dispatcher on a virtual clock: the what-if engine.

The store's own calls (when, where, why, and when a customer gave up) are pressed again into a
``Dispatcher`` (the hub's core, with its routing, timers and escalation), while simulated colleagues
answer its pages with behaviour drawn from the store's history (``broker.core.behaviour``).  A
discrete-event loop keeps a heap of (virtual time, event) and fires the core's own deadlines
between them; nothing here re-implements routing.

A simulated colleague is idle or committed to one call (from the moment they decide to go until
resolved).  Paged while idle, they acknowledge, decline or let the page pass; paged while busy, they
answer once free if the call still pages them.  A customer whose recorded call was cancelled gives
up after the same wait if nobody greeted them by then; greeted customers waited as long as needed.

Example::

    >>> from broker.contract.config import parse_config
    >>> from broker.core.behaviour import FixedBehaviour
    >>> cfg = parse_config('''
    ... [store]
    ... id = "s1"
    ... name = "S"
    ... [[staff]]
    ... id = "anna"
    ... name = "Anna"
    ... zones = ["toys"]
    ... [[devices]]
    ... id = "k1"
    ... kind = "kiosk"
    ... zone = "toys"
    ... ''')
    >>> class Words:
    ...     def t(self, key, **values): return key
    >>> r = Replay(cfg, Words(), FixedBehaviour(ack_s=10, walk_s=20, serve_s=60), seed=1)
    >>> out = r.run([RecordedCall("c1", "k1", "toys", None, opened=1000.0)], [Shift(0.0, "anna", "on_shift")])
    >>> out.calls[0].greet_s, out.calls[0].status
    (30.0, 'resolved')
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from broker.contract.clock import FakeClock
from broker.contract.config import Config
from broker.contract.protocol import CallMsg, CallRef, PageMsg, StateMsg, WearMsg
from broker.core.behaviour import Behaviour
from broker.core.calls import Call
from broker.core.commands import (
    Command,
    DeviceAction,
    Event,
    Page,
    PresenceChanged,
    Pressed,
    PublishState,
    RecordCall,
    Reject,
    StaffAction,
)
from broker.core.dispatcher import Dispatcher
from broker.core.eta import EtaEstimator
from broker.core.pagetext import Texts
from broker.core.today import Today


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One call as the event log has it: what the replay presses again."""

    id: str
    device: str
    zone: str
    reason: str | None
    opened: float
    """Unix time the call opened."""
    gave_up_s: float | None = None
    """The customer cancelled after this wait, unless greeted first (None: they waited)."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A colleague's presence changed at ``at`` (Unix time): ``on_shift``, ``break``, ``off``..."""

    at: float
    staff: str
    status: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one call: the figures the comparison needs, no more (memory stays flat)."""

    id: str
    zone: str
    opened: float
    status: str
    ack_s: float | None
    greet_s: float | None
    escalated: bool
    staff: str | None
    second: bool = False
    """A second colleague was needed: a decline, or a page beyond the first (tier 2 or 3)."""


@dataclass
class Result:
    calls: list[Outcome] = field(default_factory=list)
    busy_s: dict[str, float] = field(default_factory=dict)
    """Seconds each colleague spent on calls (acknowledge to resolve)."""
    taken: Counter[str] = field(default_factory=Counter)
    """Calls each colleague greeted."""
    pages: int = 0
    rejected: int = 0


@dataclass
class _Colleague:
    call: str | None = None
    since: float = 0.0


_BLANK_STATE = StateMsg(id="", device="", zone="", status="", tier=0, opened_at="", updated_at="")
_BLANK_WEAR = WearMsg(id="", text="", vibrate=[])


class _ReplayCore(Dispatcher):
    """The dispatcher with what nobody reads in a replay left out: the texts, states and rows it publishes.

    Every decision (routing, timers, escalation, closing) is the parent's code; only the three methods
    that dress a decision for the world are replaced, keeping their side effects on the call (the
    state's rate-limit marks).  A closed call is handed to ``closed`` as it is, instead of as a row.
    ``tests/broker/core/test_replay.py`` checks that a replay gives the same outcomes either way.
    """

    def __init__(self, config: Config, clock: FakeClock, words: Texts, closed: Callable[[Call], None]) -> None:
        super().__init__(config, clock, words)
        self._on_closed = closed
        self.today = cast(Today, _NoToday())  # it would also keep every call of the period
        self.eta = cast(EtaEstimator, _NoToday())  # the estimate a customer is shown decides nothing

    def _with_rows(self, out: list[Command]) -> list[Command]:
        for call in self._touched.values():
            if not call.is_open:
                self._on_closed(call)
        self._touched.clear()
        return out

    def _state(self, call: Call, closed: bool = False) -> PublishState:
        if call.is_open:
            call.state_sent_mono = self.clock.now()
            call.state_due = False
        return PublishState(call.id, _BLANK_STATE, closed=closed)

    def _page_msg(self, call: Call, kind: str, now: float) -> PageMsg:
        return PageMsg(call.id, call.device, call.zone, call.reason, call.tier, "", "", kind)

    def _wear_msg(self, call: Call, kind: str) -> WearMsg:
        return _BLANK_WEAR


Recorder = Callable[[Command, float], None]
"""Sees every command the core returns with its virtual time (to write a generated store's event log)."""


class _NoToday:
    """Today's figures and the customer's estimate are the hub's screens' business, not a replay's."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _nothing


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


class Replay:
    """Drive a fresh ``Dispatcher`` through recorded calls and a roster; return each call's outcome."""

    def __init__(
        self,
        config: Config,
        words: Texts,
        behaviour: Behaviour,
        seed: int = 1,
        recorder: Recorder | None = None,
        sink: Callable[[Outcome], None] | None = None,
    ) -> None:
        """``sink``: each closed call's outcome goes there instead of into ``Result.calls`` (a month's
        replay summed as it goes, memory flat)."""
        self.cfg = config
        self.sink = sink
        self.words = words
        self.behaviour = behaviour
        self.rng = random.Random(seed)
        self.recorder = recorder
        self.zone_of = {s.id: (s.zones[0] if s.zones else "") for s in config.staff}

    def run(self, calls: Iterable[RecordedCall], shifts: Iterable[Shift]) -> Result:
        """Replay ``calls`` (opening order) with presence ``shifts``; run until every call is closed."""
        self._seq = 0
        self._heap: list[tuple[float, int, str, Any]] = []
        self._result = Result()
        self._colleagues: dict[str, _Colleague] = {}
        self._open_zone: dict[str, str] = {}
        presses = iter(calls)  # read as the replay goes: the period's calls never wait in the heap
        pending = next(presses, None)
        for s in shifts:
            self._push(s.at, "presence", s)
        times = [at for at, *_ in self._heap] + ([pending.opened] if pending is not None else [])
        start = min(times, default=0.0) - 1.0
        self.clock = clock = FakeClock(start=start, wall_start=start)
        if self.recorder is None:
            self.core: Dispatcher = _ReplayCore(self.cfg, clock, self.words, self._record_call)
        else:  # a generated store's log needs every row and text, as the hub writes them
            self.core = Dispatcher(self.cfg, clock, self.words)
        heap, core, inf = self._heap, self.core, float("inf")
        while True:
            due = core.next_deadline()
            due = inf if due is None else due
            at = heap[0][0] if heap else inf
            press = pending.opened if pending is not None else inf
            if due == at == press == inf:
                break
            if due <= at and due <= press:
                self._advance(due)
                self._apply(core.tick())
            elif press < at:
                assert pending is not None
                self._advance(press)
                self._press(pending)
                pending = next(presses, None)
            else:
                at, _, kind, data = heapq.heappop(heap)
                self._advance(at)
                self._event(kind, data)
        return self._result

    # --- the loop --------------------------------------------------------------------

    def _push(self, at: float, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, data))

    def _advance(self, at: float) -> None:
        step = at - self.clock.now()
        if step > 0:
            self.clock.advance(step)

    def _handle(self, event: Event) -> list[Command]:
        out = self.core.handle(event)
        self._apply(out)
        return out

    def _press(self, call: RecordedCall) -> None:
        self._open_zone[call.id] = call.zone
        self._handle(Pressed(call.device, CallMsg(id=call.id, reason=call.reason)))
        if call.gave_up_s is not None:
            self._push(call.opened + call.gave_up_s, "cancel", call)

    def _event(self, kind: str, data: Any) -> None:
        if kind == "cancel":
            call = self.core.open.get(data.id)
            if call is not None and call.greeted_mono is None:
                self._handle(DeviceAction(data.device, "cancel", CallRef(id=data.id)))
        elif kind == "presence":
            self._handle(PresenceChanged(data.staff, data.status))
        else:
            staff, call_id = data
            self._colleague_step(kind, staff, call_id)

    def _colleague_step(self, action: str, staff: str, call_id: str) -> None:
        who = self._colleagues.setdefault(staff, _Colleague())
        if action == "decline":
            self._handle(StaffAction(staff, "decline", CallRef(id=call_id)))
            return
        if who.call != call_id:
            return  # freed meanwhile (the customer gave up, someone else took it)
        out = self._handle(StaffAction(staff, action, CallRef(id=call_id)))
        if any(isinstance(c, Reject) for c in out):
            self._free(staff)
            return
        zone = self._open_zone.get(call_id, self.zone_of.get(staff, ""))
        now = self.clock.now()
        if action == "ack":
            self._push(now + self.behaviour.walk_s(self.rng, staff, zone), "greet", (staff, call_id))
        elif action == "greet":
            self._push(now + self.behaviour.serve_s(self.rng, staff, zone), "resolve", (staff, call_id))

    # --- what the core said ------------------------------------------------------------

    def _apply(self, out: Sequence[Command]) -> None:
        now = self.clock.now()
        for cmd in out:
            if self.recorder is not None:
                self.recorder(cmd, now)
            if isinstance(cmd, Page):
                self._result.pages += 1
                self._paged(cmd.staff, cmd.msg.id, cmd.msg.zone, cmd.msg.kind)
            elif isinstance(cmd, PublishState) and cmd.closed:
                self._closed(cmd.call_id)
            elif isinstance(cmd, RecordCall) and cmd.row["status"] in ("resolved", "cancelled", "unattended"):
                self._record(cmd.row)
            elif isinstance(cmd, Reject):
                self._result.rejected += 1

    def _paged(self, staff: str, call_id: str, zone: str, kind: str) -> None:
        who = self._colleagues.setdefault(staff, _Colleague())
        if who.call is not None or kind in ("repeat", "unattended"):
            return  # busy: they answer once free (``_free``), if the call still pages them
        self._respond(staff, who, call_id, zone)

    def _respond(self, staff: str, who: _Colleague, call_id: str, zone: str) -> None:
        answer, delay = self.behaviour.respond(self.rng, staff, zone)
        now = self.clock.now()
        if answer == "decline":
            self._push(now + delay, "decline", (staff, call_id))
        elif answer == "ack":
            who.call, who.since = call_id, now
            self._push(now + delay, "ack", (staff, call_id))

    def _closed(self, call_id: str) -> None:
        # More than one may be on the way: at tier 3 a later acknowledgement takes the call over.
        for staff in [s for s, who in self._colleagues.items() if who.call == call_id]:
            self._free(staff)

    def _free(self, staff: str) -> None:
        who = self._colleagues[staff]
        if who.call is not None:
            busy = self._result.busy_s
            busy[staff] = busy.get(staff, 0.0) + self.clock.now() - who.since
        who.call = None
        # Once free, answer the oldest waiting call that still pages them.
        waiting = [
            c
            for c in self.core.open.values()
            if c.status == "waiting" and staff in c.targets and staff not in c.declined
        ]
        if waiting:
            call = min(waiting, key=lambda c: c.opened_mono)
            self._respond(staff, who, call.id, call.zone)

    def _out(self, o: Outcome) -> None:
        if self.sink is None:
            self._result.calls.append(o)
        else:
            self.sink(o)

    def _record_call(self, call: Call) -> None:
        self._open_zone.pop(call.id, None)
        if call.greeted_by:
            self._result.taken[call.greeted_by] += 1
        self._out(
            Outcome(
                id=call.id,
                zone=call.zone,
                opened=call.opened_wall,
                status=call.status,
                ack_s=call.seconds(call.acked_mono),
                greet_s=call.seconds(call.greeted_mono),
                escalated=call.max_tier >= 3,
                staff=call.greeted_by or call.staff,
                second=call.max_tier >= 2 or bool(call.declined),
            )
        )

    def _record(self, row: dict[str, Any]) -> None:
        self._open_zone.pop(row["id"], None)
        if row["greeted_by"]:
            self._result.taken[row["greeted_by"]] += 1
        self._out(
            Outcome(
                id=row["id"],
                zone=row["zone"],
                opened=row["opened_ts"],
                status=row["status"],
                ack_s=row["time_to_ack_s"],
                greet_s=row["time_to_greet_s"],
                escalated=bool(row["escalated"]),
                staff=row["greeted_by"] or row["staff"],
                second=(row["tier"] or 1) >= 2 or bool(row["declines"]),
            )
        )
