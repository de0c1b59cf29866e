"""What every radio-pager driver shares: its errors and how a page's text is fitted.

Drivers (``hardware.espa``, ``hardware.tap``) raise ``TransmitterRefused`` when the
transmitter answered "no", ``TransmitterTimeout`` when it did not answer, and let
the port's own errors (``hardware.serialport.PORT_ERRORS``) through when it failed,
so the gateway can tell "this page failed" from "the adapter was unplugged".

Example::

    >>> fit_text("Kassa 2: Kund väntar – åäö ÅÄÖ ß", 24)
    'Kassa 2: Kund vantar - a'
"""

from __future__ import annotations

import unicodedata

_REPLACE = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
    }
)


class PageFailed(Exception):
    """The transmitter did not take the page; the text says why, briefly (it goes to the hub)."""


class TransmitterRefused(PageFailed):
    """The transmitter answered but refused (NAK after every retry, RS, ESC EOT)."""


class TransmitterTimeout(PageFailed):
    """The transmitter did not answer within the timeout, after every retry."""


def fit_text(text: str, limit: int) -> str:
    """Fold to printable 7-bit ASCII (what ESPA and TAP carry) and cut to ``limit`` characters.

    Classic pagers show ASCII only; "Kund väntar" reads fine as "Kund vantar", whereas
    national ISO 646 variants differ per transmitter, so we do not guess one.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_REPLACE))
    ascii_text = "".join(c for c in folded if 0x20 <= ord(c) < 0x7F or c in "\n\t")
    one_line = " ".join(ascii_text.split())
    return one_line[:limit].rstrip() if len(one_line) > limit else one_line
