"""The chain pages' words: the ``chain_*`` texts of the web server's sv/en catalogs.

The chain report's HTML and the chain board read the same catalog files as the store's pages
(``broker/web/locales``), so a translator finds every page's words in one place.

Example::

    >>> texts("sv")["chain_board_offline"], texts("en")["chain_board_offline"]
    ('Offline', 'Offline')
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

LANGUAGES = ("en", "sv")


@cache
def texts(lang: str) -> dict[str, str]:
    """The ``chain_*`` texts in ``lang`` (English fills any gap)."""
    folder = files("broker.web") / "locales"
    merged: dict[str, str] = {}
    for code in ("en", lang if lang in LANGUAGES else "en"):
        data = json.loads((folder / f"{code}.json").read_text(encoding="utf-8"))
        merged.update({k: v for k, v in data.items() if k.startswith("chain_") and v})
    return merged
