"""A kiosk killed mid-call comes back on the waiting screen of the same call."""

from __future__ import annotations

from tests.kiosk.conftest import on_shift
from tests.kiosk.harness import KioskProcess


def test_killed_kiosk_resumes_its_call(xvfb, khub, klistener, kconfig_path, tmp_path):
    on_shift(klistener, khub, "chloe")
    outbox = tmp_path / "outbox.db"
    first = KioskProcess(xvfb.display, kconfig_path, "kiosk-2", outbox, tmp_path / "kivy")
    first.wait_view(lambda v: v["connected"])
    first.tap("call_button")
    call_id = first.wait_text("We have asked Chloe to come")["call_id"]
    first.proc.kill()
    first.proc.wait()
    second = KioskProcess(xvfb.display, kconfig_path, "kiosk-2", outbox, tmp_path / "kivy")
    try:
        view = second.wait_text("We have asked Chloe to come")
        assert view["screen"] == "waiting" and view["call_id"] == call_id
        klistener.publish("staffcall/s1/staff/chloe/resolve", {"id": call_id})
        second.wait_view(lambda v: v["screen"] == "feedback")
    finally:
        second.close()
