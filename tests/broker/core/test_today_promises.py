"""Today's promises kept (the board's figure) and honest revisions as a call escalates, on a fake clock."""

from __future__ import annotations

from broker.contract.clock import FakeClock
from broker.contract.protocol import CallMsg, CallRef
from broker.core.commands import DeviceAction, PresenceChanged, Pressed, PublishState, RecordCall, StaffAction
from broker.hub.words import new_core
from tests.conftest import store_config


def test_today_counts_promises_kept_like_the_reports_and_escalations_revise_the_promise() -> None:
    clock = FakeClock()
    core = new_core(store_config(), clock)  # no history yet: the first promise is [timers] default_eta_s, 60 s
    for s in ("anna", "ben", "chloe"):
        core.handle(PresenceChanged(s, "on_shift"))

    def press(device: str, call_id: str) -> list:
        return core.handle(Pressed(device, CallMsg(id=call_id)))

    def staff(who: str, action: str, call_id: str) -> list:
        return core.handle(StaffAction(who, action, CallRef(id=call_id)))

    def row(cmds: list, call_id: str) -> dict:
        return [c.row for c in cmds if isinstance(c, RecordCall) and c.row["id"] == call_id][-1]

    assert row(press("kiosk-1", "kept"), "kept")["eta_first_s"] == 60
    clock.advance(20)
    staff("anna", "greet", "kept")
    staff("anna", "resolve", "kept")

    press("kiosk-1", "late")
    etas = []
    for _ in range(9):  # 90 s: paged the next colleague at 30 s, everyone at 90 s
        clock.advance(10)
        etas += [c.msg.eta_s for c in core.tick() if isinstance(c, PublishState) and c.call_id == "late"]
    assert etas and etas[-1] == 30  # escalated at 90 s: told anew (a walk from now), not 60 s again
    staff("ben", "greet", "late")
    closed = staff("ben", "resolve", "late")
    assert (row(closed, "late")["eta_first_s"], row(closed, "late")["eta_last_s"]) == (60, 120)

    press("kiosk-2", "gave-up-late")
    press("button-1", "gave-up-early")
    clock.advance(10)
    core.handle(DeviceAction("button-1", "cancel", CallRef(id="gave-up-early")))  # before the time shown
    clock.advance(60)
    core.handle(DeviceAction("kiosk-2", "cancel", CallRef(id="gave-up-late")))  # after it: a promise broken
    press("kiosk-1", "still-waiting")

    s = core.summary()
    assert (s["calls"], s["promised"], s["promises_kept"]) == (5, 3, 1)
