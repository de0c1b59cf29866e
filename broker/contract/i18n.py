"""Translation catalogs: one JSON file per language, so a third language is one file.

Every customer- and staff-facing text comes from a catalog (``locales/{lang}.json``
next to the app).  Missing keys fall back to English, then to the key itself, so a
half-finished translation never shows a blank button.

Example::

    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "en.json").write_text(json.dumps({"hello": "Hello {name}"}))
    >>> _ = (d / "sv.json").write_text(json.dumps({"hello": "Hej {name}"}))
    >>> Catalog(d, "sv").t("hello", name="Anna"), Catalog(d, "sv").languages()
    ('Hej Anna', ['en', 'sv'])
"""

from __future__ import annotations

import json
from pathlib import Path

FALLBACK = "en"


class Catalog:
    def __init__(self, folder: str | Path, lang: str, extra: str | Path | None = None) -> None:
        """``extra``: a folder (e.g. a store's own, next to its config) whose catalogs add languages or keys."""
        self.folder = Path(folder)
        self.folders = [self.folder] + ([Path(extra)] if extra is not None else [])
        self.lang = lang
        self._fallback = self._load(FALLBACK)
        self._texts = self._load(lang)

    def _load(self, lang: str) -> dict[str, str]:
        texts: dict[str, str] = {}
        for folder in self.folders:
            path = folder / f"{lang}.json"
            if path.exists():
                texts.update(json.loads(path.read_text(encoding="utf-8")))
        return texts

    def languages(self) -> list[str]:
        return sorted({p.stem for folder in self.folders for p in folder.glob("*.json")})

    def switch(self, lang: str) -> None:
        self.lang = lang
        self._texts = self._load(lang)

    def t(self, key: str, **values: object) -> str:
        text = self._texts.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text
