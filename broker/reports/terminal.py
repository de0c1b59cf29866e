"""Plain-text terminal output for ``staffcall report``: aligned columns, ANSI styles only on a terminal.

``staffcall report --today`` must answer within 0.1 s as a whole process (issue 16); ``rich``
alone takes most of that to import, so the report draws its few tables itself.

Example::

    >>> out = Out(width=80, color=False)
    >>> out.table("All calls", ["", "calls", "p90"], [["all", "12", "41s"]])
    >>> print("\\n".join(out.lines))
    All calls
          calls  p90
    ─────────────────
     all     12  41s
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

STYLES = {"bold": "1", "bold red": "1;31", "yellow": "33"}
"""The few styles the report uses, as ANSI SGR codes."""


def wants_color(stream=None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def terminal_width(stream=None) -> int:
    """The terminal's columns, or 120 when piped or redirected (do not squeeze a file to 80 columns)."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        import shutil

        return shutil.get_terminal_size((120, 24)).columns
    return 120


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class Out:
    """Lines of the report, styled only when ``color`` (a terminal), at most ``width`` columns wide."""

    def __init__(self, width: int = 120, color: bool = False) -> None:
        self.width = width
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, style: str) -> str:
        """``text`` in ``style`` on a terminal; as it is otherwise."""
        if not (self.color and style and text):
            return text
        return f"\x1b[{STYLES[style]}m{text}\x1b[0m"

    def line(self, text: str = "", style: str = "") -> None:
        self.lines.append(self.style(text, style))

    def table(self, title: str, heads: Sequence[str], rows: Sequence[Sequence[str]], first_max: int = 18) -> None:
        """A title, a header, a rule and the rows: the first column left-aligned (clipped), the others right."""
        rows = [[clip(r[0], first_max), *r[1:]] for r in rows]
        widths = [max(len(str(c)) for c in col) for col in zip(heads, *rows, strict=False)]

        def cells(row: Sequence[str]) -> str:
            first = f" {row[0]:<{widths[0]}}"
            return first + "".join(f"  {c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))

        header = cells(heads)
        self.line(title, "bold")
        self.line(header, "bold")
        self.line("─" * (len(header) + 1))
        for row in rows:
            self.line(cells(row))
