"""The waiting screen's sentences, from the hub's state and a fake clock (no Kivy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker.callpoint.progress import CallProgress, describe, eta_text
from broker.contract.i18n import Catalog
from broker.contract.protocol import StateMsg

LOCALES = Path(__file__).resolve().parents[3] / "kiosk" / "locales"
EN = Catalog(LOCALES, "en").t


def state(**kw) -> StateMsg:
    base = dict(
        id="c1",
        device="kiosk-1",
        zone="z",
        reason=None,
        status="waiting",
        tier=1,
        staff="anna",
        staff_name="Anna",
        staff_role="Summer substitute",
        eta_s=90,
        opened_at="",
        updated_at="",
    )
    return StateMsg(**{**base, **kw})


def progress(s: StateMsg | None, at: float = 100.0) -> CallProgress:
    p = CallProgress("c1", pressed_mono=95.0)
    if s is not None:
        p.update(s, at)
    return p


def test_before_any_state_the_call_is_sent_and_the_clock_runs_from_the_press():
    v = describe(progress(None), now=107.0, connected=True, t=EN)
    assert (v.headline, v.who, v.elapsed) == ("Your call is sent", "We are finding a colleague for you", "Waiting 0:12")


def test_offline_press_is_saved_and_says_where_to_ask():
    v = describe(progress(None), now=96.0, connected=False, t=EN)
    assert v.headline == "Your call is saved" and "ask at the checkout" in v.note


def test_acknowledged_names_the_person_and_counts_down_on_the_kiosk_clock():
    p = progress(state(status="acknowledged", eta_s=150, waited_s=5))
    assert describe(p, 100.0, True, EN).who == "Anna (Summer substitute) is on the way"
    assert describe(p, 100.0, True, EN).eta == "about 3 minutes"
    assert describe(p, 200.0, True, EN).eta == "about 1 minute"
    assert describe(p, 140.0, True, EN).elapsed == "Waiting 0:45"


def test_past_the_estimate_it_says_so_and_who_else_was_alerted():
    v = describe(progress(state(tier=2, eta_s=30)), now=131.0, connected=True, t=EN)
    assert v.overdue and v.eta == ""
    assert v.note == "It is taking longer than we thought, sorry. Another colleague has been alerted too."
    v3 = describe(progress(state(tier=3, staff=None, staff_name=None, eta_s=30)), 100.0, True, EN)
    assert v3.who == "We are finding a colleague for you" and v3.note == "All colleagues on shift have been alerted."


def test_waiting_time_never_goes_back_when_the_hub_counts_less_than_the_kiosk():
    """Pressed offline at 95: the hub first hears of the call at 103 and says it has waited 0 s."""
    p = progress(None)
    seen = [describe(p, now, True, EN).elapsed for now in (96.0, 100.0, 103.0)]
    p.update(state(waited_s=0), 103.0)
    seen += [describe(p, now, True, EN).elapsed for now in (103.0, 104.0, 110.0)]
    p.update(state(waited_s=2), 110.0)  # delayed in flight: still less than the kiosk counts
    seen += [describe(p, now, True, EN).elapsed for now in (110.0, 111.0)]
    assert seen == ["Waiting 0:01", "Waiting 0:05", "Waiting 0:08", "Waiting 0:08", "Waiting 0:09"] + [
        "Waiting 0:15",
        "Waiting 0:15",
        "Waiting 0:16",
    ]


def test_a_hub_that_counts_more_than_the_kiosk_wins():
    """A restarted kiosk (or one whose press took a while to arrive) takes the hub's longer count."""
    p = progress(state(waited_s=60), at=100.0)
    assert describe(p, 100.0, True, EN).elapsed == "Waiting 1:00"
    assert describe(p, 130.0, True, EN).elapsed == "Waiting 1:30"


def test_a_state_without_the_optional_fields_reads_as_not_known():
    from broker.contract.protocol import decode

    s = decode(
        StateMsg,
        b'{"id": "c1", "device": "kiosk-1", "zone": "z", "status": "waiting", "tier": 1,'
        b' "opened_at": "2026-11-25T09:30:00.211Z", "updated_at": "2026-11-25T09:30:00.211Z"}',
    )
    v = describe(progress(s), 100.0, True, EN)
    assert (v.who, v.eta, v.note, v.elapsed) == ("We are finding a colleague for you", "", "", "Waiting 0:05")


def test_nobody_on_shift_uses_the_store_text_or_the_catalog():
    s = state(nobody_on_shift=True, eta_s=None, staff=None, staff_name=None, tier=3)
    assert describe(progress(s), 100.0, True, EN, "Go to the info desk").note == "Go to the info desk"
    assert "Nobody can come" in describe(progress(s), 100.0, True, EN).note


def test_closed_statuses_lead_to_their_screens():
    assert progress(state(status="resolved")).screen == "feedback"
    assert progress(state(status="greeted")).screen == "greeted"
    assert progress(state(status="unattended")).screen == "unattended"
    assert progress(state(status="cancelled")).screen == "cancelled"


def test_catalogs_are_complete_and_use_the_same_placeholders():
    en = json.loads((LOCALES / "en.json").read_text())
    for path in LOCALES.glob("*.json"):
        other = json.loads(path.read_text())
        assert set(other) == set(en), f"{path.name} differs from en.json: {set(en) ^ set(other)}"
        for key, text in en.items():
            assert sorted(_fields(other[key])) == sorted(_fields(text)), f"{path.name} {key}"


def _fields(text: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


@pytest.mark.parametrize(
    ("remaining", "words"),
    [
        (5, "any moment now"),
        (19.9, "any moment now"),
        (20, "about 1 minute"),
        (45, "about 1 minute"),
        (90, "about 1 minute"),
        (91, "about 2 minutes"),
        (149, "about 2 minutes"),
        (150, "about 3 minutes"),
        (299, "about 5 minutes"),
        (300, "about 5 minutes"),
        (301, "a few minutes"),
        (600, "a few minutes"),
        (601, "more than 10 minutes"),
        (3600, "more than 10 minutes"),
    ],
)
def test_the_estimate_in_words_a_customer_reads_at_a_glance(remaining, words):
    assert eta_text(remaining, EN) == words


@pytest.mark.parametrize(("remaining", "words"), [(45, "om ungefär 1 minut"), (400, "om några minuter")])
def test_the_same_words_in_swedish(remaining, words):
    assert eta_text(remaining, Catalog(LOCALES, "sv").t) == words
