"""The words of a page: the staff apps' line and the wearables' 32 characters, from a catalog.

The core does no I/O: the shell loads the catalog (``broker.hub.words``) in the store's
language and the dispatcher hands it to these functions.  A catalog key that is missing
comes back as the key itself (``broker.contract.i18n``), which is how an optional word
(a kind without a mark) is told from an empty one.

Wearable text, in the order a glance needs it: the place, the reason's short form, then
the kind's mark and the tier's, never cut inside a word.  It is ASCII: the fonts of small
microcontroller displays (Adafruit GFX, u8g2's default) have no å/ä/ö, and 32 ASCII
characters are 32 bytes, so a wearable's ``char text[33]`` can never overflow.

Example::

    >>> class T:
    ...     texts = {"reason_short.pickup": "hämtning", "wear.tier.2": "!!"}
    ...     def t(self, key, **values): return self.texts.get(key, key).format(**values)
    >>> wear_text(T(), place="Trädgårdsutgången", reason="pickup", kind="next", tier=2)
    'Tradgardsutgangen: hamtning !!'
"""

from __future__ import annotations

import unicodedata
from typing import Protocol

WEAR_CHARS = 32
"""A wearable's text is at most this long (docs/wearables.md)."""


class Texts(Protocol):
    """What the core needs of a catalog (``broker.contract.i18n.Catalog`` is one)."""

    def t(self, key: str, **values: object) -> str: ...


def optional(texts: Texts, key: str) -> str:
    """The catalog's text for ``key``, or "" when the catalog has none."""
    text = texts.t(key)
    return "" if text == key else text


def reason_text(texts: Texts, reason: str | None, short: bool = False) -> str:
    """A reason key in words (``pickup`` -> "picking up an order"); an unknown key is shown as it came."""
    prefix = "reason_short." if short else "reason."
    return optional(texts, prefix + (reason or "none")) or (reason or "")


def page_text(texts: Texts, *, place: str, zone: str, reason: str | None, kind: str, waited_s: int) -> str:
    """The page's ready-made line: "NEXT: Kiosk by the TVs (Electronics): checkout, 1:05"."""
    waited = f"{waited_s // 60}:{waited_s % 60:02d}"
    text = texts.t("page.text", place=place, zone=zone, reason=reason_text(texts, reason), waited=waited)
    mark = optional(texts, f"page.kind.{kind}")
    return texts.t("page.with_kind", kind=mark, text=text) if mark else text


def wear_text(texts: Texts, *, place: str, reason: str | None, kind: str, tier: int, device: str = "") -> str:
    """At most 32 ASCII characters: place, the reason's short form, kind and tier marks; whole words only.

    The marks always stay; the reason goes whole or not at all; the place loses its last words
    before it would be cut, and only a single word longer than the whole display is shortened.
    """
    tail = " ".join(w for w in (ascii_text(optional(texts, f"wear.kind.{kind}")), _tier_mark(texts, tier)) if w)
    room = WEAR_CHARS - (len(tail) + 1 if tail else 0)
    # a label with no Latin letters (all dropped) is named by its device id, which is ASCII
    head = _whole_words((ascii_text(place) or ascii_text(device) or "?").split(), room)
    short = ascii_text(reason_text(texts, reason, short=True))
    if short and len(head) + 2 + len(short) <= room:
        head = f"{head}: {short}"
    return f"{head} {tail}" if tail else head


def _tier_mark(texts: Texts, tier: int) -> str:
    return ascii_text(optional(texts, f"wear.tier.{min(max(tier, 1), 3)}"))


def _whole_words(words: list[str], room: int) -> str:
    """As many leading words as fit in ``room``; a first word longer than ``room`` is the one thing cut."""
    if not words:
        return ""
    out = words[0][:room]
    for word in words[1:]:
        if len(out) + 1 + len(word) > room:
            break
        out = f"{out} {word}"
    return out


_UNACCENTED = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"}
)
"""Letters that are not an ASCII letter plus an accent, so NFKD alone would drop them."""


def ascii_text(text: str) -> str:
    """Letters without their accents (å -> a, ø -> o), other non-ASCII dropped, spaces collapsed."""
    plain = unicodedata.normalize("NFKD", text.translate(_UNACCENTED)).encode("ascii", "ignore").decode("ascii")
    return " ".join("".join(c if c.isprintable() else " " for c in plain).split())


def alert_wear_text(text: str) -> str:
    """A hub alert's line for a wearable: its first whole words that fit, in ASCII."""
    return _whole_words(ascii_text(text).split(), WEAR_CHARS)
