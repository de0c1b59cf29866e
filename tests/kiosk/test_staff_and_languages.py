"""The staff long press (no staff_pin) against a real hub, and a third language from one file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from broker.hub.shell import Hub
from tests.kiosk.conftest import on_shift
from tests.kiosk.harness import KioskProcess
from tests.kiosk.test_app import CALL_TOPIC, tap_call

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
LOCALES = KIOSK / "locales"


@pytest.fixture(scope="module")
def hold_config(kconfig_path: Path) -> Path:
    """The module's store, without a staff PIN (so staff long-press) and with a store catalog folder."""
    text = kconfig_path.read_text().replace('staff_pin = "4711"\n', 'long_press_s = 0.6\nlocales_dir = "texts"\n')
    path = kconfig_path.with_name("hold.toml")
    path.write_text(text)
    (path.parent / "texts").mkdir(exist_ok=True)
    de = {**json.loads((LOCALES / "en.json").read_text()), "language_name": "Deutsch", "call_staff": "Personal rufen"}
    (path.parent / "texts" / "de.json").write_text(json.dumps(de))
    return path


@pytest.fixture(scope="module")
def hold_kiosk(xvfb, khub: Hub, hold_config: Path, tmp_path_factory):
    d = tmp_path_factory.mktemp("kiosk-hold")
    k = KioskProcess(xvfb.display, hold_config, "kiosk-1", d / "outbox.db", d / "kivy")
    k.wait_view(lambda v: v["connected"])
    yield k
    k.close()


def test_long_press_greets_through_the_hub_and_a_tap_does_not(hold_kiosk, klistener, khub):
    on_shift(klistener, khub, "anna", off=("ben", "chloe", "maria"))
    hold_kiosk.send(op="reset")
    call_id, _ = tap_call(hold_kiosk, klistener)
    klistener.state(call_id, "waiting")
    assert any(t == "Staff: hold to confirm" for t in hold_kiosk.view()["texts"])

    start = len(klistener.messages)
    hold_kiosk.send(op="hold", id="staff_button", s=0.2)  # released well before long_press_s
    assert hold_kiosk.view()["screen"] == "waiting" and not hold_kiosk.view()["pinpad"]
    assert khub.settle()
    assert not [m for m in klistener.messages[start:] if m.topic == CALL_TOPIC + "/greet"]

    hold_kiosk.send(op="hold", id="staff_button")  # held past long_press_s
    greet = klistener.wait_for(lambda m: m.topic == CALL_TOPIC + "/greet", start=start)
    assert greet.json["id"] == call_id
    klistener.state(call_id, "greeted")  # the hub's own retained state says so
    hold_kiosk.wait_view(lambda v: v["screen"] == "greeted")
    klistener.publish("staffcall/s1/staff/anna/resolve", {"id": call_id})
    klistener.state(call_id, "resolved")


def test_a_third_language_is_one_file(hold_kiosk):
    """de.json in the store's locales_dir: offered by the language button, and the screen speaks it."""
    hold_kiosk.send(op="reset")
    hold_kiosk.wait_view(lambda v: v["screen"] == "welcome")
    seen = []
    for _ in range(3):  # de, en, sv in the catalogs' order, starting from en
        view = hold_kiosk.view()
        seen.append(view["lang"])
        hold_kiosk.tap("lang_button")
        hold_kiosk.wait_view(lambda v, was=view["lang"]: v["lang"] != was)
    assert sorted(seen) == ["de", "en", "sv"]
    while hold_kiosk.view()["lang"] != "de":
        hold_kiosk.tap("lang_button")
    hold_kiosk.wait_text("Personal rufen")
    hold_kiosk.send(op="reset")
    hold_kiosk.wait_text("Call staff")


TEXT_PROPS = re.compile(r"^\s*(text|title)\s*:\s*(.+)$", re.M)


def test_customer_texts_come_from_the_catalogs():
    """No hard-coded words in the kiosk's .kv files: every text is app.tr(...), a digit, or built from data."""
    allowed = re.compile(r'^(app\.tr\(.*|root\..*|app\.next_language_name\(.*|"\d")$')
    bad = []
    for kv in sorted(KIOSK.rglob("*.kv")):
        for m in TEXT_PROPS.finditer(kv.read_text()):
            if not allowed.match(m.group(2).strip()):
                bad.append(f"{kv.name}: {m.group(0).strip()}")
    assert bad == []


def test_catalogs_have_the_same_keys():
    keys = {p.stem: set(json.loads(p.read_text())) for p in LOCALES.glob("*.json")}
    assert keys["en"] == keys["sv"]
