"""The history reader's answers on a generated store whose true behaviour is known, and stable advice.

A page nobody answered before someone else took the call is censored, not a "let pass": the reader's
let-pass and decline shares must come out near the generator's true 5% each, and two advice runs with
different seeds must agree on which slots staffing alone cannot fix (the ``short`` flag).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bench._staffstore import TrueBehaviour, store_config, write_store
from broker.core.behaviour import answer_table
from broker.core.staffing import Advisor
from broker.hub.eventlog import connect
from broker.hub.words import page_words
from broker.reports.history import read_history

FIRST = date(2026, 3, 2)


def test_answer_table_is_kaplan_meier():
    # Two acks at 10 s and 20 s, one page unanswered until 15 s (censored), one never answered.
    cum, outcomes = answer_table([(10.0, "ack"), (15.0, "pass"), (20.0, "decline"), (float("inf"), "pass")])
    # S(10) = 3/4; S(20) = 3/4 * (1 - 1/2) = 3/8: the let-pass share left is 3/8, not the 2/4 a count says.
    assert cum == pytest.approx([0.25, 0.625])
    assert outcomes == [("ack", 10.0), ("decline", 20.0)]
    assert answer_table([(5.0, "ack")] * 3)[0][-1] == 1.0
    assert answer_table([]) == ([], [])


@pytest.fixture(scope="module")
def busy_store(tmp_path_factory):
    """Two zones, two colleagues each, busy enough that many calls go on to a second colleague."""
    cfg = store_config(2, 2, target=90)
    path = tmp_path_factory.mktemp("bias") / "s.db"
    write_store(path, cfg, FIRST, 14, 14.0, seed=4, patience_mean_s=1800.0)
    tz = ZoneInfo(cfg.store.timezone)
    since, until = datetime(2026, 3, 2, tzinfo=tz).timestamp(), datetime(2026, 3, 16, tzinfo=tz).timestamp()
    return cfg, read_history(connect(str(path)).conn, since, until), since, until


def test_let_pass_and_decline_shares_match_the_true_ones(busy_store):
    cfg, h, _, _ = busy_store
    truth = TrueBehaviour()
    b = h.behaviour()
    unanswered = sum(a.answer == "pass" for a in h.answers) / len(h.answers)
    assert unanswered > truth.pass_ + 0.03  # counting every unanswered page as a pass would be biased
    cum, outcomes = b._table("", "")
    declined = sum(p - q for p, q, (answer, _) in zip(cum, [0.0, *cum], outcomes, strict=False) if answer == "decline")
    assert b.pass_share("", "") == pytest.approx(truth.pass_, abs=0.025)
    assert declined == pytest.approx(truth.decline, abs=0.025)


def test_short_flags_agree_between_seeds(busy_store):
    cfg, h, since, until = busy_store

    def run(seed):
        adv = Advisor(cfg, page_words(cfg), h.behaviour(), seed=seed)
        return {(a.zone, a.weekday, a.hour): a for a in adv.advise(h.calls, h.actual, h.busy, h.shifts, since, until)}

    one, two = run(1), run(2)
    counted = [k for k in one if not one[k].thin]
    assert len(counted) > 50
    agree = sum(one[k].short == two[k].short for k in counted)
    # Slots of ~20 calls: a promise share known within ~7 points, so a marginal slot may flip; most do not.
    assert agree >= 0.8 * len(counted), (agree, len(counted))
