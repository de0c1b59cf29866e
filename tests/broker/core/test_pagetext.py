"""The words of a page and of its 32-character wearable text, from the hub's sv/en catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker.contract.clock import FakeClock
from broker.contract.config import load_config
from broker.contract.i18n import Catalog
from broker.contract.protocol import CallMsg
from broker.core.commands import Page, PresenceChanged, Pressed
from broker.core.pagetext import WEAR_CHARS, alert_wear_text, ascii_text, page_text, wear_text
from broker.hub.words import LOCALES, new_core
from tests.conftest import store_config

EXAMPLE = load_config(Path(__file__).resolve().parents[3] / "staffcall.example.toml")
KINDS = ["call", "next", "escalation", "repage", "repeat", "unattended", "nobody_on_shift"]
TIER_OF = {"next": 2, "escalation": 3, "unattended": 3, "nobody_on_shift": 3}
REASONS = [*EXAMPLE.kiosk.reasons, None, "a reason no catalog knows"]
PLACES = [d.label or d.id for d in EXAMPLE.devices]
LANGS = ["sv", "en"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("place", PLACES)
def test_wear_text_fits_keeps_the_place_and_cuts_no_word(place, reason, kind, lang):
    words = Catalog(LOCALES, lang)
    text = wear_text(words, place=place, reason=reason, kind=kind, tier=TIER_OF.get(kind, 1))
    assert len(text) <= WEAR_CHARS and text.isascii() and text == " ".join(text.split())
    assert text.startswith(ascii_text(place)), "the place comes first, whole"
    tier_mark = words.t(f"wear.tier.{TIER_OF.get(kind, 1)}")
    assert text.endswith(tier_mark), "the tier is never dropped"
    rest = text[len(ascii_text(place)) :].removeprefix(":").split()
    short = ascii_text(words.t(f"reason_short.{reason or 'none'}"))
    short = reason if short.startswith("reason_short.") else short
    if rest and short and rest[: len(short.split())] == short.split():
        rest = rest[len(short.split()) :]  # the reason's short form, whole
    kind_mark = ascii_text(words.t(f"wear.kind.{kind}"))
    marks = ([] if kind_mark.startswith("wear.kind") else kind_mark.split()) + [tier_mark]
    assert rest == marks, f"{text!r}: only whole words of the place, the reason, the kind and the tier"


@pytest.mark.parametrize("lang", LANGS)
def test_a_first_page_shows_the_reason_beside_every_place_of_the_example_store(lang):
    """Reminders and escalations may drop it beside a long label (the colleague was told); a first page never."""
    words = Catalog(LOCALES, lang)
    for place in PLACES:
        for reason in EXAMPLE.kiosk.reasons:
            short = ascii_text(words.t(f"reason_short.{reason}"))
            for kind, tier in (("call", 1), ("next", 2)):
                assert f": {short} " in wear_text(words, place=place, reason=reason, kind=kind, tier=tier)


def test_the_issue_examples_now_read_whole():
    sv, en = Catalog(LOCALES, "sv"), Catalog(LOCALES, "en")
    assert wear_text(en, place="Kiosk by the TVs", reason="checkout", kind="call", tier=1) == (
        "Kiosk by the TVs: checkout !"
    )
    assert wear_text(sv, place="Kiosk by the TVs", reason="checkout", kind="next", tier=2) == (
        "Kiosk by the TVs: kassa !!"
    )
    assert wear_text(sv, place="Trädgård", reason="pickup", kind="escalation", tier=3) == (
        "Tradgard: hamtning ALLA !!!"
    )


def test_a_long_label_loses_whole_words_then_the_reason_never_the_marks():
    en = Catalog(LOCALES, "en")
    text = wear_text(en, place="Garden exit by the big blue doors", reason="product", kind="repage", tier=1)
    assert text == "Garden exit by the big REMIND !"
    one_word = wear_text(en, place="x" * 40, reason="product", kind="call", tier=1)
    assert one_word == "x" * 30 + " !"  # one word wider than the display is the only thing cut


def test_hostile_labels_and_reasons_never_crash_and_stay_ascii():
    en = Catalog(LOCALES, "en")
    for place, reason in [("", "{0}{x}"), ("商店", "ÅÄÖ øæß"), ("\u200b \t", "x" * 64), ("Œuvre", "")]:
        text = wear_text(en, place=place, reason=reason, kind="nope", tier=9, device="kiosk-1")
        assert len(text) <= WEAR_CHARS and text.isascii() and text.split()[0]
        line = page_text(en, place=place, zone="z", reason=reason, kind="nope", waited_s=5)
        assert reason in line
    assert wear_text(en, place="商店", reason=None, kind="call", tier=1, device="kiosk-1").startswith("kiosk-1")


def test_hub_alerts_fit_a_wearable_in_whole_words():
    for lang in LANGS:
        words = Catalog(LOCALES, lang)
        text = alert_wear_text(words.t("alert.fault", problem="disk I/O error"))
        assert 0 < len(text) <= WEAR_CHARS and text.isascii()
        assert set(text.split()) <= set(ascii_text(words.t("alert.fault", problem="disk I/O error")).split())


def test_both_catalogs_name_the_same_words():
    sv, en = (json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("sv", "en"))
    assert set(sv) == set(en)


@pytest.mark.parametrize(
    ("lang", "expected_page", "expected_wear"),
    [
        ("sv", "NÄSTA: Kiosk by the TVs (electronics): kassan, 0:30", "Kiosk by the TVs: kassa !!"),
        ("en", "NEXT: Kiosk by the TVs (electronics): checkout, 0:30", "Kiosk by the TVs: checkout !!"),
    ],
)
def test_the_core_pages_in_the_stores_language(lang, expected_page, expected_wear):
    cfg = store_config(ack=30, esc=90)
    cfg.store.language = lang
    clock = FakeClock()
    core = new_core(cfg, clock)
    for s in ("anna", "ben"):
        core.handle(PresenceChanged(s, "on_shift"))
    core.handle(Pressed("kiosk-1", CallMsg(id="c1", reason="checkout")))
    clock.advance(30)
    pages = [c for c in core.tick() if isinstance(c, Page)]
    assert [(p.msg.kind, p.msg.text, p.wear.text) for p in pages] == [("next", expected_page, expected_wear)]
