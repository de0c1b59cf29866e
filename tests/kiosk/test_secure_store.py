"""The kiosk on a store broker set up as ``staffcall broker init`` sets one up (logins, ACL).

A person taps the kiosk under Xvfb; the hub is the real one, or a stand-in that logs in as
the hub and sends only what docs/protocol.md requires of a state.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.hub.shell import Hub
from tests.kiosk.conftest import KIOSK_SECTION
from tests.kiosk.harness import KioskProcess
from tests.security.conftest import SecureStore, peer, start_secure_store

WAITED = re.compile(r"^Waiting (\d+):(\d\d)$")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SecureStore]:
    s = start_secure_store(tmp_path)
    # The kiosk process reads the file: an English kiosk with the usual kiosk settings.
    path = tmp_path / "staffcall.toml"
    text = path.read_text().replace("target_greet_s = 60\n", 'target_greet_s = 60\nlanguage = "en"\n', 1)
    path.write_text(text + KIOSK_SECTION)
    yield s
    s.broker.stop()


@pytest.fixture
def kiosk(xvfb, store: SecureStore, tmp_path: Path) -> Iterator[KioskProcess]:
    k = KioskProcess(
        xvfb.display,
        tmp_path / "staffcall.toml",
        "kiosk-1",
        tmp_path / "outbox.db",
        tmp_path / "kivy",
        record_sounds=True,
    )
    try:
        k.wait_view(lambda v: v["connected"], timeout=20)
        yield k
    finally:
        k.close()


def waited_s(view: dict) -> int | None:
    """The waiting time the customer reads, in seconds (None when the screen shows none)."""
    for text in view["texts"]:
        m = WAITED.match(text)
        if m:
            return int(m.group(1)) * 60 + int(m.group(2))
    return None


def test_waiting_time_never_goes_back_when_the_hub_hears_of_the_call_late(kiosk, store):
    """Pressed while the hub is down: the hub's first state counts 0 s, the kiosk has counted more."""
    anna = peer(store.cfg, "staff:anna")
    anna.publish("staffcall/s1/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)
    anna.close()
    kiosk.tap("call_button")
    kiosk.wait_view(lambda v: v["screen"] == "waiting" and (waited_s(v) or 0) >= 4, timeout=30)
    seen: list[int] = []
    hub = Hub(store.cfg)
    hub.start()
    try:
        assert hub.ready.wait(20), "the hub could not log in to the secured broker"
        # Sample what the screen says across the hub's first state, and a little beyond.
        deadline = time.monotonic() + 40
        arrived_at = None
        while time.monotonic() < deadline:
            view = kiosk.view()
            if waited_s(view) is not None:
                seen.append(waited_s(view))
            if arrived_at is None and any("We have asked Anna" in t for t in view["texts"]):
                arrived_at = time.monotonic()
            if arrived_at is not None and time.monotonic() > arrived_at + 2.5:
                break
            time.sleep(0.05)
        assert arrived_at is not None, f"the hub's state never reached the kiosk; last texts: {view['texts']}"
    finally:
        hub.stop()
    assert seen and seen[0] >= 4, seen
    assert seen == sorted(seen), f"the waiting time went backwards: {seen}"


def test_sound_cues_when_the_call_is_sent_and_once_when_a_colleague_is_on_the_way(kiosk, store):
    anna = peer(store.cfg, "staff:anna", subscribe=["staffcall/s1/page/anna"])
    anna.publish("staffcall/s1/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)
    hub = Hub(store.cfg)
    hub.start()
    try:
        assert hub.ready.wait(20), "the hub could not log in to the secured broker"

        def played() -> list[str]:
            return kiosk.send(op="sounds")["played"]

        assert played() == []
        kiosk.tap("call_button")
        call_id = kiosk.wait_view(lambda v: v["screen"] == "waiting" and v["call_id"], timeout=20)["call_id"]
        assert played() == ["sent"]
        anna.wait_for(lambda t, _p: t == "staffcall/s1/page/anna", timeout=20)
        kiosk.wait_text("We have asked Anna (Summer substitute) to come", timeout=20)
        assert played() == ["sent"], "a page to a colleague is not yet 'on the way'"
        anna.publish("staffcall/s1/staff/anna/ack", json.dumps({"id": call_id}))
        kiosk.wait_text("Anna (Summer substitute) is on the way", timeout=20)
        assert played() == ["sent", "coming"]
        anna.publish("staffcall/s1/staff/anna/ack", json.dumps({"id": call_id}))  # the same news again
        assert hub.settle()
        kiosk.tap("cancel_button")
        kiosk.wait_text("Your call is cancelled", timeout=20)
        assert played() == ["sent", "coming"]
    finally:
        anna.close()
        hub.stop()


MINIMAL = ("id", "device", "zone", "status", "tier", "opened_at", "updated_at")


def test_the_smallest_valid_state_is_shown(kiosk, store):
    """A hub that sends only the required fields (docs/protocol.md): every screen shows it as "not known"."""
    hub = peer(store.cfg, "hub", subscribe=["staffcall/s1/call/+"])
    try:
        kiosk.tap("call_button")
        topic, payload = hub.wait_for(lambda t, _p: t == "staffcall/s1/call/kiosk-1", timeout=20)
        call_id = json.loads(payload)["id"]

        def send(status: str, tier: int = 1) -> None:
            state = {
                "id": call_id,
                "device": "kiosk-1",
                "zone": "electronics",
                "status": status,
                "tier": tier,
                "opened_at": "2026-11-25T09:30:00.211Z",
                "updated_at": "2026-11-25T09:30:05.000Z",
            }
            assert tuple(state) == MINIMAL
            hub.publish(f"staffcall/s1/state/{call_id}", json.dumps(state))

        send("waiting", tier=3)
        view = kiosk.wait_text("All colleagues on shift have been alerted.", timeout=15)
        assert "We are finding a colleague for you" in view["texts"] and waited_s(view) is not None
        send("greeted", tier=3)
        kiosk.wait_view(lambda v: v["screen"] == "greeted", timeout=15)
        kiosk.wait_text("A colleague is here to help you")
        send("resolved", tier=3)
        kiosk.wait_view(lambda v: v["screen"] == "feedback", timeout=15)
    finally:
        hub.close()
