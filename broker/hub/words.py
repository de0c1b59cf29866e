"""The hub's catalog: the words of pages and wearable texts (``locales/{lang}.json`` here).

Loaded once by the shell in the store's language and handed to the pure core, which does no I/O.

Example::

    >>> from broker.contract.config import parse_config
    >>> page_words(parse_config('[store]\\nid = "s1"\\nname = "S"\\nlanguage = "en"\\n')).t("page.kind.next")
    'NEXT'
"""

from __future__ import annotations

from pathlib import Path

from broker.contract.clock import Clock
from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.core.dispatcher import Dispatcher

LOCALES = Path(__file__).parent / "locales"


def page_words(config: Config) -> Catalog:
    """The page catalog in ``[store] language`` (English for a language it does not have)."""
    return Catalog(LOCALES, config.store.language)


def new_core(config: Config, clock: Clock) -> Dispatcher:
    """The hub core as the shell makes it: with the page catalog of ``config``'s language."""
    return Dispatcher(config, clock, page_words(config))
