"""What every web page shares: the Jinja templates and static files inside the package.

They ship in the package, so ``pip install`` is the whole deployment (no bundler, no build step).

Example:

    >>> other_language("sv"), other_language("en")
    ('en', 'sv')
"""

from __future__ import annotations

from pathlib import Path

from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))


def other_language(lang: str) -> str:
    """The language a page's switch offers: the other of sv and en."""
    return next((code for code in ("en", "sv") if code != lang), "en")
