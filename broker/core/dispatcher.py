"""The hub's pure core: the call state machine, routing and escalation.

``Dispatcher.handle(event)`` and ``Dispatcher.tick()`` return commands and do no I/O;
time comes from the injected clock.  The shell (``broker.hub.shell``) executes commands.

Escalation ladder of a waiting call (timers from ``[timers]``)::

    tier 1  page one colleague of the zone
    tier 2  after ack_timeout_s (or at once on decline / going offline): the next colleague
    tier 3  at escalate_after_s, or when nobody is left: everyone on shift + the managers,
            repeated every ack_timeout_s
    acknowledged but not greeted: re-page the same colleague after greet_timeout_s,
            escalate to tier 3 after twice that
    never greeted by unattended_after_s: close as ``unattended`` and alert the managers

Example::

    >>> from broker.contract.clock import FakeClock
    >>> from broker.contract.config import parse_config
    >>> from broker.contract.protocol import CallMsg
    >>> cfg = parse_config('''
    ... [store]
    ... id = "s1"
    ... name = "Demo"
    ... [[staff]]
    ... id = "anna"
    ... name = "Anna"
    ... zones = ["toys"]
    ... [[devices]]
    ... id = "k1"
    ... kind = "kiosk"
    ... zone = "toys"
    ... ''')
    >>> from broker.hub.words import page_words  # the shell loads the catalog; the core does no I/O
    >>> d = Dispatcher(cfg, FakeClock(), page_words(cfg))
    >>> _ = d.handle(PresenceChanged("anna", "on_shift"))
    >>> [c.staff for c in d.handle(Pressed("k1", CallMsg(id="c1"))) if isinstance(c, Page)]
    ['anna']
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter, OrderedDict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from broker.contract.clock import Clock, iso, parse_iso
from broker.contract.config import Config
from broker.contract.protocol import OPEN_STATUSES, CallRef, FeedbackMsg, PageMsg, StateMsg, WearMsg
from broker.core.calls import Bridge, Call
from broker.core.commands import (
    Command,
    DeviceAction,
    DeviceStatus,
    Event,
    Page,
    PresenceChanged,
    Pressed,
    PublishState,
    RecordCall,
    RecordEvent,
    RecordPress,
    Reject,
    StaffAction,
    SummaryChanged,
)
from broker.core.eta import EtaEstimator
from broker.core.pagetext import Texts, page_text, wear_text
from broker.core.routing import CallRouter
from broker.core.today import Today

CLOSED_MEMORY = 5000
"""Closed calls kept in memory for late feedback and idempotent resends."""
PRESS_MEMORY = 100_000
"""Press ids (and call ids) remembered in memory; older ones the shell finds in the event log."""
REPEAT_PAGE_EVERY_S = 15.0
"""A customer pressing again reminds whoever is paged at most this often: a flood is one reminder."""
REPEAT_STATE_EVERY_S = 1.0
"""And the call's state is republished for repeat presses at most this often."""
ACTING = frozenset({"on_shift", "break"})
"""Presence in which a colleague may take any call; others only calls they were paged for."""

VIBRATE = {1: [200, 100, 200], 2: [300, 100, 300, 100, 300], 3: [600, 150, 600, 150, 600]}


class Dispatcher:
    def __init__(self, config: Config, clock: Clock, words: Texts) -> None:
        """``words``: the page catalog in the store's language, loaded by the shell (``broker.hub.words``)."""
        self.cfg = config
        self.clock = clock
        self.words = words
        self.store = config.store.id
        self.t = config.timers
        self.router = CallRouter(config.staff)
        self.eta = EtaEstimator(config.timers.default_eta_s, config.store.eta_kept_share)
        self.tz = ZoneInfo(config.store.timezone)
        self.open: dict[str, Call] = {}
        self.closed: OrderedDict[str, Call] = OrderedDict()
        self.by_device: dict[str, str] = {}
        self.device_status: dict[str, str] = {}
        self.today = Today(ZoneInfo(config.store.timezone), config.store.target_greet_s, self.open)
        """Today's figures (``summary``, ``shift``), fed as calls open, are greeted and close."""
        self._deadlines: list[tuple[float, str]] = []
        self._touched: dict[str, Call] = {}
        """Calls changed by the event being handled: each gets one ``RecordCall`` at the end (``_with_rows``)."""
        self.presses: OrderedDict[str, str] = OrderedDict()
        """press id -> call id, for every call and repeat press lately seen (bounded by PRESS_MEMORY)."""
        self._load: Counter[str] = Counter()
        """Open calls per colleague, kept as calls change so routing never scans the open calls."""
        self._waiting: dict[str, list[tuple[float, str]]] = {}
        """Waiting calls per zone in opening order: the queue ahead of a call is one bisect."""

    # --- public API ------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Apply one inbound event; return what the shell must do."""
        out: list[Command] = []
        match event:
            case Pressed():
                self._handle_call(event, out)
            case DeviceAction():
                self._handle_device_action(event, out)
            case StaffAction():
                self._handle_staff_action(event, out)
            case PresenceChanged():
                self._handle_presence(event, out)
            case DeviceStatus():
                self._handle_device_status(event, out)
        return self._with_rows(out)

    def tick(self) -> list[Command]:
        """Fire every timer that is due."""
        out: list[Command] = []
        now = self.clock.now()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, call_id = heapq.heappop(self._deadlines)
            call = self.open.get(call_id)
            if call is None:
                continue
            if call.state_due and self._state_due(call) <= now:
                out.append(self._state(call))
            if self._timer_due(call) <= now:
                self._fire(call, now, out)
        return self._with_rows(out)

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (monotonic seconds), or None."""
        while self._deadlines:
            at, call_id = self._deadlines[0]
            call = self.open.get(call_id)
            if call is not None and abs(self._due(call) - at) < 1e-9:
                return at
            heapq.heappop(self._deadlines)
            if call is not None:
                self._schedule(call)
        return None

    def restore(
        self,
        rows: Sequence[dict[str, Any]],
        closed_rows: Sequence[dict[str, Any]] = (),
        presence: dict[str, str] | None = None,
        bridge: Bridge | None = None,
    ) -> list[Command]:
        """Rebuild open calls, recent closed calls and presence after a restart; re-arm timers.

        Presence comes back too, because calls queued by the broker while the hub was
        down arrive before the retained presence messages do.  ``bridge`` says how the
        previous process's clock relates to this one (see ``Call.from_row``).
        """
        now, wall = self.clock.now(), self.clock.wall()
        for staff, status in (presence or {}).items():
            if staff in self.router.staff:
                self.router.set_presence(staff, status)
        self.today.roll(wall)
        for row in closed_rows:
            call = Call.from_row(row, now, wall, bridge)
            self._remember_closed(call)
            self._learn(call)
            self.today.restored(call)
        out: list[Command] = []
        for row in rows:
            call = Call.from_row(row, now, wall, bridge)
            call.label = self._label(call.device)
            self._open(call)
            self.today.restored(call)
            self._schedule(call)
            out.append(self._state(call))
        out.append(RecordEvent("restored", None, {"open": len(rows), "closed": len(closed_rows)}))
        self._touched.clear()  # the revised estimates are written with the calls' next change
        return out

    def adopt(self, states: list[StateMsg]) -> list[Command]:
        """Take back open calls the hub published but never wrote down (a storage fault, then a restart).

        The broker keeps each open call's state retained; whatever the event log lacks is
        rebuilt from it, so a press the broker redelivers is known and nobody is paged twice.
        A retained state of a call the log has closed is cleared."""
        now, wall = self.clock.now(), self.clock.wall()
        out: list[Command] = []
        adopted = 0
        for st in states:
            if st.id in self.open:
                continue
            closed = self.closed.get(st.id)
            if closed is not None or st.status not in OPEN_STATUSES:
                if closed is not None:
                    out.append(self._state(closed, closed=True))
                continue
            if st.device not in self.cfg.devices_by_id or st.device in self.by_device:
                continue
            waited = max(0.0, float(st.waited_s)) + max(0.0, wall - _parse_iso(st.updated_at, wall))
            call = Call(
                id=st.id,
                device=st.device,
                zone=st.zone,
                reason=st.reason,
                opened_mono=now - waited,
                opened_wall=_parse_iso(st.opened_at, wall - waited),
                label=self._label(st.device),
                status=st.status,
                tier=st.tier,
                max_tier=st.tier,
                staff=st.staff,
                targets=[st.staff] if st.staff else [],
                paged=[st.staff] if st.staff else [],
                paged_mono=now,
                acked_mono=now if st.status != "waiting" else None,
                greeted_mono=now if st.status == "greeted" else None,
                repeat_presses=st.repeat_presses,
                nobody_on_shift=st.nobody_on_shift,
            )
            self.today.opened(call, wall)  # before it is open: a new day starts from the open calls
            self._open(call)
            self._schedule(call)
            adopted += 1
            self._touch(call)
            out.append(RecordEvent("recovered", call.id, {"device": call.device, "status": call.status}))
        if adopted:
            out.append(SummaryChanged())
        return self._with_rows(out)

    def knows_press(self, press_id: str) -> bool:
        """Whether this id is a call or press the core still remembers (else the shell asks the log)."""
        return press_id in self.presses or press_id in self.open or press_id in self.closed

    def load(self) -> dict[str, int]:
        """Open calls per colleague: the routing rule's first criterion."""
        return {staff: n for staff, n in self._load.items() if n > 0}

    # --- the calls' rows ------------------------------------------------------------------

    def _touch(self, call: Call) -> None:
        """Note that ``call`` changed: its row is written once, after everything else the event did."""
        self._touched[call.id] = call

    def _with_rows(self, out: list[Command]) -> list[Command]:
        """The one place a call's row is written: one ``RecordCall`` per changed call, in the order first changed.

        A call changed twice by one event (greeted, then closed) is one row with its final state,
        and the rows come after the pages and states, as the shell publishes before it records.
        """
        for call in self._touched.values():
            out.append(RecordCall(call.to_row(self.store)))
        self._touched.clear()
        return out

    # --- the open calls and their indexes ---------------------------------------------

    def _open(self, call: Call) -> None:
        self.open[call.id] = call
        self.by_device[call.device] = call.id
        self._remember_press(call.id, call.id)
        for press in call.presses:
            self._remember_press(press, call.id)
        if call.staff:
            self._load[call.staff] += 1
        if call.status == "waiting":
            bisect.insort(self._waiting.setdefault(call.zone, []), (call.opened_mono, call.id))

    def _set_staff(self, call: Call, staff: str | None) -> None:
        if call.staff == staff:
            return
        if call.id in self.open:
            if call.staff:
                self._load[call.staff] -= 1
            if staff:
                self._load[staff] += 1
        call.staff = staff

    def _set_status(self, call: Call, status: str) -> None:
        if call.status == status:
            return
        if call.id in self.open:
            queue = self._waiting.setdefault(call.zone, [])
            key = (call.opened_mono, call.id)
            if call.status == "waiting":
                i = bisect.bisect_left(queue, key)
                if i < len(queue) and queue[i] == key:
                    del queue[i]
            elif status == "waiting":
                bisect.insort(queue, key)
        call.status = status

    def _remember_press(self, press_id: str, call_id: str) -> None:
        self.presses[press_id] = call_id
        if len(self.presses) > PRESS_MEMORY:
            self.presses.popitem(last=False)

    def _may_act(self, call: Call, staff: str) -> bool:
        """Off shift and never paged for this call: a colleague may not take, greet or resolve it."""
        return (
            self.router.status(staff) in ACTING
            or staff in call.paged
            or staff == call.staff
            or staff in self.router.managers()
        )

    # --- call/{device} -----------------------------------------------------------

    def _handle_call(self, ev: Pressed, out: list[Command]) -> None:
        device = self.cfg.devices_by_id.get(ev.device)
        if device is None:
            out.append(Reject(f"unknown device {ev.device!r}; add it to [[devices]] in the config"))
            return
        msg = ev.msg
        existing = self.open.get(msg.id) or self.closed.get(msg.id)
        if existing is None and msg.id in self.presses:
            # A repeat press seen before (a broker replay): never a new call, never a second page.
            owner = self.presses[msg.id]
            existing = self.open.get(owner) or self.closed.get(owner)
            if existing is None:
                out.append(RecordEvent("replayed_press", owner, {"device": ev.device, "press_id": msg.id}))
                return
        if existing is None and ev.known_call is not None:
            out.append(RecordEvent("replayed_press", ev.known_call, {"device": ev.device, "press_id": msg.id}))
            return
        if existing is not None:
            if existing.device != ev.device:
                out.append(Reject(f"call id {msg.id!r} already belongs to device {existing.device!r}"))
            else:
                # A resend (QoS 1 duplicate, outbox replay): answer with the state, closed or not,
                # so a device that was offline learns what became of its call.
                out.append(RecordEvent("duplicate", existing.id, {"device": ev.device, "press_id": msg.id}))
                out.append(self._state(existing, closed=not existing.is_open))
            return
        now = self.clock.now()
        current = self.open.get(self.by_device.get(ev.device, ""))
        if current is not None and current.status == "greeted":
            # Served, but nobody pressed Resolved; a new press is a new need, not an echo of the old one.
            current.outcome = current.outcome or "auto-closed: pressed again"
            self._close(current, "resolved", now, out)
            current = None
        if current is not None:
            if msg.id in current.presses:
                out.append(RecordEvent("duplicate", current.id, {"device": ev.device, "press_id": msg.id}))
                out.append(self._state(current))
            else:
                self._repeat_press(current, msg.id, now, out)
            return
        call = Call(
            id=msg.id,
            device=ev.device,
            zone=device.zone,
            reason=msg.reason,
            opened_mono=now,
            opened_wall=self.clock.wall(),
            lang=msg.lang,
            text=msg.text,
            label=device.label or None,
            pressed_at=msg.at,
        )
        self.today.opened(call, self.clock.wall())  # before it is open: a new day starts from the open calls
        self._open(call)
        self._route(call, now, out, kind="call")
        out.append(SummaryChanged())

    def _repeat_press(self, call: Call, press_id: str, now: float, out: list[Command]) -> None:
        """A second press while waiting: count it, raise urgency, remind whoever is paged.

        Constant work per press (one press row, one call row), and at most one reminder per
        REPEAT_PAGE_EVERY_S: a customer (or a stuck button) pressing 20,000 times is one call
        with a high count, and other customers' calls keep flowing."""
        call.repeat_presses += 1
        call.presses.add(press_id)
        self._remember_press(press_id, call.id)
        out.append(RecordPress(press_id, call.id, call.device))
        out.append(RecordEvent("repeat_press", call.id, {"press_id": press_id, "count": call.repeat_presses}))
        # Remind whoever is on it, more urgently; the escalation clock keeps running as it was.
        targets = call.targets if call.status in ("waiting", "acknowledged") else []
        if targets and (call.repeat_paged_mono is None or now - call.repeat_paged_mono >= REPEAT_PAGE_EVERY_S):
            call.repeat_paged_mono = now
            self._send_pages(call, targets, now, out, kind="repeat", reset_timer=False)
        self._touch(call)
        if call.state_sent_mono is None or now - call.state_sent_mono >= REPEAT_STATE_EVERY_S:
            out.append(self._state(call))
        else:
            call.state_due = True  # sent by tick() when the second is up: the count is never left stale
            self._schedule(call)

    # --- call/{device}/{cancel,greet,feedback} -----------------------------------

    def _handle_device_action(self, ev: DeviceAction, out: list[Command]) -> None:
        call = self.open.get(ev.msg.id) or self.closed.get(ev.msg.id)
        if call is None or call.device != ev.device:
            out.append(Reject(f"unknown call {ev.msg.id!r} for device {ev.device!r}"))
            return
        now = self.clock.now()
        if ev.action == "feedback" and isinstance(ev.msg, FeedbackMsg):
            if call.feedback_score is not None:
                out.append(Reject(f"call {call.id!r} already has feedback"))
                return
            call.feedback_score = ev.msg.score
            self.today.feedback(self.clock.wall(), call)
            self._touch(call)
            out.append(SummaryChanged())
            if call.staff:
                out.append(SummaryChanged(call.staff))
            return
        if not call.is_open:
            out.append(RecordEvent("late_" + ev.action, call.id, {"status": call.status}))
            return
        if ev.action == "cancel":
            if call.status == "greeted":
                out.append(Reject(f"call {call.id!r} was already greeted; staff resolve it"))
                return
            self._close(call, "cancelled", now, out)
        elif ev.action == "greet":
            staff = ev.msg.staff if isinstance(ev.msg, CallRef) else None
            if staff is not None and staff not in self.router.staff:
                out.append(Reject(f"unknown staff {staff!r} in greet; add it to [[staff]] in the config"))
                return
            self._greet(call, staff or call.staff, now, out, at_device=True)

    # --- staff/{staff}/{ack,greet,resolve,decline} --------------------------------

    def _handle_staff_action(self, ev: StaffAction, out: list[Command]) -> None:
        staff = ev.staff
        if staff not in self.router.staff:
            out.append(Reject(f"unknown staff {staff!r}; add it to [[staff]] in the config"))
            return
        call = self.open.get(ev.msg.id)
        if call is None:
            closed = self.closed.get(ev.msg.id)
            if closed is not None:
                out.append(RecordEvent("late_" + ev.action, closed.id, {"staff": staff, "status": closed.status}))
            else:
                out.append(Reject(f"unknown call {ev.msg.id!r}"))
            return
        now = self.clock.now()
        if ev.action in ("ack", "greet", "resolve") and not self._may_act(call, staff):
            out.append(Reject(f"refused {ev.action} of call {call.id!r} by {staff!r}: off shift and not paged for it"))
            out.append(RecordEvent("refused", call.id, {"staff": staff, "action": ev.action}))
            return
        if ev.action == "ack":
            self._ack(call, staff, now, out)
        elif ev.action == "greet":
            if call.status == "greeted":
                out.append(RecordEvent("duplicate", call.id, {"staff": staff, "action": "greet"}))
                return
            self._greet(call, staff, now, out, at_device=False)
        elif ev.action == "resolve":
            if call.greeted_mono is None:
                # Resolving means they served the customer; count the greeting no earlier than now.
                self._greet(call, staff, now, out, at_device=False, publish=False)
            call.outcome = ev.msg.outcome
            self._close(call, "resolved", now, out, by=staff)
        elif ev.action == "decline":
            self._decline(call, staff, now, out, reason=ev.msg.reason)

    def _ack(self, call: Call, staff: str, now: float, out: list[Command]) -> None:
        if call.status == "greeted":
            out.append(Reject(f"call {call.id!r} is already greeted"))
            return
        if call.status == "acknowledged":
            if call.staff == staff:
                out.append(RecordEvent("duplicate", call.id, {"staff": staff, "action": "ack"}))
                return
            if call.tier < 3:
                out.append(Reject(f"call {call.id!r} is already acknowledged by {call.staff!r}"))
                return
        self._set_status(call, "acknowledged")
        self._set_staff(call, staff)
        call.targets = [staff]
        if call.acked_mono is None:
            call.acked_mono = now
        call.repages = 0
        call.paged_mono = now
        self._schedule(call)
        self._touch(call)
        out.append(self._state(call))

    def _greet(
        self, call: Call, staff: str | None, now: float, out: list[Command], at_device: bool, publish: bool = True
    ) -> None:
        if call.greeted_mono is not None:
            return
        self._set_status(call, "greeted")
        call.greeted_mono = now
        call.greeted_at_device = at_device
        call.greeted_by = staff
        if staff:
            self._set_staff(call, staff)
        if call.acked_mono is None:
            call.acked_mono = now
        walk = None if call.acked_mono is None else now - call.acked_mono
        self.eta.greeted(call.zone, self._hour(call.opened_wall), now - call.opened_mono, walk, call.staff)
        self.today.greeted(self.clock.wall())
        self._schedule(call)
        self._touch(call)
        if publish:
            out.append(self._state(call))
            out.append(SummaryChanged())
            if staff:
                out.append(SummaryChanged(staff))

    def _decline(self, call: Call, staff: str, now: float, out: list[Command], reason: str | None) -> None:
        if staff not in call.targets:
            out.append(Reject(f"{staff!r} was not paged for call {call.id!r}"))
            return
        if staff not in call.declined:
            call.declined.append(staff)
        out.append(RecordEvent("declined", call.id, {"staff": staff, "reason": reason}))
        call.targets = [s for s in call.targets if s != staff]
        if call.status == "acknowledged":
            self._set_status(call, "waiting")
            self._set_staff(call, None)
        if call.status == "waiting" and not call.targets:
            self._route(call, now, out, kind="next", tier=max(call.tier, 2))
        self._touch(call)

    # --- presence and device status ----------------------------------------------

    def _handle_presence(self, ev: PresenceChanged, out: list[Command]) -> None:
        if ev.staff not in self.router.staff:
            out.append(Reject(f"unknown staff {ev.staff!r}; add it to [[staff]] in the config"))
            return
        before = self.router.status(ev.staff)
        self.router.set_presence(ev.staff, ev.status)
        out.append(RecordEvent("presence", None, {"staff": ev.staff, "status": ev.status, "was": before}))
        now = self.clock.now()
        for call in list(self.open.values()):
            if call.status != "waiting":
                continue
            if ev.status != "on_shift" and call.tier < 3 and call.targets == [ev.staff]:
                # Their pager dropped or they left: do not wait out the ack timeout.
                self._route(call, now, out, kind="next", tier=max(call.tier, 2), exclude_also={ev.staff})
            elif ev.status == "on_shift" and call.nobody_on_shift:
                self._route(call, now, out, kind="call", tier=call.tier)

    def _handle_device_status(self, ev: DeviceStatus, out: list[Command]) -> None:
        if ev.device not in self.cfg.devices_by_id:
            out.append(Reject(f"unknown device {ev.device!r}; add it to [[devices]] in the config"))
            return
        self.device_status[ev.device] = ev.status
        out.append(RecordEvent("device_status", None, {"device": ev.device, "status": ev.status}))

    # --- routing and timers --------------------------------------------------------

    def _route(
        self,
        call: Call,
        now: float,
        out: list[Command],
        kind: str,
        tier: int = 1,
        exclude_also: AbstractSet[str] = frozenset(),
    ) -> None:
        """Page the next person for a waiting call, escalating when nobody is left."""
        exclude = set(call.paged) | set(call.declined) | exclude_also
        call.nobody_on_shift = not self.router.on_shift()
        target = None if tier >= 3 else self.router.choose(call.zone, exclude, self.load())
        if call.nobody_on_shift:
            self._send_pages(call, self.router.managers(), now, out, kind="nobody_on_shift", tier=3)
        elif target is None:
            self._send_pages(call, self.router.everyone(set(call.declined)), now, out, kind="escalation", tier=3)
        else:
            self._send_pages(call, [target], now, out, kind=kind, tier=tier)
        out.append(self._state(call))

    def _send_pages(
        self,
        call: Call,
        targets: list[str],
        now: float,
        out: list[Command],
        kind: str,
        tier: int | None = None,
        reset_timer: bool = True,
    ) -> None:
        if tier is not None:
            call.tier = tier
            call.max_tier = max(call.max_tier, tier)
        if call.status == "waiting":
            self._set_staff(call, targets[0] if call.tier < 3 and len(targets) == 1 else None)
        if call.status in ("waiting", "acknowledged"):
            call.targets = list(targets)
        if reset_timer:
            call.paged_mono = now
        page = self._page_msg(call, kind, now)
        wear = self._wear_msg(call, kind)
        for staff in targets:
            if staff not in call.paged:
                call.paged.append(staff)
            self.router.paged(staff, now)
            out.append(Page(staff, page, wear))
        self._schedule(call)
        self._touch(call)

    def _page_msg(self, call: Call, kind: str, now: float) -> PageMsg:
        text = page_text(
            self.words,
            place=call.label or call.device,
            zone=self.cfg.zone_name(call.zone, self.cfg.store.language),
            reason=call.reason,
            kind=kind,
            waited_s=max(0, int(now - call.opened_mono)),
        )
        return PageMsg(
            id=call.id,
            device=call.device,
            zone=call.zone,
            reason=call.reason,
            tier=call.tier,
            opened_at=iso(call.opened_wall),
            text=text,
            kind=kind,
            label=call.label,
            urgency=1 + call.repeat_presses,
            customer_text=call.text,
        )

    def _wear_msg(self, call: Call, kind: str) -> WearMsg:
        place = call.label or call.device
        text = wear_text(self.words, place=place, reason=call.reason, kind=kind, tier=call.tier, device=call.device)
        return WearMsg(id=call.id, text=text, vibrate=VIBRATE[min(call.tier, 3)])

    def _due(self, call: Call) -> float:
        return min(self._timer_due(call), self._state_due(call))

    def _state_due(self, call: Call) -> float:
        """A state held back by the repeat-press rate limit goes out a second after the last one."""
        if not call.state_due or call.state_sent_mono is None:
            return float("inf")
        return call.state_sent_mono + REPEAT_STATE_EVERY_S

    def _timer_due(self, call: Call) -> float:
        t = self.t
        unattended = call.opened_mono + t.unattended_after_s
        if call.status == "waiting":
            due = min(call.paged_mono + t.ack_timeout_s, unattended)
            if call.tier < 3:
                due = min(due, call.opened_mono + t.escalate_after_s)
            return due
        if call.status == "acknowledged":
            base = call.paged_mono if call.repages or call.acked_mono is None else call.acked_mono
            return min(base + t.greet_timeout_s, unattended)
        if call.status == "greeted":
            greeted = call.paged_mono if call.greeted_mono is None else call.greeted_mono
            return greeted + t.greeted_close_after_s
        return float("inf")

    def _schedule(self, call: Call) -> None:
        due = self._due(call)
        if due != float("inf"):
            heapq.heappush(self._deadlines, (due, call.id))

    def _fire(self, call: Call, now: float, out: list[Command]) -> None:
        t = self.t
        if call.status == "greeted":
            call.outcome = call.outcome or "auto-closed"
            self._close(call, "resolved", now, out)
            return
        if now >= call.opened_mono + t.unattended_after_s:
            self._send_pages(call, self.router.managers(), now, out, kind="unattended")
            self._close(call, "unattended", now, out)
            return
        if call.status == "waiting":
            if call.tier < 3 and now >= call.opened_mono + t.escalate_after_s:
                self._route(call, now, out, kind="escalation", tier=3)
            elif call.tier < 3:
                self._route(call, now, out, kind="next", tier=2)
            else:
                targets = self.router.everyone(set(call.declined))
                self._send_pages(call, targets, now, out, kind="repage")
                out.append(self._state(call))
        elif call.status == "acknowledged":
            if call.repages == 0 and call.tier < 3 and call.staff:
                call.repages = 1
                self._send_pages(call, [call.staff], now, out, kind="repage")
            else:
                call.repages += 1
                targets = self.router.everyone(set(call.declined))
                self._send_pages(call, targets, now, out, kind="escalation", tier=3)
            out.append(self._state(call))

    # --- closing -------------------------------------------------------------------

    def _close(self, call: Call, status: str, now: float, out: list[Command], by: str | None = None) -> None:
        self._set_staff(call, by if by and call.staff is None else call.staff)
        self._set_status(call, status)
        if call.staff and call.id in self.open:
            self._load[call.staff] -= 1
        call.closed_mono = now
        self.open.pop(call.id, None)
        if self.by_device.get(call.device) == call.id:
            del self.by_device[call.device]
        self._remember_closed(call)
        self.today.closed(self.clock.wall())
        self._touch(call)
        out.append(self._state(call, closed=True))
        out.append(SummaryChanged())
        if call.staff:
            out.append(SummaryChanged(call.staff))

    def _remember_closed(self, call: Call) -> None:
        self.closed[call.id] = call
        while len(self.closed) > CLOSED_MEMORY:
            self.closed.popitem(last=False)

    # --- the estimate the customer is shown -------------------------------------------------

    def _hour(self, wall: float) -> int:
        return datetime.fromtimestamp(wall, self.tz).hour

    def _learn(self, call: Call) -> None:
        """Learn from a call greeted before a restart: the estimate starts from the store's recent calls."""
        if call.greeted_mono is None:
            return
        walk = None if call.acked_mono is None else call.greeted_mono - call.acked_mono
        greet = call.greeted_mono - call.opened_mono
        self.eta.greeted(call.zone, self._hour(call.opened_wall), greet, walk, call.staff)

    def _eta(self, call: Call, now: float) -> int | None:
        """The estimate shown with this state, recomputed every time (an escalated call is told anew).

        Noted on the call as promised greeting times counted from its opening: ``eta_first_s``,
        ``eta_ack_s`` and ``eta_last_s``."""
        if call.status not in ("waiting", "acknowledged") or call.nobody_on_shift:
            return None
        ahead = bisect.bisect_left(self._waiting.get(call.zone, []), (call.opened_mono, ""))
        acknowledged = call.status == "acknowledged"
        eta = self.eta.estimate(
            call.zone,
            hour=self._hour(call.opened_wall),
            waited_s=now - call.opened_mono,
            acknowledged=acknowledged,
            staff=call.staff,
            since_ack_s=0.0 if call.acked_mono is None else now - call.acked_mono,
            queue_ahead=ahead,
            on_shift=len(self.router.on_shift_in(call.zone)) or len(self.router.on_shift()),
        )
        promise = round(now - call.opened_mono + eta, 3)
        if call.eta_first_s is None:
            call.eta_first_s = promise
        if acknowledged and call.eta_ack_s is None:
            call.eta_ack_s = promise
        if call.eta_last_s != promise:
            call.eta_last_s = promise
            self._touch(call)
        return eta

    # --- what the world sees ---------------------------------------------------------

    def _label(self, device: str) -> str | None:
        d = self.cfg.devices_by_id.get(device)
        return (d.label or None) if d else None

    def _state(self, call: Call, closed: bool = False) -> PublishState:
        now = self.clock.now()
        staff_cfg = self.router.staff.get(call.staff) if call.staff else None
        if call.is_open:
            call.state_sent_mono = now
            call.state_due = False
        eta = self._eta(call, now)
        msg = StateMsg(
            id=call.id,
            device=call.device,
            zone=call.zone,
            reason=call.reason,
            status=call.status,
            tier=call.tier,
            staff=call.staff,
            staff_name=staff_cfg.name if staff_cfg else None,
            staff_role=(staff_cfg.role or None) if staff_cfg else None,
            eta_s=eta,
            opened_at=iso(call.opened_wall),
            updated_at=iso(self.clock.wall()),
            waited_s=int(now - call.opened_mono),
            repeat_presses=call.repeat_presses,
            nobody_on_shift=call.nobody_on_shift,
            label=call.label,
        )
        return PublishState(call.id, msg, closed=closed)

    # --- today's figures (the retained summary) ----------------------------------------

    def summary(self) -> dict[str, Any]:
        """The store's figures today (the retained ``summary``)."""
        return self.today.summary(self.clock.wall())

    def shift(self, staff: str) -> dict[str, Any]:
        """One colleague's day, for "My shift" on their pager."""
        return self.today.shift(staff, self.clock.wall())


def _parse_iso(text: str | None, default: float) -> float:
    """A protocol timestamp as Unix time, or ``default`` when it cannot be read."""
    if not text:
        return default
    try:
        return parse_iso(text)
    except ValueError:
        return default
