"""Today's kept figures equal the old full pass over the day's calls, after random sequences of events."""

from __future__ import annotations

import random
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broker.core.calls import Call
from broker.core.today import Today, kth

STAFF = ["anna", "ben", "chloe"]


def full_summary(calls: list[Call], target: float) -> dict[str, Any]:
    """The figures as the hub computed them before they were kept: one pass over every call of the day."""
    greet = [c.greeted_mono - c.opened_mono for c in calls if c.greeted_mono is not None]
    ack = [c.acked_mono - c.opened_mono for c in calls if c.acked_mono is not None]
    faces = [c.feedback_score for c in calls if c.feedback_score is not None]
    return {
        "calls": len(calls),
        "open": sum(1 for c in calls if c.is_open),
        "greeted": len(greet),
        "greeted_within_target": sum(1 for s in greet if s <= target),
        "median_ack_s": round(median(ack), 1) if ack else None,
        "median_greet_s": round(median(greet), 1) if greet else None,
        "cancelled": sum(1 for c in calls if c.status == "cancelled"),
        "unattended": sum(1 for c in calls if c.status == "unattended"),
        "feedback_avg": round(sum(faces) / len(faces), 2) if faces else None,
        "feedback_count": len(faces),
    }


def full_shift(calls: list[Call], staff: str, target: float) -> dict[str, Any]:
    mine = [c for c in calls if (c.greeted_by or c.staff) == staff and c.status != "waiting"]
    greet = [c.greeted_mono - c.opened_mono for c in mine if c.greeted_mono is not None]
    faces = [c.feedback_score for c in mine if c.feedback_score is not None]
    return {
        "calls": len(mine),
        "greeted": len(greet),
        "greeted_within_target": sum(1 for s in greet if s <= target),
        "median_greet_s": round(median(greet), 1) if greet else None,
        "faces": {str(n): faces.count(n) for n in range(1, 5)},
        "feedback_avg": round(sum(faces) / len(faces), 2) if faces else None,
        "declines": sum(1 for c in calls if staff in c.declined),
    }


@pytest.mark.parametrize("seed", range(12))
def test_kept_figures_equal_the_full_pass_after_random_events(seed):
    rnd = random.Random(seed)
    open_calls: dict[str, Call] = {}
    today = Today(ZoneInfo("Europe/Stockholm"), 60.0, open_calls)
    day_calls: list[Call] = []
    wall = 1772442000.0  # 2026-03-02 10:00 local
    for i in range(400):
        wall += rnd.expovariate(1 / 20)
        roll = rnd.random()
        if roll < 0.3 or not open_calls:
            call = Call(id=f"c{i}", device=f"k{i}", zone="toys", reason=None, opened_mono=wall, opened_wall=wall)
            call.staff = rnd.choice([*STAFF, None])
            today.opened(call, wall)
            open_calls[call.id] = call
            day_calls.append(call)
        elif roll < 0.5:
            call = rnd.choice(list(open_calls.values()))
            if call.acked_mono is None:
                call.acked_mono, call.status = wall, "acknowledged"
            elif call.greeted_mono is None:
                call.greeted_mono, call.greeted_by, call.status = wall, rnd.choice(STAFF), "greeted"
                today.greeted(wall)
        elif roll < 0.6:
            call = rnd.choice(list(open_calls.values()))
            call.declined.append(rnd.choice(STAFF))
            call.staff = rnd.choice(STAFF)
        elif roll < 0.8:
            call = open_calls.pop(rnd.choice(list(open_calls)))
            call.status = "resolved" if call.greeted_mono else rnd.choice(["cancelled", "unattended"])
            today.closed(wall)
        else:
            done = [c for c in day_calls if c.feedback_score is None]
            if done:
                call = rnd.choice(done)
                call.feedback_score = rnd.randint(1, 4)
                today.feedback(wall, call)
        if rnd.random() < 0.3:  # the shell asks at most once a second, at any point of the sequence
            got = today.summary(wall)
            assert {k: got[k] for k in full_summary(day_calls, 60.0)} == full_summary(day_calls, 60.0)
            for s in STAFF:
                got = today.shift(s, wall)
                assert {k: got[k] for k in full_shift(day_calls, s, 60.0)} == full_shift(day_calls, s, 60.0)


def test_a_new_day_starts_from_the_calls_still_open():
    open_calls: dict[str, Call] = {}
    today = Today(ZoneInfo("UTC"), 60.0, open_calls)
    done = Call(id="a", device="k1", zone="z", reason=None, opened_mono=0.0, opened_wall=86000.0)
    still = Call(id="b", device="k2", zone="z", reason=None, opened_mono=1.0, opened_wall=86001.0)
    for c in (done, still):
        today.opened(c, c.opened_wall)
    open_calls["b"] = still
    done.status = "resolved"
    assert today.summary(86100.0)["calls"] == 2
    assert today.summary(86400.0 + 10)["calls"] == 1


def test_kth_of_two_sorted_lists():
    rnd = random.Random(5)
    for _ in range(300):
        a = sorted(rnd.choice([0.5, 1.0, 2.0, 3.0, rnd.random()]) for _ in range(rnd.randint(0, 9)))
        b = sorted(rnd.choice([1.0, 2.0, rnd.random()]) for _ in range(rnd.randint(0, 5)))
        merged = sorted(a + b)
        assert [kth(a, b, k) for k in range(len(merged))] == merged
