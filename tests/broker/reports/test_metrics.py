"""Metrics against hand-computed figures: every number below was worked out on paper."""

from __future__ import annotations

import statistics
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.reports.metrics import Metrics, Period, offset_changes, period
from tests.broker.conftest import TZ, Log, local_ts

NOW = local_ts("2026-03-02 18:00:00")
TODAY = period("today", TZ, NOW)


def metrics(log: Log, **kw) -> Metrics:
    return Metrics(log.conn, TZ, 60, staff_names={"anna": "Anna", "ben": "Ben", "chloe": "Chloe"}, **kw)


def test_periods_are_local_days():
    p = period("today", TZ, NOW)
    assert p.start_iso == "2026-03-01T23:00:00.000Z" and p.end_iso == "2026-03-02T23:00:00.000Z"
    w = period("week", TZ, NOW)  # Monday 2 March 2026 to Sunday 8 March
    assert w.start_iso == "2026-03-01T23:00:00.000Z" and w.end_iso == "2026-03-08T23:00:00.000Z"
    m = period("month", TZ, NOW)  # March holds the switch to summer time: 31 days minus one hour
    assert m.end_ts - m.start_ts == 31 * 86400 - 3600
    r = period("range", TZ, NOW, since=date(2026, 2, 27), until=date(2026, 3, 1))
    assert r.end_ts - r.start_ts == 3 * 86400
    with pytest.raises(ValueError, match="before"):
        period("range", TZ, NOW, since=date(2026, 3, 2), until=date(2026, 3, 1))
    with pytest.raises(ValueError, match="unknown period"):
        period("fortnight", TZ, NOW)


def test_offset_changes_find_the_dst_switch_to_the_second():
    start, end = local_ts("2026-03-01 00:00:00"), local_ts("2026-04-01 00:00:00")
    first, changes = offset_changes(TZ, start, end)
    assert first == 3600 and changes == [(local_ts("2026-03-29 03:00:00"), 7200)]


def test_no_calls(log):
    m = metrics(log)
    f = m.figures(TODAY)
    assert f.calls == 0 and f.greet_median is None and f.ack_p90 is None and f.within_target_share is None
    assert m.groups(TODAY, "hour") == []
    r = m.report(TODAY, "staff", NOW)
    assert r.fastest == [] and r.happiest == [] and r.trend == []
    assert sum(map(sum, r.heatmap.calls)) == 0 and all(n == 0 for _, n in r.distribution)


def test_one_call(log):
    log.call("2026-03-02 09:00:00", time_to_ack_s=12.0, time_to_greet_s=42.5, greeted_by="anna", feedback_score=3)
    f = metrics(log).figures(TODAY)
    assert (f.calls, f.greeted, f.within_target, f.within_target_share) == (1, 1, 1, 1.0)
    assert f.ack_median == f.ack_p90 == f.ack_max == 12.0
    assert f.greet_median == f.greet_p90 == f.greet_max == 42.5
    assert (f.feedback_avg, f.feedback_count) == (3.0, 1)


def test_percentiles_interpolate_between_ranks_with_ties(log):
    # greet: 10, 10, 10, 20 -> median (rank 1.5) = 10; p90 at h = 3 * 0.9 = 2.7 -> 10 + 0.7 * 10 = 17
    for s in (10.0, 20.0, 10.0, 10.0):
        log.call("2026-03-02 10:00:00", time_to_greet_s=s, time_to_ack_s=s / 2)
    # two calls in another hour: 30 and 90 -> median 60, p90 = 30 + 0.9 * 60 = 84
    log.call("2026-03-02 11:15:00", time_to_greet_s=90.0)
    log.call("2026-03-02 11:45:00", time_to_greet_s=30.0)
    m = metrics(log)
    by_hour = {f.key: f for f in m.groups(TODAY, "hour")}
    assert (by_hour["10:00"].greet_median, by_hour["10:00"].greet_p90, by_hour["10:00"].greet_max) == (10, 17, 20)
    assert (by_hour["11:00"].greet_median, by_hour["11:00"].greet_p90) == (60, 84)
    assert by_hour["11:00"].within_target == 1 and by_hour["11:00"].within_target_share == 0.5
    # all six: 10 10 10 20 30 90 -> median (10 + 20) / 2 = 15; p90 at h = 4.5 -> 30 + 0.5 * 60 = 60
    f = m.figures(TODAY)
    assert (f.greet_median, f.greet_p90) == (15, 60)
    assert (f.ack_median, f.ack_max) == (5, 10)  # acks 5 5 5 10 (two calls have none)


def test_calls_spanning_midnight_count_on_the_local_day(log):
    # 23:59 local on 1 March is 22:59 UTC: yesterday. 00:30 local on 2 March is 23:30 UTC on 1 March: today.
    log.call("2026-03-01 23:59:00", time_to_greet_s=600.0)  # greeted after local midnight, still March 1st's call
    log.call("2026-03-02 00:30:00", time_to_greet_s=20.0)
    log.call("2026-03-02 23:59:59", time_to_greet_s=40.0)
    log.call("2026-03-03 00:00:00", time_to_greet_s=50.0)
    m = metrics(log)
    assert m.figures(TODAY).calls == 2 and m.figures(TODAY).greet_median == 30
    assert m.figures(period("yesterday", TZ, NOW)).calls == 1
    week = period("range", TZ, NOW, since=date(2026, 3, 1), until=date(2026, 3, 3))
    assert [(f.key, f.calls) for f in m.groups(week, "day")] == [
        ("2026-03-01", 1),
        ("2026-03-02", 2),
        ("2026-03-03", 1),
    ]
    assert [(f.key, f.calls) for f in m.groups(week, "hour")] == [("00:00", 2), ("23:00", 2)]
    assert [(f.key, f.calls) for f in m.groups(week, "weekday")] == [("Mon", 2), ("Tue", 1), ("Sun", 1)]


def test_hours_across_the_switch_to_summer_time(log):
    log.call("2026-03-29 01:30:00")  # CET, 00:30 UTC
    log.call("2026-03-29 03:30:00")  # CEST, 01:30 UTC: one real hour later, two on the clock
    log.call("2026-03-30 10:00:00")
    p = period("range", TZ, NOW, since=date(2026, 3, 29), until=date(2026, 3, 30))
    m = metrics(log)
    assert [(f.key, f.calls) for f in m.groups(p, "hour")] == [("01:00", 1), ("03:00", 1), ("10:00", 1)]
    hm = m.heatmap(p)
    assert hm.calls[6][1] == hm.calls[6][3] == hm.calls[0][10] == 1 and sum(map(sum, hm.calls)) == 3


def test_cancelled_unattended_open_and_the_promise(log):
    log.call("2026-03-02 09:00:00", time_to_ack_s=5.0, time_to_greet_s=30.0)  # kept the promise
    log.call("2026-03-02 09:10:00", time_to_ack_s=50.0, time_to_greet_s=90.0)  # late
    log.call("2026-03-02 09:20:00", "cancelled", time_to_close_s=45.0)  # gave up after 45 s
    log.call("2026-03-02 09:30:00", "cancelled", time_to_close_s=125.0, time_to_ack_s=100.0)
    log.call("2026-03-02 09:40:00", "unattended", time_to_close_s=600.0, escalated=True, tier=3, repeat_presses=2)
    log.call("2026-03-02 17:59:50", "waiting")  # 10 s old: too early to judge
    log.call("2026-03-02 17:55:00", "waiting", repeat_presses=1)  # 5 minutes: the promise is already broken
    f = metrics(log).figures(TODAY, now=NOW)
    assert (f.calls, f.open, f.greeted, f.unattended, f.cancelled) == (7, 2, 2, 1, 2)
    assert (f.cancelled_wait_median, f.cancelled_wait_max) == (85, 125)
    assert f.within_target == 1 and f.within_target_share == round(1 / 6, 4)
    assert (f.escalations, f.repeat_presses) == (1, 3)
    assert (f.ack_median, f.ack_p90) == (50, 90)  # acks 5, 50, 100 -> p90 at h = 1.8 -> 50 + 0.8 * 50
    # Without "now", open calls are left out of the share: 1 of 5 closed calls.
    assert metrics(log).figures(TODAY).within_target_share == 0.2


def test_staff_figures_declines_and_shoutouts(log):
    for s, face in ((10.0, 4), (20.0, 4), (30.0, 3)):
        log.call(
            "2026-03-02 10:00:00",
            time_to_ack_s=1.0,
            time_to_greet_s=s,
            greeted_by="anna",
            staff="anna",
            feedback_score=face,
        )
    for s, face in ((5.0, 4), (15.0, 4), (25.0, 4), (35.0, 4)):
        declined = '["chloe"]' if s in (5.0, 15.0) else "[]"
        log.call(
            "2026-03-02 11:00:00",
            time_to_ack_s=1.0,
            time_to_greet_s=s,
            greeted_by="ben",
            staff="ben",
            feedback_score=face,
            declines=int(declined != "[]"),
            declined=declined,
        )
    log.call("2026-03-02 12:00:00", time_to_greet_s=1.0, greeted_by="chloe", staff="chloe")  # one lucky call
    log.call("2026-03-02 12:30:00", "cancelled", staff="chloe", time_to_close_s=20.0)  # paged, never acked
    log.call(
        "2026-03-02 12:40:00",
        "cancelled",
        staff="anna",
        time_to_ack_s=3.0,
        time_to_close_s=9.0,  # on the way
        declines=2,
        declined='["maria", "ben"]',
    )
    log.call("2026-03-01 10:00:00", "cancelled", time_to_close_s=9.0, declines=1, declined='["maria"]')  # yesterday
    m = metrics(log)
    staff = {f.key: f for f in m.groups(TODAY, "staff")}
    assert set(staff) == {"anna", "ben", "chloe", "(nobody)", "maria"}
    assert staff["ben"].declines == 1  # declined anna's call, and still counted as ben's
    assert (staff["anna"].calls, staff["anna"].greeted, staff["anna"].greet_median) == (4, 3, 20)
    assert (staff["ben"].greet_median, staff["ben"].feedback_avg) == (20, 4.0)
    assert (staff["chloe"].calls, staff["chloe"].declines, staff["maria"].declines) == (1, 2, 1)
    assert staff["(nobody)"].calls == 1
    r = m.report(TODAY, None, NOW)
    # anna and ben tie on a 20 s median: ben greeted more, so ben first; chloe has too few calls.
    assert [(s.name, s.value) for s in r.fastest] == [("Ben", 20), ("Anna", 20)]
    assert [(s.name, s.value, s.calls) for s in r.happiest] == [("Ben", 4.0, 4), ("Anna", 3.67, 3)]


def test_shoutouts_celebrate_only_the_promise_kept_and_happy_faces(log):
    for s, face in ((20.0, 4), (30.0, 4), (40.0, 3)):  # anna: median 30 s, faces 3.67
        log.call("2026-03-02 10:00:00", time_to_greet_s=s, greeted_by="anna", staff="anna", feedback_score=face)
    for s, face in ((70.0, 2), (80.0, 2), (90.0, 3)):  # ben: median 80 s > 60 s promise, faces 2.33
        log.call("2026-03-02 11:00:00", time_to_greet_s=s, greeted_by="ben", staff="ben", feedback_score=face)
    r = metrics(log).report(TODAY, None, NOW)
    assert [s.name for s in r.fastest] == ["Anna"]
    assert [s.name for s in r.happiest] == ["Anna"]


def test_distribution_and_groupings(log):
    for s in (5.0, 29.9, 30.0, 61.0, 700.0):
        log.call("2026-03-02 10:00:00", time_to_greet_s=s, zone="toys", device="kiosk-2", reason=None)
    log.call("2026-03-02 10:00:00", "cancelled", time_to_close_s=3.0)
    log.call("2026-03-02 10:00:00", "unattended")
    m = metrics(log)
    dist = dict(m.distribution(TODAY))
    assert (dist["0-30s"], dist["30-60s"], dist["60-90s"], dist["600s+"]) == (2, 1, 1, 1)
    assert (dist["gave up"], dist["unattended"]) == (1, 1)
    assert [(f.key, f.calls) for f in m.groups(TODAY, "zone")] == [("electronics", 2), ("toys", 5)]
    assert [(f.key, f.calls) for f in m.groups(TODAY, "reason")] == [("(none)", 5), ("product", 2)]
    with pytest.raises(ValueError, match="unknown grouping"):
        m.groups(TODAY, "colour")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=40))
def test_quantiles_match_statistics_inclusive(tmp_path_factory, waits):
    log = Log(str(tmp_path_factory.mktemp("q") / "q.db"))
    for w in waits:
        log.call("2026-03-02 10:00:00", time_to_greet_s=w / 10)
    f = Metrics(log.conn, TZ, 60, create_indexes=False).figures(TODAY)
    values = sorted(w / 10 for w in waits)
    expected = [values[0]] * 9 if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")
    assert f.greet_median == pytest.approx(statistics.median(values), abs=1e-3)
    assert f.greet_p90 == pytest.approx(expected[8], abs=1e-3)
    assert f.greet_max == max(values)


def test_period_with_no_transitions_in_utc(log):
    p = period("today", "UTC", NOW)
    assert p == Period("today 2026-03-02", local_ts("2026-03-02 01:00:00"), local_ts("2026-03-03 01:00:00"), "UTC")
    log.call("2026-03-02 00:30:00")  # 23:30 UTC on March 1st
    log.call("2026-03-02 01:30:00", time_to_greet_s=5.0)
    m = Metrics(log.conn, "UTC", 60)
    assert m.figures(p).calls == 1 and [f.key for f in m.groups(p, "hour")] == ["00:00"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=30), max_size=12), min_size=1, max_size=6),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0]),
)
def test_quantiles_across_cells_match_one_sorted_list(parts, q):
    """Several kept cells (sorted arrays, ties across them) give the quantile of their union, interpolated."""
    from array import array

    from broker.reports.metrics import _quantiles

    arrays = [array("d", sorted(float(v) for v in part)) for part in parts]
    values = sorted(v for a in arrays for v in a)
    got = _quantiles(arrays, (q,))[0]
    if not values:
        assert got is None
        return
    h = (len(values) - 1) * q
    k = int(h)
    want = values[k] + (h - k) * ((values[k + 1] if k + 1 < len(values) else values[k]) - values[k])
    assert got == pytest.approx(want, abs=1e-3)
