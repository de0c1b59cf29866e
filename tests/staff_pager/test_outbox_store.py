"""The staff outbox on disk, and the core holding a resumed session's replay. No broker, no Kivy."""

import pytest

from broker.callpoint.outbox import ActionStore, OutboxLocked
from broker.callpoint.pager import PagerCore, StaffOutbox
from broker.callpoint.pending import GIVE_UP_AFTER_S
from tests.broker.callpoint.test_pager import page, state


def test_an_unconfirmed_action_outlives_the_process_and_a_confirmed_one_does_not(tmp_path):
    wall = [1000.0]
    store = ActionStore(tmp_path, "anna", wall=lambda: wall[0])
    core = PagerCore("anna", outbox=StaffOutbox("anna", journal=store))
    core.on_page(page("c1"), now=5.0)
    core.on_page(page("c2"), now=5.0)
    core.act("ack", "c1", now=6.0)
    core.act("resolve", "c2", now=6.0, outcome="sale")
    core.on_state(state("c2", "resolved"), now=7.0)  # the hub has the resolve: gone from the file too
    store.close()

    wall[0] = 1030.0  # 30 s later, a new process with its own monotonic clock
    again = ActionStore(tmp_path, "anna", wall=lambda: wall[0])
    items = again.load(now=50.0)
    assert [(i.action, i.call_id, i.body) for i in items] == [("ack", "c1", {"id": "c1"})]
    assert items[0].created == pytest.approx(20.0)  # 30 s old on this run's clock
    outbox = StaffOutbox("anna", journal=again)
    outbox.restore(items)
    assert [i.action for i in outbox.to_send(now=50.0)] == ["ack"]  # goes at once
    assert outbox.add("greet", "c1", {"id": "c1"}, now=51.0).seq == 2  # numbering continues
    # Too old to matter any more: dropped, here and on disk.
    outbox.to_send(now=20.0 + GIVE_UP_AFTER_S + 1)
    assert [i.action for i in again.load(now=0.0)] == ["greet"]
    again.close()


def test_one_writer_per_colleague_and_folder(tmp_path):
    first = ActionStore(tmp_path, "anna")
    with pytest.raises(OutboxLocked, match="another pager for 'anna'"):
        ActionStore(tmp_path, "anna")
    ActionStore(tmp_path, "ben").close()  # a colleague of her own
    first.close()
    ActionStore(tmp_path, "anna").close()  # free again


def test_a_replayed_page_for_a_call_closed_meanwhile_never_alerts():
    core = PagerCore("anna")
    core.hold(now=10.0)
    core.on_state(state("c1", "waiting"), now=10.1)
    assert core.on_page(page("c1"), now=10.1) is False
    assert core.alerting(10.1) is None  # held: the rest of the replay may close it
    core.on_state(state("c1", "resolved", staff="ben"), now=10.2)
    assert core.release(now=11.0) is False
    assert core.alerting(11.0) is None and "c1" not in core.pages


def test_a_replayed_page_for_a_call_still_open_alerts_and_sounds_after_the_replay():
    core = PagerCore("anna")
    core.hold(now=10.0)
    core.on_state(state("c1", "waiting"), now=10.1)
    assert core.on_page(page("c1"), now=10.1) is False
    assert core.release(now=11.0) is True
    assert core.alerting(11.0).id == "c1"
    assert core.release(now=12.0) is False  # nothing held any more
