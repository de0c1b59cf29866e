"""The staffing advice as a weekday x hour grid per zone: what the HTML report and the board's page draw.

A cell says the gap (colleagues needed less those on shift) as a sign and a number, so it reads without
colour too: ``+1`` short of one, ``−1`` one to spare, ``·`` as many as needed, ``?`` too few calls to say,
``!`` more people alone would not keep the promise.  Its label (a tooltip and what a screen reader says)
is the whole sentence.  Colour only repeats the sign.  Words come from the hub's catalog.

Example::

    >>> from broker.core.staffing import Advice
    >>> from broker.contract.i18n import Catalog
    >>> from broker.hub.words import LOCALES
    >>> a = Advice("paint", 5, 10, 40, 4.0, 200.0, 0.1, 1.0, 0.71, 2, 2, 0.9)
    >>> g = staffing_grid([a], Catalog(LOCALES, "en"))
    >>> cell = g["zones"][0]["rows"][0]["cells"][0]
    >>> cell["text"], cell["kind"], cell["label"]
    ('+1', 'need', 'Sat 10-11, paint: 2 needed, 1 on shift')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from broker.core.staffing import Advice

MINUS = "\u2212"


def cell(a: Advice | None, words: Any) -> dict[str, str]:
    """One cell: ``text`` (sign and number), ``kind`` (need, spare, ok, thin, short, none) and ``label``."""
    if a is None:
        return {"text": "", "kind": "none", "label": ""}
    where = words.t(
        "staffing.where",
        day=words.t(f"staffing.day.{a.weekday}"),
        start=f"{a.hour:02d}",
        end=f"{a.hour + 1:02d}",
        zone=a.zone,
    )
    if a.needed is None:
        return {"text": "?", "kind": "thin", "label": f"{where}: {words.t('staffing.grid.thin')} ({a.calls})"}
    detail = words.t("staffing.grid.cell", needed=a.needed, on_shift=f"{a.on_shift:g}")
    if a.short:
        return {"text": "!", "kind": "short", "label": f"{where}: {detail}; {words.t('staffing.grid.short')}"}
    gap = round(a.gap or 0.0)
    if gap > 0:
        return {"text": f"+{gap}", "kind": "need", "label": f"{where}: {detail}"}
    if gap < 0:
        return {"text": f"{MINUS}{-gap}", "kind": "spare", "label": f"{where}: {detail}"}
    return {"text": "·", "kind": "ok", "label": f"{where}: {detail}"}


def staffing_grid(rows: Sequence[Advice], words: Any, zone_name: Callable[[str], str] = lambda z: z) -> dict[str, Any]:
    """Per zone, a row per weekday with calls and a cell per opening hour; words for the legend."""
    hours = sorted({a.hour for a in rows})
    span = list(range(hours[0], hours[-1] + 1)) if hours else []
    zones = []
    for zone in sorted({a.zone for a in rows}):
        mine = {(a.weekday, a.hour): a for a in rows if a.zone == zone}
        days = sorted({wd for wd, _ in mine})
        zones.append(
            {
                "id": zone,
                "name": zone_name(zone),
                "rows": [
                    {"day": words.t(f"staffing.day.{wd}"), "cells": [cell(mine.get((wd, h)), words) for h in span]}
                    for wd in days
                ],
            }
        )
    return {
        "hours": [f"{h:02d}" for h in span],
        "zones": zones,
        "title": words.t("staffing.grid.title"),
        "hint": words.t("staffing.grid.hint"),
        "none": words.t("staffing.grid.none"),
        "hour": words.t("staffing.grid.hour"),
    }
