"""The pure core with a fake clock: routing, escalation, greeting, closing, bad input."""

from __future__ import annotations

import bisect
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.contract.clock import FakeClock
from broker.contract.protocol import CallMsg, CallRef, FeedbackMsg
from broker.core.commands import (
    DeviceAction,
    DeviceStatus,
    Page,
    PresenceChanged,
    Pressed,
    PublishState,
    RecordCall,
    RecordEvent,
    Reject,
    StaffAction,
    SummaryChanged,
)
from broker.core.dispatcher import Dispatcher
from broker.hub.words import new_core
from tests.conftest import store_config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(clock: FakeClock) -> Dispatcher:
    d = new_core(store_config(), clock)
    for s in ("anna", "ben", "chloe"):
        d.handle(PresenceChanged(s, "on_shift"))
    return d


def pages(cmds) -> list[tuple[str, str, int]]:
    return [(c.staff, c.msg.kind, c.msg.tier) for c in cmds if isinstance(c, Page)]


def states(cmds) -> list[str]:
    return [c.msg.status for c in cmds if isinstance(c, PublishState)]


def rejects(cmds) -> list[str]:
    return [c.reason for c in cmds if isinstance(c, Reject)]


def press(core, device="kiosk-1", call_id="c1", **kw):
    return core.handle(Pressed(device, CallMsg(id=call_id, **kw)))


def staff(core, who, action, call_id="c1", **kw):
    return core.handle(StaffAction(who, action, CallRef(id=call_id, **kw)))


def advance(core, clock, seconds):
    clock.advance(seconds)
    return core.tick()


# --- routing -------------------------------------------------------------------------


def test_pages_one_colleague_of_the_zone(core):
    cmds = press(core)
    assert pages(cmds) == [("anna", "call", 1)]
    assert states(cmds) == ["waiting"]


def test_prefers_fewest_open_calls_then_longest_since_last_page(core, clock):
    assert pages(press(core, "kiosk-1", "c1")) == [("anna", "call", 1)]
    # kiosk-2 is in toys: ben and chloe; both idle, never paged -> chloe? tie broken by id: ben
    assert pages(press(core, "kiosk-2", "c2")) == [("ben", "call", 1)]
    clock.advance(1)
    assert pages(press(core, "button-1", "c3")) == [("chloe", "call", 1)]


def test_falls_back_to_anyone_on_shift_then_managers(clock):
    core = new_core(store_config(), clock)
    core.handle(PresenceChanged("chloe", "on_shift"))
    assert pages(press(core, "kiosk-1")) == [("chloe", "call", 1)]  # nobody of electronics on shift
    core2 = new_core(store_config(), clock)
    cmds = press(core2, "kiosk-1")
    assert pages(cmds) == [("maria", "nobody_on_shift", 3)]
    state = [c.msg for c in cmds if isinstance(c, PublishState)][-1]
    assert state.nobody_on_shift and state.eta_s is None


def test_colleague_coming_on_shift_takes_a_call_nobody_could(clock):
    core = new_core(store_config(), clock)
    press(core, "kiosk-1")
    cmds = core.handle(PresenceChanged("anna", "on_shift"))
    assert pages(cmds) == [("anna", "call", 3)] or pages(cmds)[0][0] == "anna"


# --- escalation ------------------------------------------------------------------------


def test_ack_timeout_pages_next_then_escalates_to_everyone(core, clock):
    press(core)
    assert advance(core, clock, 29.9) == []
    assert pages(advance(core, clock, 0.1)) == [("ben", "next", 2)]
    cmds = advance(core, clock, 30)
    # electronics has no one left who was not paged: anyone on shift (chloe)
    assert pages(cmds) == [("chloe", "next", 2)]
    cmds = advance(core, clock, 30)  # t = 90: escalate_after_s
    assert sorted(pages(cmds)) == [
        ("anna", "escalation", 3),
        ("ben", "escalation", 3),
        ("chloe", "escalation", 3),
        ("maria", "escalation", 3),
    ]
    assert states(cmds) == ["waiting"]
    # tier 3 repeats every ack_timeout_s
    assert {k for _, k, _ in pages(advance(core, clock, 30))} == {"repage"}


def test_escalate_after_wins_over_a_long_ack_timeout(clock):
    core = new_core(store_config(ack=60, esc=90), clock)
    core.handle(PresenceChanged("anna", "on_shift"))
    core.handle(PresenceChanged("ben", "on_shift"))
    press(core)
    assert pages(advance(core, clock, 60)) == [("ben", "next", 2)]
    assert {t for _, _, t in pages(advance(core, clock, 30))} == {3}


def test_decline_reroutes_at_once(core):
    press(core)
    cmds = staff(core, "anna", "decline", reason="busy at checkout")
    assert pages(cmds) == [("ben", "next", 2)]
    assert rejects(staff(core, "chloe", "decline")) == ["'chloe' was not paged for call 'c1'"]


def test_everyone_declines_escalates_to_managers(clock):
    core = new_core(store_config(), clock)
    core.handle(PresenceChanged("anna", "on_shift"))
    press(core)
    cmds = staff(core, "anna", "decline")
    assert pages(cmds) == [("maria", "escalation", 3)]


def test_pager_going_offline_reroutes_without_waiting(core):
    press(core)
    cmds = core.handle(PresenceChanged("anna", "offline"))
    assert pages(cmds) == [("ben", "next", 2)]


def test_acknowledged_not_greeted_repages_then_escalates(core, clock):
    press(core)
    advance(core, clock, 10)
    cmds = staff(core, "anna", "ack")
    st = [c.msg for c in cmds if isinstance(c, PublishState)][0]
    assert (st.status, st.staff_name, st.staff_role) == ("acknowledged", "Anna", "Summer substitute")
    assert st.eta_s and st.eta_s > 0
    assert advance(core, clock, 119) == []
    assert pages(advance(core, clock, 1)) == [("anna", "repage", 1)]
    cmds = advance(core, clock, 120)
    assert ("maria", "escalation", 3) in pages(cmds)


def test_never_greeted_closes_unattended_and_alerts_managers(core, clock):
    press(core)
    cmds = []
    for _ in range(40):
        cmds += advance(core, clock, 15)
    assert "unattended" in states(cmds)
    assert ("maria", "unattended", 3) in pages(cmds)
    assert core.open == {}
    closed = [c for c in cmds if isinstance(c, PublishState) and c.closed]
    assert len(closed) == 1 and closed[0].msg.status == "unattended"
    assert core.next_deadline() is None


# --- the happy path and its records ----------------------------------------------------------


def test_full_lifecycle_measures_on_the_hub_clock(core, clock):
    press(core, at="1999-01-01T00:00:00Z")  # a device clock far off changes nothing
    clock.advance(12)
    staff(core, "anna", "ack")
    clock.advance(30)
    cmds = core.handle(DeviceAction("kiosk-1", "greet", CallRef(id="c1")))
    assert states(cmds) == ["greeted"]
    clock.advance(100)
    cmds = staff(core, "anna", "resolve", outcome="sale")
    row = [c.row for c in cmds if isinstance(c, RecordCall)][-1]
    assert row["status"] == "resolved" and row["time_to_ack_s"] == 12 and row["time_to_greet_s"] == 42
    assert row["greeted_at_device"] is True and row["greeted_by"] == "anna" and row["outcome"] == "sale"
    assert row["pressed_at"] == "1999-01-01T00:00:00Z"
    cmds = core.handle(DeviceAction("kiosk-1", "feedback", FeedbackMsg(id="c1", score=4)))
    row = [c.row for c in cmds if isinstance(c, RecordCall)][-1]
    assert row["feedback_score"] == 4
    assert SummaryChanged("anna") in cmds
    shift = core.shift("anna")
    assert shift["calls"] == 1 and shift["faces"]["4"] == 1 and shift["median_greet_s"] == 42
    assert rejects(core.handle(DeviceAction("kiosk-1", "feedback", FeedbackMsg(id="c1", score=1)))) == [
        "call 'c1' already has feedback"
    ]


def test_greeting_from_the_pager_is_recorded_as_such(core):
    press(core)
    cmds = staff(core, "ben", "greet")
    row = [c.row for c in cmds if isinstance(c, RecordCall)][-1]
    assert row["greeted_at_device"] is False and row["greeted_by"] == "ben"


def test_resolve_without_greet_counts_greeting_at_resolve(core, clock):
    press(core)
    clock.advance(50)
    row = [c.row for c in staff(core, "anna", "resolve") if isinstance(c, RecordCall)][-1]
    assert row["time_to_greet_s"] == 50 and row["status"] == "resolved"


def test_cancel_closes_and_clears(core, clock):
    press(core)
    clock.advance(40)
    cmds = core.handle(DeviceAction("kiosk-1", "cancel", CallRef(id="c1")))
    assert [(c.msg.status, c.closed) for c in cmds if isinstance(c, PublishState)] == [("cancelled", True)]
    assert core.open == {} and core.next_deadline() is None


def test_greeted_call_nobody_resolves_is_auto_closed(core, clock):
    press(core)
    staff(core, "anna", "greet")
    cmds = advance(core, clock, 1800)
    assert states(cmds) == ["resolved"]


# --- repeat presses and duplicates ----------------------------------------------------------


def test_second_press_is_a_repeat_not_a_new_call(core, clock):
    press(core, call_id="c1")
    clock.advance(20)
    cmds = press(core, call_id="c2")
    assert pages(cmds) == [("anna", "repeat", 1)]
    assert [c.msg.urgency for c in cmds if isinstance(c, Page)] == [2]
    assert list(core.open) == ["c1"]
    assert [c.msg.repeat_presses for c in cmds if isinstance(c, PublishState)] == [2 - 1]
    # the escalation clock was not reset by the reminder
    assert pages(advance(core, clock, 10)) == [("ben", "next", 2)]


def test_resent_call_is_idempotent_and_answered_with_its_state(core):
    press(core)
    cmds = press(core)
    assert pages(cmds) == [] and states(cmds) == ["waiting"]
    staff(core, "anna", "resolve")
    cmds = press(core)
    assert [(c.msg.status, c.closed) for c in cmds if isinstance(c, PublishState)] == [("resolved", True)]
    assert core.open == {}


def test_call_id_of_another_device_is_rejected(core):
    press(core, "kiosk-1", "c1")
    assert rejects(press(core, "kiosk-2", "c1")) == ["call id 'c1' already belongs to device 'kiosk-1'"]


# --- bad input changes nothing --------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        Pressed("kiosk-9", CallMsg(id="x")),
        StaffAction("zed", "ack", CallRef(id="c1")),
        StaffAction("anna", "ack", CallRef(id="nope")),
        DeviceAction("kiosk-2", "cancel", CallRef(id="c1")),
        DeviceAction("kiosk-1", "greet", CallRef(id="c1", staff="zed")),
        PresenceChanged("zed", "on_shift"),
        DeviceStatus("kiosk-9", "online"),
    ],
)
def test_unknown_ids_are_rejected_and_change_nothing(core, event):
    press(core)
    before = (dict(core.open), core.load(), dict(core.router.presence))
    cmds = core.handle(event)
    assert len(rejects(cmds)) == 1 and len(cmds) == 1
    assert before == (dict(core.open), core.load(), dict(core.router.presence))


def test_second_ack_by_another_colleague_is_rejected(core):
    press(core)
    staff(core, "anna", "ack")
    assert rejects(staff(core, "ben", "ack")) == ["call 'c1' is already acknowledged by 'anna'"]


# --- eta and restore ----------------------------------------------------------------------


def test_eta_learns_from_recent_greetings(core, clock):
    for i in range(10):
        press(core, call_id=f"w{i}")
        clock.advance(10 * (i + 1))
        staff(core, "anna", "greet", call_id=f"w{i}")
        staff(core, "anna", "resolve", call_id=f"w{i}")
    cmds = press(core, call_id="next")
    st = [c.msg for c in cmds if isinstance(c, PublishState)][0]
    assert st.eta_s == 100  # 10..100 s: 10 samples, so 85 % ([store] eta_kept_share) needs the longest
    row = [c.row for c in cmds if isinstance(c, RecordCall)][-1]
    assert (row["eta_first_s"], row["eta_last_s"], row["eta_ack_s"]) == (100, 100, None)
    clock.advance(30)
    row = [c.row for c in staff(core, "anna", "ack", call_id="next") if isinstance(c, RecordCall)][-1]
    # Acknowledged: a walk (here 0 s, greeted at once) from now, recorded as seconds from the opening.
    assert (row["eta_first_s"], row["eta_ack_s"], row["eta_last_s"]) == (100, 45, 45)


def test_restore_rebuilds_open_calls_and_timers(core, clock):
    rows = {}
    for cmds in (press(core), advance(core, clock, 10), staff(core, "anna", "decline")):
        for c in cmds:
            if isinstance(c, RecordCall):
                rows[c.row["id"]] = c.row
    clock.advance(5)
    fresh = new_core(store_config(), clock)
    out = fresh.restore(list(rows.values()), [], presence={"anna": "on_shift", "ben": "on_shift", "chloe": "off"})
    assert states(out) == ["waiting"]
    call = fresh.open["c1"]
    assert (call.staff, call.tier, call.declined) == ("ben", 2, ["anna"])
    # ben was paged at t=10; 30 s later the next step fires on the rebuilt timer
    assert advance(fresh, clock, 24.9) == []
    assert {t for _, _, t in pages(advance(fresh, clock, 0.2))} == {3}


def test_a_restored_row_missing_its_ack_or_greet_time_still_runs_its_timers(core, clock):
    """A damaged or hand-edited event log must not stop the hub: the timers fall back to the page time."""

    def row(cmds):
        return dict(next(c.row for c in cmds if isinstance(c, RecordCall)))

    press(core, call_id="c1")
    press(core, call_id="c2", device="button-1")
    acked = row(staff(core, "anna", "ack", call_id="c1"))
    greeted = row(staff(core, "chloe", "greet", call_id="c2"))
    assert (acked["status"], greeted["status"]) == ("acknowledged", "greeted")
    acked["time_to_ack_s"] = None
    greeted["time_to_greet_s"] = None
    fresh = new_core(store_config(), clock)
    fresh.restore([acked, greeted], [], presence={"anna": "on_shift", "chloe": "on_shift"})
    clock.advance(3600)
    cmds = fresh.tick()
    assert {c.msg.id for c in cmds if isinstance(c, PublishState) and c.closed} == {"c1", "c2"}


def test_a_resent_repeat_press_is_counted_once_even_after_a_restart(core, clock, tmp_path):
    from broker.core.commands import RecordPress
    from broker.hub.eventlog import EventLog, press_row

    log = EventLog(str(tmp_path / "staffcall.db"))
    log.start()
    cmds = press(core, call_id="c1") + press(core, call_id="p2")
    log.submit([("call", c.row) for c in cmds if isinstance(c, RecordCall)])
    log.submit([press_row(c.press_id, c.call_id, c.device, clock.wall()) for c in cmds if isinstance(c, RecordPress)])
    assert log.flush()
    assert pages(press(core, call_id="p2")) == [] and core.open["c1"].repeat_presses == 1
    fresh = new_core(store_config(), clock)
    fresh.restore(log.load_open(), [], presence={"anna": "on_shift"})
    assert pages(press(fresh, call_id="p2")) == [] and fresh.open["c1"].repeat_presses == 1
    log.stop()


def test_a_replayed_press_of_a_call_long_closed_opens_nothing(core, clock):
    press(core, call_id="c1")
    press(core, call_id="p2")
    staff(core, "anna", "resolve")
    core.closed.clear()  # long gone from memory: the press index still knows p2
    cmds = press(core, call_id="p2")
    assert pages(cmds) == [] and core.open == {}
    core.presses.clear()  # and beyond that, the shell found it in the event log
    cmds = core.handle(Pressed("kiosk-1", CallMsg(id="p2"), known_call="c1"))
    assert pages(cmds) == [] and core.open == {}
    assert [c.kind for c in cmds if isinstance(c, RecordEvent)] == ["replayed_press"]


def test_a_flood_of_repeat_presses_is_one_reminder_and_constant_work(core, clock):
    press(core, call_id="c1")
    rows = []
    reminders = 0
    for i in range(5000):
        cmds = press(core, call_id=f"r{i}")
        reminders += len(pages(cmds))
        rows += [c.row for c in cmds if isinstance(c, RecordCall)]
        clock.advance(0.001)
    assert core.open["c1"].repeat_presses == 5000
    assert reminders == 1  # 5 s of presses: one "again" page
    assert abs(len(json.dumps(rows[-1])) - len(json.dumps(rows[0]))) < 16  # the row does not grow per press
    clock.advance(15)
    assert len(pages(press(core, call_id="late"))) == 1


def test_an_off_shift_colleague_never_paged_may_not_take_a_call(core):
    press(core, call_id="c1")  # anna is paged
    core.handle(PresenceChanged("chloe", "off"))
    cmds = staff(core, "chloe", "ack")
    assert any(isinstance(c, Reject) and "refused" in c.reason for c in cmds)
    assert core.open["c1"].status == "waiting"
    assert any(isinstance(c, Reject) for c in staff(core, "chloe", "resolve"))
    assert "c1" in core.open
    # a manager may, and so may whoever was paged
    assert not any(isinstance(c, Reject) for c in staff(core, "maria", "ack"))


def test_a_press_after_the_greeting_closes_the_old_call_and_opens_a_new_one(core):
    press(core, call_id="c1")
    staff(core, "anna", "greet")
    cmds = press(core, call_id="c2")
    closed = [c.msg for c in cmds if isinstance(c, PublishState) and c.closed]
    assert [(m.id, m.status) for m in closed] == [("c1", "resolved")]
    assert core.closed["c1"].outcome == "auto-closed: pressed again"
    assert list(core.open) == ["c2"] and pages(cmds)[0][1] == "call"


def test_a_call_row_has_exactly_the_event_log_columns(core):
    from broker.hub.eventlog import CALL_COLUMNS

    rows = [c.row for c in press(core) if isinstance(c, RecordCall)]
    assert set(rows[-1]) == set(CALL_COLUMNS)


def test_each_changed_call_is_one_row_after_its_pages_and_states(core, clock):
    press(core, call_id="c1")
    staff(core, "anna", "greet")
    cmds = press(core, call_id="c2")  # closes c1 (greeted, pressed again) and opens c2
    rows = [(i, c.row["id"], c.row["status"]) for i, c in enumerate(cmds) if isinstance(c, RecordCall)]
    assert [(r[1], r[2]) for r in rows] == [("c1", "resolved"), ("c2", "waiting")]
    last_publish = max(i for i, c in enumerate(cmds) if isinstance(c, Page | PublishState))
    assert all(i > last_publish for i, _, _ in rows)
    # greeted and closed by one resolve: one row, with the final state
    cmds = staff(core, "ben", "resolve", call_id="c2")
    assert [(c.row["id"], c.row["status"]) for c in cmds if isinstance(c, RecordCall)] == [("c2", "resolved")]


def test_a_call_adopted_just_after_midnight_counts_once_today():
    from broker.contract.protocol import StateMsg
    from tests.broker.conftest import local_ts

    clock = FakeClock(wall_start=local_ts("2026-03-02 23:59:50"))
    core = new_core(store_config(), clock)
    core.restore([], [], presence={"anna": "on_shift"})
    clock.advance(20)  # the new day's first event is the adoption
    opened = "2026-03-02T22:59:55.000Z"
    state = StateMsg(
        id="c1",
        device="kiosk-1",
        zone="electronics",
        status="waiting",
        tier=1,
        staff="anna",
        opened_at=opened,
        updated_at=opened,
        waited_s=0,
    )
    cmds = core.adopt([state])
    assert [c.row["id"] for c in cmds if isinstance(c, RecordCall)] == ["c1"]
    summary = core.summary()
    assert (summary["day"], summary["calls"], summary["open"]) == ("2026-03-03", 1, 1)


# --- the incremental indexes cannot drift from the open calls ------------------------------------------

DEVICES = ["kiosk-1", "kiosk-2", "button-1"]
STAFF = ["anna", "ben", "chloe", "maria"]
target = st.integers(0, 9)  # an open call (by position), else one of a few known or unknown ids
step = st.one_of(
    st.tuples(st.just("press"), st.sampled_from(DEVICES), st.sampled_from(["c1", "c2", "c3", "new"])),
    st.tuples(
        st.just("staff"), st.sampled_from(STAFF), st.sampled_from(["ack", "greet", "resolve", "decline"]), target
    ),
    st.tuples(st.just("device"), st.sampled_from(DEVICES), st.sampled_from(["cancel", "greet"]), target),
    st.tuples(st.just("presence"), st.sampled_from(STAFF), st.sampled_from(["on_shift", "break", "off", "offline"])),
    # 0 s: calls opened at the same instant; 601 s: past unattended_after_s
    st.tuples(st.just("tick"), st.sampled_from([0.0, 1.0, 29.0, 31.0, 61.0, 91.0, 121.0, 250.0, 601.0])),
)


def check_indexes(core: Dispatcher) -> None:
    """load() and the waiting queues against a full recomputation from the open calls."""
    assert core.load() == dict(Counter(c.staff for c in core.open.values() if c.staff))
    assert all(n >= 0 for n in core._load.values()), core._load
    for zone in {d.zone for d in core.cfg.devices} | set(core._waiting):
        scan = sorted((c.opened_mono, c.id) for c in core.open.values() if c.zone == zone and c.status == "waiting")
        assert core._waiting.get(zone, []) == scan, zone
    for call in core.open.values():
        ahead = bisect.bisect_left(core._waiting.get(call.zone, []), (call.opened_mono, ""))
        scan = sum(
            1
            for c in core.open.values()
            if c.zone == call.zone and c.status == "waiting" and c.opened_mono < call.opened_mono
        )
        assert ahead == scan, call.id


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=80), st.sets(st.sampled_from(STAFF)))
def test_load_and_waiting_queues_always_equal_a_full_scan(steps, on_shift_at_start):
    """The dispatcher keeps per-colleague load and per-zone waiting queues as calls change (so a new
    call never scans the open calls); after any sequence of events they equal the scan they replace."""
    clock = FakeClock()
    core = new_core(store_config(), clock)
    for s in on_shift_at_start:
        core.handle(PresenceChanged(s, "on_shift"))
    for n, (kind, *args) in enumerate(steps):
        ids = [*core.open, "c1", "c2", "c3", "zz"]
        if kind == "press":
            device, call_id = args
            # a known id (a resend, another device's call) or a fresh one (a new call or a repeat press)
            core.handle(Pressed(device, CallMsg(id=f"p{n}" if call_id == "new" else call_id)))
        elif kind == "staff":
            who, action, i = args
            core.handle(StaffAction(who, action, CallRef(id=ids[i % len(ids)])))
        elif kind == "device":
            device, action, i = args
            core.handle(DeviceAction(device, action, CallRef(id=ids[i % len(ids)])))
        elif kind == "presence":
            core.handle(PresenceChanged(*args))
        else:
            clock.advance(args[0])
            core.tick()
        check_indexes(core)
