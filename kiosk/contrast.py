"""Text contrast as WCAG 2.x defines it, for the layout test and anyone checking a new colour.

Pure functions over RGB(A) tuples in 0..1, as Kivy holds colours.  A kiosk stands under shop
lights and is read from a step away, so every text must reach 4.5:1 (3:1 when large: at
least 24 px, or 18.66 px bold).

Example::

    >>> round(ratio((1, 1, 1), (0, 0, 0)), 1)
    21.0
    >>> over((1, 1, 1, 0.5), (0, 0, 0))
    (0.5, 0.5, 0.5)
    >>> required(15, bold=False), required(24, bold=False)
    (4.5, 3.0)
"""

from __future__ import annotations

from collections.abc import Sequence

NORMAL = 4.5
LARGE = 3.0


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: Sequence[float]) -> float:
    """Relative luminance of an sRGB colour (WCAG 2.x)."""
    r, g, b = (_channel(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(fg: Sequence[float], bg: Sequence[float]) -> float:
    """Contrast ratio, 1 (none) to 21 (black on white), symmetric."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def over(rgba: Sequence[float], backdrop: Sequence[float]) -> tuple[float, float, float]:
    """``rgba`` painted over an opaque ``backdrop``: the colour the eye gets."""
    alpha = float(rgba[3]) if len(rgba) > 3 else 1.0
    return tuple(float(b) + (float(c) - float(b)) * alpha for c, b in zip(rgba[:3], backdrop[:3], strict=True))  # type: ignore[return-value]


def is_large(font_px: float, bold: bool) -> bool:
    """Large text by WCAG's definition (18 pt, or 14 pt bold), with 1 pt = 4/3 px."""
    return font_px >= 24 or (bold and font_px >= 18.66)


def required(font_px: float, bold: bool) -> float:
    """The least contrast this text needs."""
    return LARGE if is_large(font_px, bold) else NORMAL
