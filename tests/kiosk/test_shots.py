"""The screenshots' scenes show what the hub really sends (``staffcall kiosk-screens``, docs/screens)."""

from __future__ import annotations

from broker.callpoint.progress import CallProgress, describe
from broker.contract.clock import FakeClock
from broker.contract.protocol import CallMsg, StateMsg
from broker.core.commands import PresenceChanged, Pressed, PublishState
from broker.hub.words import new_core
from kiosk.shots import OVERDUE, OVERDUE_AGE_S, sample_state
from tests.broker.callpoint.test_progress import EN
from tests.conftest import store_config

WHO = ("status", "tier", "staff", "staff_name", "staff_role", "nobody_on_shift")


def escalated_state() -> StateMsg:
    """The real hub core, nobody answering until it has alerted everyone (tier 3)."""
    clock = FakeClock()
    core = new_core(store_config(ack=30, esc=90), clock)
    for s in ("anna", "ben"):
        core.handle(PresenceChanged(s, "on_shift"))
    sent = core.handle(Pressed("kiosk-1", CallMsg(id="c1")))
    for _ in range(4):
        clock.advance(30)
        sent += core.tick()
    states = [c.msg for c in sent if isinstance(c, PublishState)]
    assert states[-1].tier == 3, [s.tier for s in states]
    return states[-1]


def test_the_overdue_scene_is_a_state_the_hub_sends():
    hub = escalated_state()
    scene = sample_state("c1", **OVERDUE)
    assert {f: getattr(scene, f) for f in WHO} == {f: getattr(hub, f) for f in WHO}
    assert hub.eta_s is not None and scene.eta_s is not None and scene.eta_s >= 15


def test_the_overdue_scene_says_it_is_late_and_names_nobody():
    progress = CallProgress("c1", pressed_mono=100.0)
    progress.update(sample_state("c1", **OVERDUE), 100.0)
    view = describe(progress, 100.0 + OVERDUE_AGE_S, True, EN)
    assert view.overdue and "Anna" not in view.who
    assert view.note == "It is taking longer than we thought, sorry. All colleagues on shift have been alerted."
