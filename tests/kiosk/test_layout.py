"""Every screen fits every supported screen size: checked in the real app's widget tree, not by pixels.

One kiosk process per size (Kivy has one window per process), offline, put into each
situation with the same scenes ``staffcall kiosk-screens`` renders.  For each: the
id'd widgets lie inside the window, do not overlap each other, their text fits its
box, every text reaches WCAG contrast (4.5:1, large text 3:1) against the colour drawn
behind it (kiosk/contrast.py), and every button is at least 15 mm at the DPI the kiosk assumes for that size
(kiosk/layout.py: the Pi 7" display at 800x480, a 10.1" panel at 1280x800, a 15.6"
one at 1920x1080).
"""

from __future__ import annotations

import pytest

from tests.kiosk.harness import KioskProcess, Xvfb

SIZES = ["800x480", "1280x800", "1920x1080", "480x800", "800x1280", "1080x1920"]
EXPECTED_DPI = {"800x480": 132, "1280x800": 150, "1920x1080": 141}
SCENES = [
    "01-welcome",
    "02-welcome-sv",
    "04-waiting-acknowledged",
    "05-waiting-overdue",
    "06-waiting-nobody-on-shift",
    "07-waiting-offline",
    "08-staff-pin",
    "09-greeted",
    "10-feedback",
    "12-unattended",
]
MM15_AT = {dpi: 15 / 25.4 * dpi for dpi in EXPECTED_DPI.values()}


@pytest.fixture(scope="module")
def big_xvfb():
    x = Xvfb("1920x1920")
    yield x
    x.stop()


def overlap(a: list[float], b: list[float]) -> float:
    """The area two boxes [x, y, w, h] share."""
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0.0, dx) * max(0.0, dy)


def problems(layout: dict) -> list[str]:
    win_w, win_h = layout["window"]
    found = []
    widgets = layout["widgets"]
    for wid, w in widgets.items():
        x, y, bw, bh = w["box"]
        if x < -1 or y < -1 or x + bw > win_w + 1 or y + bh > win_h + 1:
            found.append(f"{wid} {w['box']} is outside the {win_w}x{win_h} window")
        if w.get("text_fits") is False:
            found.append(f"{wid}: text {w['text']!r} does not fit its {bw:.0f}x{bh:.0f} box")
        if w["button"] and min(bw, bh) < layout["touch_px"] - 0.5:
            found.append(f"{wid} is {bw:.0f}x{bh:.0f} px, under 15 mm ({layout['touch_px']:.0f} px)")
    for t in layout.get("contrast", []):
        if t["ratio"] < t["required"]:
            found.append(f"text {t['text']!r} at {t['font_px']:.0f} px is {t['ratio']}:1, under {t['required']}:1")
    names = sorted(wid for wid, w in widgets.items() if not w.get("container"))
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            wa, wb = widgets[a], widgets[b]
            if wa["where"] != wb["where"] or "pulse" in (a, b):  # the PIN pad covers the screen on purpose
                continue
            if overlap(wa["box"], wb["box"]) > 1:
                found.append(f"{a} {wa['box']} overlaps {b} {wb['box']}")
    return found


@pytest.mark.parametrize("size", SIZES)
def test_every_screen_fits(size, big_xvfb, kconfig_path, tmp_path):
    kiosk = KioskProcess(
        big_xvfb.display, kconfig_path, "kiosk-1", tmp_path / "outbox.db", tmp_path / "kivy", size, offline=True
    )
    try:
        w, h = map(int, size.split("x"))
        seen_screens = set()
        for scene in SCENES:
            kiosk.send(op="show", scene=scene)
            layout = kiosk.wait_layout(lambda lay, w=w, h=h: lay["window"] == [w, h])
            seen_screens.add(layout["screen"])
            landscape = f"{max(w, h)}x{min(w, h)}"
            assert layout["dpi"] == EXPECTED_DPI[landscape], layout["dpi_source"]
            assert layout["touch_px"] >= MM15_AT[EXPECTED_DPI[landscape]] - 0.01
            assert problems(layout) == [], f"{size} {scene}"
            if scene == "01-welcome":
                call = layout["widgets"]["call_button"]["box"]
                assert min(call[2], call[3]) >= layout["touch_px"] * 1.5, "the Call button is the biggest target"
                assert all(f"reason_{r}" in layout["widgets"] for r in ("product", "checkout"))
            if scene == "05-waiting-overdue":  # as the hub sends it at tier 3: late, everyone alerted, nobody named
                texts = [wd.get("text", "") for wd in layout["widgets"].values()]
                assert any("taking longer" in t for t in texts) and not any("Anna" in t for t in texts), texts
            if scene == "08-staff-pin":
                assert "key_ok" in layout["widgets"] and layout["widgets"]["key_ok"]["where"] == "pinpad"
        assert seen_screens == {"welcome", "waiting", "greeted", "feedback", "unattended"}
        # every screen is built now: none draws a see-through wide Line (stencil, GL memory; kiosk/widgets.py)
        assert kiosk.send(op="mem")["see_through_lines"] == []
    finally:
        kiosk.close()


def test_the_layout_check_can_fail():
    lay = {
        "window": [800, 480],
        "touch_px": 78,
        "widgets": {
            "a": {"where": "screen", "box": [0, 0, 100, 50], "button": True},
            "b": {"where": "screen", "box": [50, 10, 100, 100], "button": False, "text": "x", "text_fits": False},
            "c": {"where": "screen", "box": [790, 0, 100, 100], "button": False},
        },
        "contrast": [{"text": "Staff", "font_px": 15, "bold": False, "ratio": 3.95, "required": 4.5}],
    }
    found = problems(lay)
    assert any("under 15 mm" in p for p in found)
    assert any("overlaps" in p for p in found)
    assert any("does not fit" in p for p in found)
    assert any("outside" in p for p in found)
    assert any("3.95:1, under 4.5:1" in p for p in found)
