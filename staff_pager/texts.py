"""Words for what the pager shows, shared by the Kivy app and the terminal pager."""

from __future__ import annotations

from pathlib import Path

from broker.callpoint.pager import CallRow, mmss
from broker.contract.i18n import Catalog

LOCALES = Path(__file__).parent / "locales"
KIOSK_LOCALES = Path(__file__).parent.parent / "kiosk" / "locales"
"""The customers' words for the reasons (``reason.product``): staff see what the customer tapped."""


class PagerCatalog(Catalog):
    """The pager's texts; reason keys also come from the kiosk's catalogs, so a reason is named once."""

    def __init__(self, lang: str) -> None:
        super().__init__(LOCALES, lang)
        self.reasons = Catalog(KIOSK_LOCALES, lang)

    def switch(self, lang: str) -> None:
        super().switch(lang)
        self.reasons.switch(lang)

    def reason(self, key: str) -> str:
        """``product`` -> "Help finding a product"; an unknown key is shown as it is."""
        name = f"reason.{key}"
        for cat in (self, self.reasons):
            text = cat.t(name)
            if text != name:
                return text
        return key


def catalog(lang: str) -> PagerCatalog:
    return PagerCatalog(lang)


def headline(cat: Catalog, kind: str) -> str:
    key = f"kind_{kind}"
    text = cat.t(key)
    return text if text != key else cat.t("kind_call")


def status_line(cat: Catalog, row: CallRow) -> str:
    name = row.staff_name or row.staff or ""
    if row.status == "waiting":
        return cat.t("status_waiting_for", name=name) if name else cat.t("status_waiting")
    if row.status == "acknowledged":
        return cat.t("status_acknowledged", name=name)
    if row.status == "greeted":
        return cat.t("status_greeted", name=name)
    return row.status


def reason_text(cat: Catalog, reason: str | None) -> str:
    if not reason:
        return cat.t("no_reason")
    name = cat.reason(reason) if isinstance(cat, PagerCatalog) else reason
    return cat.t("reason", reason=name)


def shift_lines(cat: Catalog, figures: dict | None, target_s: float) -> list[str]:
    """ "My shift" as lines of text: recognition, not surveillance."""
    if not figures:
        return [cat.t("shift_none")]
    median = figures.get("median_greet_s")
    lines = [
        cat.t("shift_calls", n=figures.get("calls", 0)),
        cat.t(
            "shift_greeted",
            target=mmss(int(target_s)),
            n=figures.get("greeted_within_target", 0),
            total=figures.get("greeted", 0),
        ),
        cat.t("shift_median", time=mmss(int(median)) if median is not None else "-"),
    ]
    faces = figures.get("faces") or {}
    if any(faces.values()):
        lines.append(f"{cat.t('shift_faces')}: " + "  ".join(f"{FACES[k]} {faces.get(k, 0)}" for k in "4321"))
    if figures.get("feedback_avg") is not None:
        lines.append(cat.t("shift_feedback", avg=figures["feedback_avg"]))
    return lines


FACES = {"4": ":D", "3": ":)", "2": ":/", "1": ":("}
"""Plain-text faces: they render in every font, from a terminal to a Pi's framebuffer."""
