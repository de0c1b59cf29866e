"""The store report's words: the ``report.*`` texts of the hub's sv/en catalogs.

The terminal table and the HTML page read them in ``--lang`` or the store's ``[store] language``;
the JSON and CSV keep their English field names (they are data, read by programs).  Only the
catalog module is imported (json and pathlib): the day report's 0.1 s start-up holds.

Example::

    >>> w = report_words("sv")
    >>> period_text("week 2026-W10", w), day_name(5, w)
    ('vecka 2026-W10', 'lör')
    >>> period_text("2026-03-01 to 2026-03-31", report_words("en"))
    '2026-03-01 to 2026-03-31'
"""

from __future__ import annotations

from pathlib import Path

from broker.contract.i18n import Catalog

LOCALES = Path(__file__).resolve().parents[1] / "hub" / "locales"
"""The hub's catalog folder (``broker.hub.words.LOCALES``, without importing the hub's config)."""
PERIOD_KINDS = {"today": "date", "yesterday": "date", "week": "week", "month": "month"}


def report_words(lang: str) -> Catalog:
    return Catalog(LOCALES, lang)


def period_text(label: str, w: Catalog) -> str:
    """A period's label (``broker.reports.metrics.period``: "week 2026-W10", "A to B") in ``w``'s language."""
    kind, _, rest = label.partition(" ")
    if kind in PERIOD_KINDS and rest:
        return w.t(f"report.period.{kind}", **{PERIOD_KINDS[kind]: rest})
    first, sep, last = label.partition(" to ")
    return w.t("report.period.range", first=first, last=last) if sep else label


def day_name(weekday: int, w: Catalog) -> str:
    """0 = Monday."""
    return w.t(f"report.day.{weekday}")


def group_key(by: str | None, key: str, w: Catalog) -> str:
    """A ``--by`` group's label as shown: weekdays in the report's language, other keys as they are."""
    if by == "weekday":
        from broker.reports.metrics import WEEKDAYS

        if key in WEEKDAYS:
            return day_name(WEEKDAYS.index(key), w)
    return key
