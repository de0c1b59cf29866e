"""How the reports write seconds, shares and feedback faces: one place for the terminal table and the HTML page.

Example::

    >>> fmt_s(125), fmt_share(0.875), fmt_face(None, 0), fmt_signed_s(-20.4)
    ('2m05s', '88%', '—', '-20s')
"""

from __future__ import annotations


def fmt_s(seconds: float | None) -> str:
    """42s, 2m05s; an em dash when there is nothing to show."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f}s"
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s"


def fmt_signed_s(seconds: float | None) -> str:
    """+12s (later than promised), -20s (earlier), -2m05s; an em dash when there is nothing to show."""
    if seconds is None:
        return "—"
    return ("-" if seconds < 0 else "+") + fmt_s(abs(seconds))


def fmt_share(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def fmt_face(avg: float | None, n: int) -> str:
    return "—" if avg is None else f"{avg:.1f} ({n})"
