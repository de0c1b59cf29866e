"""What a customer's phone shows for a QR call: the kiosk's own sentences, as JSON.

``customer_view`` is pure: it turns a ``CallProgress`` (``broker/callpoint/progress.py``, the
kiosk's waiting-screen logic) and a translation function into the screen the phone
shows, so the QR page says exactly what the kiosk says, with the same catalogs.

Example::

    >>> from broker.callpoint.progress import CallProgress
    >>> t = texts("en")
    >>> customer_view(None, now=0.0, connected=True, t=t, mine=False, feedback_given=False)["screen"]
    'welcome'
    >>> customer_view(CallProgress("c1", pressed_mono=0.0), now=5.0, connected=True, t=t, mine=True,
    ...               feedback_given=False)["who"]
    'We are finding a colleague for you'
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from broker.callpoint.progress import CallProgress, Translate, describe, person

KIOSK_LOCALES = Path(__file__).resolve().parents[2] / "kiosk" / "locales"
PHONE_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The kiosk's texts plus the phone-only ones; English fills any gap (as ``broker.contract.i18n.Catalog``)."""
    merged: dict[str, str] = {}
    for folder in (KIOSK_LOCALES, PHONE_LOCALES):
        for code in ("en", lang):
            path = folder / f"{code}.json"
            if path.exists():
                merged.update({k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if v})
    return merged


def languages() -> list[str]:
    return sorted(p.stem for p in KIOSK_LOCALES.glob("*.json"))


def texts(lang: str) -> Translate:
    table = catalog(lang if lang in languages() else "en")

    def t(key: str, **values: object) -> str:
        text = table.get(key, key)
        return text.format(**values) if values else text

    return t


def pick_language(asked: str | None, accept: str, default: str) -> str:
    """``?lang=`` first, then the phone's Accept-Language, then the store's language."""
    langs = languages()
    if asked in langs:
        return asked
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in langs:
            return code
    return default if default in langs else "en"


def customer_view(
    progress: CallProgress | None,
    now: float,
    connected: bool,
    t: Translate,
    mine: bool,
    feedback_given: bool,
    nobody_text: str = "",
) -> dict[str, Any]:
    """The phone's screen at ``now`` (monotonic): ``welcome``, ``waiting``, ``greeted``, ``feedback``, ``thanks``,
    ``cancelled`` or ``unattended``, with its lines already translated.

    Only the phone that made the call (``mine``) may cancel it and sees the faces, once.
    """
    if progress is None:
        return {"screen": "welcome"}
    state = progress.state
    base: dict[str, Any] = {"call": progress.call_id, "mine": mine}
    status = state.status if state else "waiting"
    if status in ("waiting", "acknowledged"):
        v = describe(progress, now, connected, t, nobody_text)
        return {
            **base,
            "screen": "waiting",
            "coming": status == "acknowledged",  # the phone chimes once when it turns true
            "headline": v.headline,
            "who": v.who,
            "eta": v.eta,
            "note": v.note if mine else f"{t('someone_called')} {v.note}".strip(),
            "elapsed": v.elapsed,
            "overdue": v.overdue,
            "can_cancel": mine,
        }
    if status == "greeted":
        name = person(state, t)
        who = t("greeted", name=state.staff_name) if name else t("greeted_anon")
        return {**base, "screen": "greeted", "headline": who, "detail": t("greeted_hint")}
    if status == "resolved" and mine and not feedback_given:
        return {**base, "screen": "feedback", "headline": t("feedback_title")}
    if status == "resolved":
        return {**base, "screen": "thanks", "headline": t("thanks"), "detail": t("thanks_detail")}
    if status == "cancelled":
        return {**base, "screen": "cancelled", "headline": t("cancelled"), "detail": t("cancelled_detail")}
    return {**base, "screen": "unattended", "headline": t("unattended"), "detail": t("unattended_detail")}
