"""The device side of a call: outbox, resend after reconnect, resume after restart."""

import sqlite_utils

from broker.callpoint.callpoint import CallPoint, new_call_id
from broker.contract.protocol import valid_id


def test_call_ids_are_valid_and_unique():
    ids = {new_call_id("kiosk-1") for _ in range(1000)}
    assert len(ids) == 1000 and all(valid_id(i) for i in ids)


def _wait(pred, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_offline_call_is_delivered_once_after_reconnect(broker, hub, listener, tmp_path):
    states = []
    point = CallPoint(hub.cfg, "kiosk-1", str(tmp_path / "outbox.db"), on_state=lambda i, s: states.append(s))
    point.start()
    assert _wait(lambda: point.connected)
    broker.kill()
    assert _wait(lambda: not point.connected)
    call_id = point.call(reason="product")
    assert point.outbox.pending_count() == 1
    broker.restart()
    assert _wait(lambda: point.outbox.pending_count() == 0, 20), "the call was never confirmed by a hub state"
    assert states and states[-1].id == call_id
    hub.settle()
    db = sqlite_utils.Database(hub.cfg.database.path)
    assert [r["id"] for r in db["calls"].rows] == [call_id]
    point.stop()


def test_restarted_device_resumes_its_open_call(hub, listener, tmp_path):
    path = str(tmp_path / "outbox.db")
    first = CallPoint(hub.cfg, "kiosk-2", path)
    first.start()
    assert _wait(lambda: first.connected)
    call_id = first.call()
    assert _wait(lambda: first.outbox.pending_count() == 0)
    first.stop()
    states = []
    second = CallPoint(hub.cfg, "kiosk-2", path, on_state=lambda i, s: states.append((i, s.status)))
    assert second.open_call()[0] == call_id
    second.start()
    assert _wait(lambda: (call_id, "waiting") in states)
    listener.publish("staffcall/s1/call/kiosk-2/cancel", {"id": call_id})
    assert _wait(lambda: (call_id, "cancelled") in states)
    assert second.open_call() is None
    second.stop()


def test_a_second_press_is_a_repeat_press_and_leaves_nothing_pending(hub, listener, tmp_path):
    point = CallPoint(hub.cfg, "kiosk-1", str(tmp_path / "outbox.db"))
    point.start()
    assert _wait(lambda: point.connected)
    first = point.call()
    assert _wait(lambda: point.outbox.pending_count() == 0)
    assert point.call() == first
    hub.settle()
    db = sqlite_utils.Database(hub.cfg.database.path)
    assert db["calls"].get(first)["repeat_presses"] == 1 and db["calls"].count == 1
    assert _wait(lambda: point.outbox.pending_count() == 0)  # the hub's state says so within a second
    point.stop()
