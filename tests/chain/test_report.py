"""``staffcall chain report``: every figure against a plain-Python computation over the same records."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta

import pytest
from msgspec.structs import replace

from broker.chain.figures import FIGURE_COLUMNS, SHOUTOUT_MIN_CALLS, WORSE_BY, WORSE_MIN_CALLS, Filters
from broker.chain.report import build, to_csv, to_json
from broker.chain.sample import sample_records, write_records
from broker.contract.chain import CallRecord

END = date(2026, 12, 6)  # a Sunday; the sample spans November and December
OPEN = ("waiting", "acknowledged", "greeted")


def q7(values: list[float], p: float) -> float | None:
    """Type-7 quantile (numpy's default), written out: x[k] + f * (x[k+1] - x[k]), h = (n-1)p."""
    xs = sorted(values)
    if not xs:
        return None
    h = (len(xs) - 1) * p
    k = math.floor(h)
    lo = xs[k]
    hi = xs[k + 1] if k + 1 < len(xs) else lo
    return round(lo + (h - k) * (hi - lo), 3)


def expected(recs: list[CallRecord]) -> dict:
    ack = [r.time_to_ack_s for r in recs if r.time_to_ack_s is not None]
    greet = [r.time_to_greet_s for r in recs if r.time_to_greet_s is not None]
    gave_up = [r for r in recs if r.status == "cancelled" and r.time_to_greet_s is None]
    waits = [r.time_to_close_s for r in gave_up if r.time_to_close_s is not None]
    within = sum(1 for r in recs if r.time_to_greet_s is not None and r.time_to_greet_s <= r.target_greet_s)
    judged = len(recs) - sum(1 for r in recs if r.status in OPEN and r.time_to_greet_s is None)
    faces = [r.feedback_score for r in recs if r.feedback_score is not None]
    return {
        "calls": len(recs),
        "open": sum(r.status in OPEN for r in recs),
        "greeted": len(greet),
        "ack_median": q7(ack, 0.5),
        "ack_p90": q7(ack, 0.9),
        "ack_max": max(ack) if ack else None,
        "greet_median": q7(greet, 0.5),
        "greet_p90": q7(greet, 0.9),
        "greet_max": max(greet) if greet else None,
        "within_target": within,
        "within_target_share": round(within / judged, 4) if judged else None,
        "unattended": sum(r.status == "unattended" for r in recs),
        "cancelled": len(gave_up),
        "cancelled_wait_median": q7(waits, 0.5),
        "cancelled_wait_max": max(waits) if waits else None,
        "repeat_presses": sum(r.repeat_presses for r in recs),
        "escalations": sum(r.escalated for r in recs),
        "feedback_avg": round(sum(faces) / len(faces), 2) if faces else None,
        "feedback_count": len(faces),
        "declines": sum(r.declines for r in recs),
    }


PERCENTILES = ("ack_median", "ack_p90", "greet_median", "greet_p90", "cancelled_wait_median")


def tolerance(v: float) -> float:
    """The kept histograms' promise (broker.chain.cells): within 0.5 s, or 1 % above 50 s (plus the ms rounding)."""
    return max(0.5, 0.01 * abs(v)) + 0.0015


def same(figures, want: dict) -> None:
    got = {k: getattr(figures, k) for k in want}
    for k, v in want.items():
        if k in PERCENTILES and v is not None:
            assert got[k] == pytest.approx(v, abs=tolerance(v)), (figures.key, k)
        elif isinstance(v, float):
            assert got[k] == pytest.approx(v, abs=1e-9), (figures.key, k)
        else:
            assert got[k] == v, (figures.key, k)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    records = sample_records(stores=12, days=21, per_day=20, seed=3, end=END)
    # A few odd rows a real chain has: an open call (no greeting) and a call with no ack.
    records[5] = replace(records[5], status="waiting", time_to_greet_s=None, time_to_ack_s=None, staff="")
    write_records(root, records)
    return root, records


def by(records, key):
    groups = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return groups


def test_total_store_region_figures_are_exact(chain):
    root, records = chain
    report = build(str(root), Filters(), None)
    same(report.total, expected(records))
    assert report.total.stores == 12
    stores = by(records, lambda r: r.store)
    assert [f.key for f in report.stores] == sorted(stores)
    for f in report.stores:
        same(f, expected(stores[f.key]))
        assert f.region == stores[f.key][0].region
    regions = by(records, lambda r: r.region)
    assert [f.key for f in report.regions] == sorted(regions)
    for f in report.regions:
        same(f, expected(regions[f.key]))
        assert f.stores == len({r.store for r in regions[f.key]})


@pytest.mark.parametrize("grouping", ["store", "region", "weekday", "hour"])
def test_each_by_grouping(chain, grouping):
    root, records = chain
    report = build(str(root), Filters(), grouping)
    field = {"store": "store", "region": "region", "weekday": "local_weekday", "hour": "local_hour"}[grouping]
    groups = by(records, lambda r: getattr(r, field))
    assert len(report.groups) == len(groups)
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    for f in report.groups:
        if grouping == "weekday":
            key = names.index(f.key)
        elif grouping == "hour":
            key = int(f.key[:2])
        else:
            key = f.key
        same(f, expected(groups[key]))


def test_region_and_period_filters_and_month_pruning(chain):
    root, records = chain
    since, until = date(2026, 12, 1), date(2026, 12, 6)
    report = build(str(root), Filters(since=since, until=until, region="north"), None)
    want = [r for r in records if r.region == "north" and since.isoformat() <= r.local_date <= until.isoformat()]
    same(report.total, expected(want))
    assert {f.key for f in report.stores} == {r.store for r in want}
    assert report.files == 12  # December's folder of every store, never November's
    one = build(str(root), Filters(stores=("s04",)), None)
    same(one.total, expected([r for r in records if r.store == "s04"]))
    assert one.files == 2  # that store's two months only


def test_ranking_shoutouts_and_heatmap(chain):
    root, records = chain
    report = build(str(root), Filters(), None)
    shares = [(f.within_target_share, -f.greet_median) for f in report.ranking]
    assert shares == sorted(shares, reverse=True)
    # Fastest colleagues: median greeting within the promise, at least SHOUTOUT_MIN_CALLS greetings.
    people = by([r for r in records if r.staff and r.time_to_greet_s is not None], lambda r: (r.store, r.staff))
    medians = {
        k: q7([r.time_to_greet_s for r in v], 0.5)
        for k, v in people.items()
        if len(v) >= SHOUTOUT_MIN_CALLS and q7([r.time_to_greet_s for r in v], 0.5) <= min(r.target_greet_s for r in v)
    }
    best = sorted(medians.items(), key=lambda kv: (kv[1], -len(people[kv[0]]), kv[0]))
    # Medians within the histograms' tolerance: the five shouted are among the fastest, each value close.
    assert len(report.fastest) == 5
    for s in report.fastest:
        exact = q7([r.time_to_greet_s for r in people[(s.store, s.staff)]], 0.5)
        assert s.value == pytest.approx(exact, abs=tolerance(exact))
        assert exact <= best[4][1] + 2 * tolerance(best[4][1])
    assert all(s.value >= 3 for s in report.happiest)
    cells = by(records, lambda r: (r.local_weekday, r.local_hour))
    for (wd, hour), recs in cells.items():
        assert report.heatmap[wd][hour] == len(recs)
    assert sum(map(sum, report.heatmap)) == len(records)
    assert sum(n for label, n in report.distribution if label not in ("gave up", "unattended")) == report.total.greeted


def week_records(store: str, monday: date, calls: int, kept: int, region: str = "north") -> list[CallRecord]:
    out = []
    for i in range(calls):
        day = monday + timedelta(days=i % 7)
        out.append(CallRecord(store=store, region=region, call_id=f"{store}-{monday}-{i}", device="k1", zone="z",
                              status="resolved", opened_at=f"{day}T10:00:00+00:00", local_date=day.isoformat(),
                              local_weekday=day.weekday(), local_hour=11, time_to_ack_s=5.0,
                              time_to_greet_s=30.0 if i < kept else 120.0, target_greet_s=60.0, staff="a"))  # fmt: skip
    return out


def test_worse_week_on_a_constructed_case(tmp_path):
    this, last = date(2026, 11, 30), date(2026, 11, 23)
    n = WORSE_MIN_CALLS * 2
    drop = round(WORSE_BY * n)  # exactly the threshold: counts as worse
    records = (
        week_records("slipped", last, n, n) + week_records("slipped", this, n, n - drop)
        + week_records("steady", last, n, n) + week_records("steady", this, n, n - drop + 1)
        + week_records("quiet", last, WORSE_MIN_CALLS - 1, WORSE_MIN_CALLS - 1)
        + week_records("quiet", this, WORSE_MIN_CALLS - 1, 0)
        + week_records("better", last, n, n // 2) + week_records("better", this, n, n)
    )  # fmt: skip
    write_records(tmp_path, records)
    report = build(str(tmp_path), Filters(since=this, until=this + timedelta(days=6)), None)
    assert report.weeks == (last.isoformat(), this.isoformat())
    assert [(w.store, w.last_share, w.this_share) for w in report.worse] == [("slipped", 1.0, 1 - drop / n)]


def test_csv_and_json_shapes(chain):
    root, records = chain
    report = build(str(root), Filters(), "region")
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == ["period", "group_by", *FIGURE_COLUMNS]
    assert len(rows) == 1 + len({r.region for r in records})
    data = json.loads(to_json(report))
    assert data["total"]["calls"] == len(records)
    assert {"stores", "regions", "ranking", "worse", "fastest", "happiest", "heatmap", "weeks"} <= set(data)
    assert len(data["stores"]) == 12 and len(data["heatmap"]["calls"]) == 7


def test_the_command_html_has_charts_and_no_external_urls(chain, tmp_path):
    root, records = chain
    page = tmp_path / "chain.html"
    for lang in ("en", "sv"):
        cmd = [sys.executable, "-m", "broker.cli", "chain", "report", "--data", str(root), "--by", "weekday",
               "--html", str(page), "--lang", lang]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        html = page.read_text(encoding="utf-8")
        assert html.count("<svg") == 3 and f'<html lang="{lang}">' in html
        assert f'id="kpi-calls">{len(records)}<' in html
        assert not re.search(r"(src|href)=|https?://|@import|url\(", html)
    assert "Löftet hållet" in html


def test_the_command_terminal_and_an_empty_folder(chain, tmp_path):
    root, _ = chain
    cmd = [sys.executable, "-m", "broker.cli", "chain", "report", "--data", str(root), "--region", "north"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Ranking" in done.stdout and "s12" not in done.stdout.split("Ranking")[1]  # s12 is in the west
    empty = subprocess.run([*cmd[:6], str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert empty.returncode == 0 and "No calls" in empty.stdout


def test_week_and_month_periods_and_bad_ranges():
    from argparse import Namespace

    from broker.chain.report import filters_from

    def args(**kw):
        base = dict(since=None, until=None, week=False, month=False, region=None, store=None)
        return Namespace(**{**base, **kw})

    today = date(2026, 12, 3)  # a Thursday
    f, label = filters_from(args(week=True), today)
    assert (f.since, f.until, label) == (date(2026, 11, 30), date(2026, 12, 6), "week 2026-W49")
    f, label = filters_from(args(month=True, region="north", store=["s1"]), today)
    assert (f.since, f.until, f.region, f.stores) == (date(2026, 12, 1), date(2026, 12, 31), "north", ("s1",))
    with pytest.raises(ValueError, match="swap"):
        filters_from(args(since=date(2026, 12, 5), until=date(2026, 12, 1)), today)
    with pytest.raises(ValueError, match="needs --since"):
        filters_from(args(until=date(2026, 12, 1)), today)


def test_every_chain_text_is_in_both_catalogs():
    from broker.chain.texts import texts

    en, sv = texts("en"), texts("sv")
    assert en.keys() == sv.keys() and len(en) > 40
    assert sum(en[k] != sv[k] for k in en) > len(en) * 0.8  # translated, not copied


def test_the_terminal_report_and_the_ingest_line_speak_swedish(chain):
    import io as _io

    from broker.chain.ingest import Counts, Progress
    from broker.chain.report import render_table
    from broker.reports.terminal import Out

    root, records = chain
    report = build(str(root), Filters(), "weekday")
    out = Out(120, False)
    render_table(report, out, "sv")
    text = "\n".join(out.lines)
    assert "Personalanrop i hela kedjan" in text and "Rangordning" in text and "Per veckodag" in text
    assert "Ranking" not in text and "gave up" not in text
    line = _io.StringIO()
    Progress(line, lang="sv").show(Counts(written=12, duplicates=3), 5, force=True)
    assert line.getvalue().startswith("ingest: 12 anrop skrivna, 5 väntar i klustret")
