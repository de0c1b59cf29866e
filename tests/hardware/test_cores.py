"""The pure cores (press/hold/bounce, light patterns) and the station wiring checks in the config."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import broker.contract.config as config_module
from broker.contract.config import ConfigError, parse_config
from hardware.lights import FAST_BLINK, OFF, OFFLINE, SLOW_BLINK, STEADY, light_for
from hardware.presses import PressLogic
from hardware.stations import station_devices

ROOT = Path(__file__).resolve().parents[2]


def test_press_without_open_call_calls_on_the_press_edge():
    logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    assert logic.press(1.0, call_open=False) == ["call"]
    assert logic.hold_due() is None
    assert logic.held(10.0) == [] and logic.release(10.0) == [] and logic.settle(10.05) == []


def test_open_call_short_press_repeats_long_hold_greets_once():
    logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    assert logic.press(0.0, call_open=True) == []
    assert logic.release(1.0) == [] and logic.release_due() == 1.05
    assert logic.settle(1.04) == [] and logic.settle(1.05) == ["repeat"]
    assert logic.press(5.0, call_open=True) == []
    assert logic.hold_due() == 8.0
    assert logic.held(7.9) == []
    assert logic.held(8.0) == ["greet"]
    assert logic.held(9.0) == [] and logic.release(9.5) == [] and logic.settle(9.6) == []
    # A hold nobody checked in time still counts once the release settles.
    assert logic.press(20.0, call_open=True) == [] and logic.release(23.5) == [] and logic.settle(23.6) == ["greet"]


def test_a_release_counts_only_once_the_contact_stays_open():
    logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    assert logic.press(0.0, call_open=False) == ["call"]
    assert logic.release(0.001) == [] and logic.press(0.002, call_open=False) == []  # bounce of the press
    assert logic.settle(0.051) == [] and logic.pressed
    assert logic.release(0.2) == [] and logic.settle(0.25) == [] and not logic.pressed
    assert logic.press(0.3, call_open=False) == ["call"]


def test_chatter_in_a_held_press_is_no_repeat_press():
    """The contact opens for 1-2 ms 150 ms into a press that goes on: one press, not two."""
    logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    assert logic.press(0.0, call_open=True) == []
    edges = [logic.release(0.150), logic.press(0.1515, True), logic.release(0.152), logic.press(0.153, True)]
    assert edges == [[], [], [], []] and logic.settle(0.205) == [] and logic.pressed
    assert logic.release(0.6) == [] and logic.settle(0.65) == ["repeat"]
    # Two real presses 400 ms apart, released between: two repeat presses.
    assert logic.press(1.0, call_open=True) == [] and logic.release(1.15) == [] and logic.settle(1.2) == ["repeat"]
    assert logic.press(1.4, call_open=True) == [] and logic.release(1.55) == [] and logic.settle(1.6) == ["repeat"]


def test_a_hold_with_chatter_at_hold_time_greets_once_it_is_clear():
    logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    logic.press(0.0, call_open=True)
    logic.release(2.999)
    assert logic.held(3.0) == []  # the contact is open: perhaps a release
    logic.press(3.001, call_open=True)
    assert logic.held(3.002) == ["greet"] and logic.release(4.0) == [] and logic.settle(4.05) == []


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 0.2)), max_size=40), st.booleans())
def test_any_edge_sequence_gives_at_most_one_action_per_accepted_press(edges, call_open):
    logic = PressLogic(hold_s=1.0, bounce_s=0.05)
    now, presses, actions = 0.0, 0, []
    for down, gap in edges:
        now += gap
        actions += logic.settle(now)  # the owner's timer, when it is due
        if down:
            before = logic.pressed
            actions += logic.press(now, call_open)
            presses += not before and logic.pressed
        else:
            actions += logic.release(now)
        actions += logic.held(now)
    actions += logic.settle(now + 1.0)
    assert len(actions) <= presses
    assert set(actions) <= ({"repeat", "greet"} if call_open else {"call"})


def test_light_patterns():
    assert light_for(None, 0, True) == OFF
    assert light_for("waiting", 1, True) == SLOW_BLINK
    assert light_for("waiting", 2, True) == SLOW_BLINK
    assert light_for("waiting", 3, True) == FAST_BLINK
    assert light_for("acknowledged", 3, True) == STEADY
    for status in ("greeted", "resolved", "cancelled", "unattended"):
        assert light_for(status, 3, True) == OFF
    assert light_for("waiting", 1, False) == OFFLINE
    names = {SLOW_BLINK, FAST_BLINK, OFFLINE}
    assert len({(x.on_s, x.off_s) for x in names}) == 3, "each blink must look different"


STATION = """
[store]
id = "s1"
name = "S"
[[devices]]
id = "b1"
kind = "button"
zone = "z"
{extra}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("led_pin = 27", "[[devices]] #1 button_pin: a station with an LED or buzzer needs its button"),
        ("button_pin = 40", "[[devices]] #1 button_pin: GPIO 40 is not on the header"),
        ("button_pin = 17\nled_pin = 17", "[[devices]] #1 led_pin: GPIO 17 is already used by b1 button_pin"),
        ("button_pin = 17\nrgb_led_pins = [1, 2]", "[[devices]] #1 rgb_led_pins: must list three GPIOs"),
        ("button_pin = 17\nled_pin = 5\nrgb_led_pins = [6, 13, 19]", "set either led_pin or rgb_led_pins"),
        ("button_pin = 17\n[buttons]\nhold_s = 0", "[buttons] hold_s: must be a positive number"),
        ('button_pin = 17\n[buttons]\npin_factory = "gpio"', "[buttons] pin_factory"),
    ],
)
def test_bad_station_wiring_names_the_key(extra, message):
    with pytest.raises(ConfigError) as err:
        parse_config(STATION.format(extra=extra))
    assert message in str(err.value)


def test_a_pin_is_used_once_per_pi_but_may_repeat_on_another_pi():
    two = STATION.format(extra='button_pin = 17\ngpio_host = "{a}"') + (
        '[[devices]]\nid = "b2"\nkind = "button"\nzone = "z"\nbutton_pin = 17\ngpio_host = "{b}"\n'
    )
    parse_config(two.replace("{a}", "pi-1").replace("{b}", "pi-2"))
    with pytest.raises(ConfigError, match=r"\[\[devices\]\] #2 button_pin: GPIO 17 is already used by b1"):
        parse_config(two.replace("{a}", "pi-1").replace("{b}", "pi-1"))
    cfg = parse_config(two.replace("{a}", "pi-1").replace("{b}", "pi-2"))
    assert [d.id for d in station_devices(cfg, host="pi-2")] == ["b2"]
    with pytest.raises(ConfigError, match="no station of kind 'button'"):
        station_devices(cfg, host="pi-3")


def test_example_config_parses_and_documents_every_key():
    text = (ROOT / "staffcall.example.toml").read_text()
    cfg = parse_config(text, "staffcall.example.toml")
    assert {d.kind for d in cfg.devices} == {"kiosk", "qr", "button"}
    sections = {name: getattr(config_module, t.__name__) for name, t in _section_types().items()}
    for section, struct in sections.items():
        assert f"[{section}]" in text or f"[[{section}]]" in text, f"section {section} missing from the example"
        for field in msgspec.structs.fields(struct):
            assert f"\n{field.name} =" in text or f"# {field.name} =" in text, f"[{section}] {field.name} undocumented"


def _section_types() -> dict[str, type]:
    out = {}
    for field in msgspec.structs.fields(config_module.Config):
        t = field.type
        args = getattr(t, "__args__", None)
        out[field.name] = args[0] if args else t
    return out
