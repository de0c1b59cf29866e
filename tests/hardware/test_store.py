"""Button stations in a store set up by ``staffcall broker init``: own logins, the ACL, the real hub.

Presses are made on gpiozero's MockFactory pins, as a finger makes them on a Pi.
"""

from __future__ import annotations

import json
import time

import sqlite_utils

from broker.callpoint.cues import Cues, RecordingPlayer
from tests.hardware.conftest import SecureStations, hold, tap, wait_until

CALL = "staffcall/s1/call/fit-1"


def on_shift(store: SecureStations, staff: str):
    colleague = store.staff(staff)
    colleague.publish(f"staffcall/s1/staff/{staff}/presence", json.dumps({"status": "on_shift"}), retain=True)
    return colleague


def calls(store: SecureStations) -> dict[str, dict]:
    assert store.hub.settle()
    return {r["id"]: r for r in sqlite_utils.Database(store.cfg.database.path)["calls"].rows}


def test_a_press_after_greeted_makes_a_new_call_and_the_light_follows_it(store, pins):
    ben = on_shift(store, "ben")
    station = store.station("fit-1", pins)
    tap(station)
    first = station.call_id
    store.state(first, "waiting")
    hold(station)  # a colleague at the button: "greeted here"
    store.state(first, "greeted")
    wait_until(lambda: station.status == "greeted" and station.light.name == "off", what="greeted, light off")

    mark = store.mark()
    tap(station)  # the customer needs help again
    new = store.message(lambda t, b: t == CALL, start=mark)["id"]
    assert new != first
    store.state(first, "resolved", start=mark)
    store.state(new, "waiting", start=mark)
    store.message(lambda t, b: t == "staffcall/s1/page/ben" and b["id"] == new, start=mark)
    wait_until(lambda: station.call_id == new, what="the station following the new call")
    wait_until(lambda: station.light.name == "slow_blink", what="the waiting light for the new call")

    ben.publish("staffcall/s1/staff/ben/ack", json.dumps({"id": new}))
    store.state(new, "acknowledged", start=mark)
    wait_until(lambda: station.light.name == "steady", what="steady: a colleague is on the way")

    rows = calls(store)
    assert rows[first]["status"] == "resolved" and rows[first]["outcome"] == "auto-closed: pressed again"
    assert rows[new]["status"] == "acknowledged" and rows[new]["repeat_presses"] == 0
    assert station.point.outbox.pending_count() == 0
    ben.close()


def test_sound_cues_on_the_press_and_once_when_a_colleague_is_on_the_way(store, pins):
    ben = on_shift(store, "ben")
    player = RecordingPlayer()
    station = store.station("fit-1", pins, cues=Cues(player))
    buzzer = station.buzzer.pin
    buzzer.clear_states()
    mark = store.mark()
    tap(station)
    call_id = store.message(lambda t, b: t == CALL, start=mark)["id"]
    wait_until(lambda: [s.state for s in buzzer.states] == [False, True, False], what="the press beep, as before")
    assert player.played == ["sent"]
    store.state(call_id, "waiting", start=mark)

    mark = store.mark()
    tap(station)  # a repeat press: the buzzer beeps, no second "sent"
    store.message(lambda t, b: t == CALL, start=mark)
    store.message(lambda t, b: t == "staffcall/s1/page/ben" and b["id"] == call_id, start=mark)
    assert player.played == ["sent"]

    mark = store.mark()
    ben.publish("staffcall/s1/staff/ben/ack", json.dumps({"id": call_id}))
    store.state(call_id, "acknowledged", start=mark)
    wait_until(lambda: player.played == ["sent", "coming"], what="the coming cue")
    mark = store.mark()
    ben.publish("staffcall/s1/staff/ben/ack", json.dumps({"id": call_id}))  # the same news again
    tap(station)  # and a press after the ack: more states of the same call, no second cue
    store.message(lambda t, b: t == CALL, start=mark)
    store.state(call_id, "acknowledged", start=mark)
    assert store.hub.settle()
    assert player.played == ["sent", "coming"]
    ben.close()


def test_repeat_presses_made_while_the_broker_is_down_are_counted_once_each(store, pins):
    ben = on_shift(store, "ben")
    station = store.station("fit-1", pins)
    tap(station)
    call_id = station.call_id
    store.state(call_id, "waiting")
    store.message(lambda t, b: t == "staffcall/s1/page/ben" and b["id"] == call_id)
    ben.close()
    store.monitor.close()

    store.broker.kill()
    wait_until(lambda: station.light.name == "offline", what="the offline light")
    tap(station)  # "still waiting": two repeat presses the hub cannot hear yet
    tap(station)
    wait_until(lambda: station.point.outbox.pending_count() == 2, what="both presses kept in the outbox")

    store.broker.start(allow_embedded=False)
    wait_until(lambda: station.point.outbox.pending_count() == 0, timeout=30, what="the hub counting both presses")
    wait_until(lambda: station.connected and station.light.name == "slow_blink", timeout=10, what="waiting light")
    rows = calls(store)
    assert list(rows) == [call_id], "a kept press must not open a call of its own"
    assert rows[call_id]["repeat_presses"] == 2
    events = sqlite_utils.Database(store.cfg.database.path)["events"]
    presses = [e for e in events.rows if e["kind"] == "repeat_press"]
    assert len(presses) == 2, presses


def test_a_kept_press_on_a_call_closed_meanwhile_is_dropped_not_made_a_call(store, pins, tmp_path):
    ben = on_shift(store, "ben")
    outbox = str(tmp_path / "kept.outbox.db")
    first = store.station("fit-1", pins, outbox=outbox)
    tap(first)
    call_id = first.call_id
    store.state(call_id, "waiting")
    first.point.stop()  # the station loses its network
    first.close()
    ben.publish("staffcall/s1/staff/ben/ack", json.dumps({"id": call_id}))
    ben.publish("staffcall/s1/staff/ben/resolve", json.dumps({"id": call_id}))
    store.state(call_id, "resolved")

    again = store.station("fit-1", pins, outbox=outbox, start=False)
    assert again.call_id == call_id and again.press_joins_call
    tap(again)  # pressed while still offline: the station cannot know the call is over
    wait_until(lambda: again.point.outbox.pending_count() == 1, what="the press kept")
    again.point.start()
    wait_until(lambda: again.point.outbox.pending_count() == 0, timeout=20, what="the press dropped")
    wait_until(lambda: again.light.name == "off" and not again.call_open, what="the light off: call over")
    rows = calls(store)
    assert list(rows) == [call_id] and rows[call_id]["repeat_presses"] == 0
    ben.close()


def press_with_chatter(station, chatter_at_s: float = 0.15, release_at_s: float = 0.4) -> None:
    """A finger holds the button 400 ms; 150 ms in, the contact opens and closes twice within 3 ms."""
    pin = station.button.pin
    wait_until(lambda: not station.logic.pressed, what="the previous press released")
    time.sleep(station.logic.bounce_s)
    pin.drive_low()
    time.sleep(chatter_at_s)
    for drive in (pin.drive_high, pin.drive_low, pin.drive_high, pin.drive_low):
        drive()
        time.sleep(0.001)
    time.sleep(release_at_s - chatter_at_s - 0.004)
    pin.drive_high()


def test_contact_chatter_in_a_held_press_is_one_press(store, pins):
    on_shift(store, "ben")
    # The product's timings (hold 3 s, debounce 50 ms): the press is far from a hold even on a slow machine.
    station = store.station("fit-1", pins, hold_s=3.0, bounce_s=0.05)
    mark = store.mark()
    press_with_chatter(station)  # no call open: the press calls, the chatter must not add a repeat press
    call_id = station.call_id
    store.state(call_id, "waiting")
    wait_until(lambda: not station.logic.pressed, what="the release settled")

    press_with_chatter(station)  # the call open: one repeat press
    wait_until(lambda: not station.logic.pressed, what="the release settled")
    tap(station, down_s=0.15)  # and a real second press, released in between: another
    wait_until(lambda: not station.logic.pressed, what="the release settled")
    wait_until(lambda: calls(store)[call_id]["repeat_presses"] >= 2, timeout=10, what="two repeat presses")
    wait_until(lambda: station.point.outbox.pending_count() == 0, timeout=10, what="presses confirmed")
    rows = calls(store)
    assert list(rows) == [call_id] and rows[call_id]["repeat_presses"] == 2
    with store.monitor.cond:
        sent = [t for t, _ in store.monitor.messages[mark:] if t.startswith(CALL)]
    assert sent == [CALL] * 3, "one call and two repeat presses, nothing from the chatter"
    repeats = [b for t, b in store.monitor.messages[mark:] if t == "staffcall/s1/page/ben" and b"repeat" in b]
    assert len(repeats) == 1  # the hub reminds at most every 15 s, however often the customer presses


def test_a_press_sends_its_call_with_no_subscribe_in_front(store, pins):
    """The store's Mosquitto saves its database on every subscription change, in its event loop: a
    SUBSCRIBE just before the call made each press wait for a save (docs/performance.md, issue #14).
    The state topics of a press's id are subscribed ahead, so the press is one PUBLISH and its states
    still reach the station and the press is counted on the open call."""
    station = store.station("fit-1", pins)
    sent: list[tuple[str, str]] = []
    client = station.point.client
    subscribe, publish = client.subscribe, client.publish

    def spy_subscribe(topic, *a, **k):
        sent.append(("subscribe", topic if isinstance(topic, str) else str(topic)))
        return subscribe(topic, *a, **k)

    def spy_publish(topic, *a, **k):
        sent.append(("publish", topic))
        return publish(topic, *a, **k)

    client.subscribe, client.publish = spy_subscribe, spy_publish
    tap(station)
    first = station.call_id
    store.state(first, "waiting")
    wait_until(lambda: station.status == "waiting", what="the station saw its call waiting")
    assert sent[0] == ("publish", CALL), f"the press did not go out first: {sent}"

    sent.clear()
    tap(station)  # a repeat press, once the station knows the call is waiting
    body = store.message(lambda t, b: t == CALL and b["id"] != first)
    assert sent[0] == ("publish", CALL), f"the repeat press did not go out first: {sent}"
    wait_until(lambda: calls(store)[first]["repeat_presses"] == 1, timeout=10, what="the hub counting the press")
    assert station.call_id == first and body["id"] not in calls(store)
