"""Physical sizes on the kiosk's screen: touch targets of at least 15 mm, whatever the resolution.

Kivy's ``mm()`` trusts the DPI the video driver reports, and SDL reports 96 under X11 and
often under KMS/DRM too, whatever the panel: on the Pi's 7" display (132 dpi) a
"15 mm" button would be 11 mm.  So the kiosk assumes the density of the densest usual
panel at the window's resolution (or takes ``[kiosk] dpi`` from the config).

Example::

    >>> assumed_dpi((480, 800), None)
    (132.0, 'Raspberry Pi Touch Display 7" (154 x 86 mm)')
    >>> round(touch_px(132.0))
    78
"""

from __future__ import annotations

MIN_TOUCH_MM = 15.0
DEFAULT_DPI = 160.0
"""An unknown resolution: denser than every panel below, so targets err on the large side."""
KNOWN_PANELS: dict[tuple[int, int], tuple[float, str]] = {
    (800, 480): (132.0, 'Raspberry Pi Touch Display 7" (154 x 86 mm)'),
    (1280, 800): (150.0, '10.1" tablet panel (217 x 136 mm)'),
    (1920, 1080): (141.0, '15.6" touch monitor (344 x 194 mm)'),
}
"""Landscape resolution -> (dots per inch, the panel assumed); a portrait window is the same panel turned."""


def assumed_dpi(size: tuple[int, int], configured: float | None) -> tuple[float, str]:
    """The DPI to size touch targets by, and where it comes from."""
    if configured is not None:
        return float(configured), "[kiosk] dpi"
    w, h = size
    return KNOWN_PANELS.get((max(w, h), min(w, h)), (DEFAULT_DPI, "unknown panel, assumed dense"))


def touch_px(dpi: float, mm: float = MIN_TOUCH_MM) -> float:
    """Pixels for ``mm`` millimetres at ``dpi``."""
    return mm / 25.4 * dpi
