"""Erlang C against published values.

Sources:
- Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example": 100 calls in
  30 minutes, 180 s average handling time (10 Erlangs), target 20 s: with 11 agents the chance of
  waiting is 68.21% and 39% are answered within 20 s; 14 agents reach 80% (88.9%).
- The M/M/3 queue offered 2 Erlangs: the chance of waiting is 4/9 (any queueing text, e.g. Kleinrock,
  Queueing Systems vol. 1, the M/M/m formula).
"""

from __future__ import annotations

import math

import pytest

from broker.core.erlang import agents_needed, erlang_b, mean_wait_s, service_level, wait_probability


@pytest.mark.parametrize(
    ("agents", "pw", "sl"), [(11, 0.6821, 0.3896), (12, 0.4494, 0.6402), (13, 0.2853, 0.7956), (14, 0.1741, 0.8884)]
)
def test_call_centre_helper_example(agents, pw, sl):
    assert wait_probability(agents, 10.0) == pytest.approx(pw, abs=5e-5)
    assert service_level(agents, 200, 180, 20) == pytest.approx(sl, abs=5e-4)


def test_the_worked_example_needs_14_agents_and_waits_two_minutes_with_11():
    assert agents_needed(rate_per_h=200, busy_s=180, target_s=20, share=0.8) == 14
    assert mean_wait_s(11, 200, 180) == pytest.approx(122.8, abs=0.1)


def test_mm3_with_two_erlangs_waits_four_ninths():
    assert wait_probability(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)


def test_edges_are_answers_not_crashes():
    assert wait_probability(0, 1.0) == 1.0
    assert wait_probability(5, 5.0) == 1.0
    assert service_level(2, 0, 180, 20) == 1.0
    assert agents_needed(0, 180, 20, 0.9) == 0
    assert agents_needed(3600 * 1000, 180, 20, 0.9) == 500  # capped, finite
    assert math.isinf(mean_wait_s(1, 3600, 3600))
    # Large stores stay finite where A**N / N! would overflow.
    assert 0 < wait_probability(300, 280.0) < 1
