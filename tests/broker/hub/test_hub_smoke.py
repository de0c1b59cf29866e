"""The hub end to end on a real Mosquitto: a call is paged, acknowledged, greeted, resolved."""

import sqlite_utils


def test_call_page_ack_greet_resolve(hub, listener):
    t = "staffcall/s1"
    listener.publish(f"{t}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish(f"{t}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    hub.settle()
    listener.publish(f"{t}/call/kiosk-1", {"id": "c1", "reason": "product"})
    page = listener.page("anna", "c1")
    assert page["device"] == "kiosk-1" and page["tier"] == 1
    listener.publish(f"{t}/staff/anna/ack", {"id": "c1"})
    state = listener.state("c1", "acknowledged")
    assert state["staff_name"] == "Anna" and state["staff_role"] == "Summer substitute" and state["eta_s"] > 0
    listener.publish(f"{t}/call/kiosk-1/greet", {"id": "c1"})
    listener.state("c1", "greeted")
    listener.publish(f"{t}/staff/anna/resolve", {"id": "c1"})
    listener.state("c1", "resolved")
    listener.publish(f"{t}/call/kiosk-1/feedback", {"id": "c1", "score": 4})
    listener.publish(f"{t}/call/kiosk-1", "{not json")
    assert hub.settle()
    db = sqlite_utils.Database(hub.cfg.database.path)
    row = db["calls"].get("c1")
    assert row["status"] == "resolved" and row["greeted_at_device"] == 1 and row["feedback_score"] == 4
    assert row["time_to_greet_s"] >= row["time_to_ack_s"] >= 0
    assert db["rejected"].count == 1
