"""Button stations on gpiozero's MockFactory against a real Mosquitto and the real hub."""

from __future__ import annotations

import time

import pytest
import sqlite_utils

from broker.callpoint.callpoint import CallPoint
from hardware.station import ButtonStation
from tests.hardware.conftest import hold, tap, wait_until


@pytest.fixture
def make_station(hub, pins, tmp_path):
    made: list[ButtonStation] = []

    def make(device_id: str = "fit-1", outbox: str | None = None) -> ButtonStation:
        cfg = hub.cfg
        point = CallPoint(cfg, device_id, outbox or str(tmp_path / f"{device_id}.outbox.db"))
        station = ButtonStation(
            cfg.devices_by_id[device_id], point, cfg.buttons.hold_s, cfg.buttons.bounce_s, pin_factory=pins
        )
        point.start()
        wait_until(lambda: station.connected, what="station connected")
        made.append(station)
        return station

    yield make
    for s in made:
        s.point.stop()
        s.close()


def levels(pin) -> list[bool]:
    return [bool(s.state) for s in pin.states]


def gaps(pin) -> list[float]:
    """Seconds between the pin's changes (the first entry is the state when recording began)."""
    return [s.timestamp for s in pin.states[2:]]


def on_shift(listener, *staff: str) -> None:
    for s in staff:
        listener.publish(f"staffcall/s1/staff/{s}/presence", {"status": "on_shift"}, retain=True)


def test_press_repeat_and_hold_send_the_right_messages(hub, listener, make_station):
    on_shift(listener, "ben")
    station = make_station("fit-1")
    buzzer = station.buzzer.pin
    buzzer.clear_states()
    start = len(listener.messages)
    station.button.pin.drive_low()
    call = listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-1", start=start).json
    assert call["id"] == station.call_id and call["at"]
    station.button.pin.drive_high()
    wait_until(lambda: levels(buzzer) == [False, True, False], what="one short beep")
    listener.state(call["id"], "waiting")
    listener.page("ben", call["id"])

    # A second press while waiting: a new press id, counted by the hub as a repeat press.
    start = len(listener.messages)
    tap(station)
    again = listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-1", start=start).json
    assert again["id"] != call["id"]
    listener.wait_for(
        lambda m: m.topic.endswith(f"/state/{call['id']}") and m.json and m.json["repeat_presses"] == 1, start=start
    )
    listener.page("ben", call["id"], kind="repeat", start=start)

    # Held for hold_s: "greeted here" on the open call, and no repeat press on release.
    start = len(listener.messages)
    hold(station)
    greet = listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-1/greet", start=start).json
    assert greet == {"id": call["id"]}
    assert listener.state(call["id"], "greeted")["repeat_presses"] == 1
    hub.settle()
    sent = [m.topic for m in listener.messages[start:] if m.topic.startswith("staffcall/s1/call/")]
    assert sent == ["staffcall/s1/call/fit-1/greet"]
    db = sqlite_utils.Database(hub.cfg.database.path)
    assert [(r["id"], r["status"]) for r in db["calls"].rows] == [(call["id"], "greeted")]


def test_contact_bounce_makes_one_call(hub, listener, make_station):
    station = make_station("fit-1")
    pin = station.button.pin
    start = len(listener.messages)
    for _ in range(5):  # a bouncing contact: five edges within a few milliseconds
        pin.drive_low()
        pin.drive_high()
    pin.drive_low()
    time.sleep(0.05)
    pin.drive_high()
    first = listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-1", start=start).json
    hub.settle()
    calls = [m for m in listener.messages[start:] if m.topic == "staffcall/s1/call/fit-1"]
    assert len(calls) == 1 and calls[0].json["id"] == first["id"]


def test_light_follows_the_hub_through_the_whole_lifecycle(hub, listener, make_station):
    on_shift(listener, "ben")
    station = make_station("fit-1")
    led = station.led.pin
    assert station.light.name == "off" and levels(led)[-1] is False

    led.clear_states()
    tap(station)
    call_id = station.call_id
    assert listener.state(call_id, "waiting")["tier"] == 1
    assert station.light.name == "slow_blink"
    # Nobody acknowledges within ack_timeout_s and nobody else is on shift: escalated to everyone.
    assert listener.state(call_id, "waiting", timeout=5)["tier"] == 1
    listener.wait_for(lambda m: m.topic.endswith(f"/state/{call_id}") and m.json and m.json["tier"] == 3)
    wait_until(lambda: station.light.name == "fast_blink", what="fast blink")
    slow = list(led.states)
    assert [bool(s.state) for s in slow[:3]] == [False, True, False], "slow blink: on, then off"
    assert slow[2].timestamp == pytest.approx(0.8, abs=0.1)

    led.clear_states()
    time.sleep(0.7)
    fast = gaps(led)
    assert len(fast) >= 3 and all(g == pytest.approx(0.15, abs=0.06) for g in fast), fast

    listener.publish("staffcall/s1/staff/ben/ack", {"id": call_id})
    listener.state(call_id, "acknowledged")
    wait_until(lambda: station.light.name == "steady", what="steady light")
    led.clear_states()
    time.sleep(0.3)
    assert levels(led) == [True], "steady: on, without a flicker"

    hold(station)
    listener.state(call_id, "greeted")
    wait_until(lambda: station.light.name == "off", what="light off once greeted")
    led.clear_states()
    listener.publish("staffcall/s1/staff/ben/resolve", {"id": call_id})
    listener.state(call_id, "resolved")
    hub.settle()
    assert levels(led) == [False] and station.status is None and not station.call_open


def test_rgb_station_shows_colours(hub, listener, make_station):
    station = make_station("fit-2")
    red, green, blue = (led.pin for led in station.led._leds)
    tap(station)
    # Nobody on shift in electronics: straight to everyone (tier 3), a fast red blink.
    listener.wait_for(lambda m: m.topic.endswith(f"/state/{station.call_id}") and m.json and m.json["tier"] == 3)
    wait_until(lambda: station.light.name == "fast_blink", what="fast blink")
    for pin in (red, green, blue):
        pin.clear_states()
    time.sleep(0.5)
    assert len(red.states) >= 3 and levels(green) == [False] and levels(blue) == [False]
    listener.publish("staffcall/s1/staff/maria/ack", {"id": station.call_id})  # the manager, paged at tier 3
    wait_until(lambda: station.light.name == "steady", what="steady")
    # The pattern is chosen first and the pins follow: wait for them (without a lock, as a customer sees it).
    wait_until(lambda: (red.state, green.state, blue.state) == (False, True, False), what="steady green", timeout=1)
    time.sleep(0.3)
    assert (red.state, green.state, blue.state) == (False, True, False), "steady: no blink left running"


def test_offline_press_reaches_the_hub_exactly_once(broker, hub, listener, make_station, tmp_path):
    station = make_station("fit-1")
    led = station.led.pin
    broker.kill()
    wait_until(lambda: station.light.name == "offline", what="offline pattern")
    led.clear_states()
    time.sleep(2.2)
    flashes = [s for s in led.states[1:] if s.state]
    assert 1 <= len(flashes) <= 2, levels(led)
    offs = [s.timestamp for s in led.states[1:] if not s.state]
    assert offs and all(t == pytest.approx(0.08, abs=0.05) for t in offs), "a short flash, unlike any blink"

    tap(station)
    call_id = station.call_id
    assert station.point.outbox.pending_count() == 1
    broker.restart()
    wait_until(lambda: station.point.outbox.pending_count() == 0, timeout=20, what="the hub confirming the call")
    wait_until(lambda: station.light.name in ("slow_blink", "fast_blink"), what="waiting light after reconnect")
    hub.settle()
    db = sqlite_utils.Database(hub.cfg.database.path)
    assert [r["id"] for r in db["calls"].rows] == [call_id]
    assert db["calls"].get(call_id)["device"] == "fit-1"


def test_restarted_station_resumes_its_light(hub, listener, make_station, tmp_path, pins):
    on_shift(listener, "ben")
    path = str(tmp_path / "resume.outbox.db")
    first = make_station("fit-1", outbox=path)
    tap(first)
    call_id = first.call_id
    listener.state(call_id, "waiting")
    listener.publish("staffcall/s1/staff/ben/ack", {"id": call_id})
    wait_until(lambda: first.light.name == "steady", what="steady")
    first.point.stop()
    first.close()
    second = make_station("fit-1", outbox=path)
    assert second.call_id == call_id
    wait_until(lambda: second.light.name == "steady", what="steady after restart")
