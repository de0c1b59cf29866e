"""The kiosk must not grow per call: a store's kiosk runs for weeks between restarts.

Drives whole calls (Call -> Waiting -> Cancel -> "cancelled" -> Welcome) through the real
app under Xvfb and compares RSS after a warm-up (the first calls build the rest of the
screens and the GL driver's shaders once) with RSS after 30 more.  Before the fix the
shader fade kept ~5.5 MB per call (165 MB of growth over 30 calls); now it is ~0.
The figures themselves are bench/kiosk.py's job; this only guards against a leak.
"""

from __future__ import annotations

from tests.kiosk.harness import KioskProcess

WARMUP_CALLS = 8
CALLS = 30
MAX_GROWTH_MB = 4.0  # ~130 kB per call; the shader-fade leak was 5.5 MB per call


def whole_call(kiosk: KioskProcess) -> None:
    kiosk.tap("call_button")
    kiosk.wait_view(lambda v: v["screen"] == "waiting" and v["call_id"])
    kiosk.tap("cancel_button")
    kiosk.wait_view(lambda v: v["screen"] == "cancelled")
    kiosk.send(op="reset")  # what the "cancelled" screen's timeout does, without waiting thanks_s
    kiosk.wait_view(lambda v: v["screen"] == "welcome" and not v["transition"])


def test_thirty_calls_do_not_grow_the_kiosk(kiosk):
    for _ in range(WARMUP_CALLS):
        whole_call(kiosk)
    before = kiosk.send(op="mem")
    for _ in range(CALLS):
        whole_call(kiosk)
    after = kiosk.send(op="mem")
    growth = after["rss_mb"] - before["rss_mb"]
    assert after["widgets"] == before["widgets"], (before, after)
    assert after["fbos"] == 0, after
    assert growth < MAX_GROWTH_MB, f"RSS grew {growth:.1f} MB over {CALLS} calls ({before} -> {after})"
