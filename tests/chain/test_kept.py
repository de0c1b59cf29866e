"""The chain report's kept summaries and the committed file list: same figures as the raw rows, never a file twice."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from broker.chain.cells import rebuild, summary_dir
from broker.chain.figures import Filters
from broker.chain.files import committed_files
from broker.chain.ingest import Writer
from broker.chain.report import build, to_dict
from broker.chain.sample import sample_records

END = date(2026, 12, 6)


def figures_only(report) -> dict:
    data = to_dict(report)
    data.pop("files")
    data.pop("kept_months")
    data.pop("day_months")
    return data


@pytest.fixture()
def ingested(tmp_path):
    """Two flushes of the ingest's own writer (so two files per partition and a committed index)."""
    records = sample_records(stores=6, days=40, per_day=12, seed=5, end=END)
    writer = Writer(tmp_path, fsync=False)
    writer.write(records[::2])
    writer.write(records[1::2])
    return tmp_path, writer, records


CASES = [
    (Filters(), None),
    (Filters(), "weekday"),
    (Filters(), "hour"),
    (Filters(region="north"), "store"),
    (Filters(stores=("s02", "s05")), "hour"),
    (Filters(since=date(2026, 11, 1), until=date(2026, 11, 30)), "region"),
    (Filters(since=date(2026, 11, 10), until=date(2026, 12, 31)), None),  # November partly: its raw rows
]


def test_kept_summaries_give_the_same_report_as_the_raw_rows(ingested):
    root, _, records = ingested
    raw = [build(str(root), f, by) for f, by in CASES]
    assert all(r.kept_months == 0 and r.total.calls > 0 for r in raw)
    assert raw[0].total.calls == len(records)
    assert rebuild(root, committed_files(root)) == ["2026-10", "2026-11", "2026-12"]
    for (f, by), want in zip(CASES, raw, strict=True):
        kept = build(str(root), f, by)
        assert kept.kept_months > 0, (f, by)
        assert figures_only(kept) == figures_only(want), (f, by)


def test_a_stale_summary_is_not_used_and_the_new_calls_count(ingested):
    root, writer, records = ingested
    rebuild(root, committed_files(root))
    before = build(str(root), Filters(), None)
    assert before.kept_months == 3 and before.total.calls == len(records)
    from msgspec.structs import replace

    late = [replace(r, call_id=r.call_id + "-late") for r in records if r.local_date.startswith("2026-12")]
    writer.write(late)  # December changed after its summary was built
    after = build(str(root), Filters(), None)
    assert after.kept_months == 2 and after.total.calls == len(records) + len(late)
    assert rebuild(root, committed_files(root)) == ["2026-12"]  # only the stale month
    again = build(str(root), Filters(), None)
    assert again.kept_months == 3 and figures_only(again) == figures_only(after)
    assert json.loads((summary_dir(root, "2026-12") / "current.json").read_text())["fingerprint"]


def test_a_report_during_a_merge_counts_each_partition_once(ingested, tmp_path_factory):
    """Both the old small files and the merged one on disk, only one set committed: counted once, either way."""
    root, writer, records = ingested
    aside = tmp_path_factory.mktemp("aside")
    old = committed_files(root)
    for rel in old:
        (aside / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, aside / rel)
    assert writer.compact(min_files=2) > 0
    merged = committed_files(root)
    assert set(merged).isdisjoint(old)
    # The moment after the index swapped the names, before the old files went: they are back on disk.
    for rel in old:
        shutil.copy2(aside / rel, root / rel)
    report = build(str(root), Filters(), None)
    assert report.total.calls == len(records)
    # The moment before the commit: the merged files written, the index still naming the old ones.
    writer.index.conn.execute("DELETE FROM files")
    writer.index.conn.executemany(
        "INSERT INTO files (path, partition, rows) VALUES (?, ?, 0)", [(p, p.rsplit("/", 1)[0]) for p in old]
    )
    assert committed_files(root) == sorted(old)
    report = build(str(root), Filters(), None)
    assert report.total.calls == len(records)


def test_the_ingest_keeps_summaries_of_past_months_only(ingested):
    root, writer, _ = ingested
    assert rebuild(root, committed_files(root), before="2026-12") == ["2026-10", "2026-11"]
    report = build(str(root), Filters(), None)
    assert report.kept_months == 2  # December (the month still being written) from its raw files
    assert rebuild(root, committed_files(root), before="2026-12") == []  # nothing changed since


def raw_report(root, f, by):
    """The report with every kept summary moved aside: from the raw rows only."""
    kept = root / ".summaries"
    aside = root / ".summaries-aside"
    if kept.exists():
        kept.rename(aside)
    try:
        report = build(str(root), f, by)
        assert report.kept_months == 0 and report.day_months == 0
        return report
    finally:
        if aside.exists():
            aside.rename(kept)


WEEK = Filters(since=date(2026, 11, 30), until=date(2026, 12, 6))  # this week (END's), across November and December
MONTH = Filters(since=date(2026, 12, 1), until=date(2026, 12, 31))  # this month, still being written
PERIODS = [
    (WEEK, None),
    (WEEK, "hour"),
    (Filters(since=WEEK.since, until=WEEK.until, region="north"), "weekday"),
    (Filters(since=WEEK.since, until=WEEK.until, stores=("s02",)), "weekday"),
    (Filters(since=WEEK.since, until=WEEK.until, stores=("s03", "s04")), "hour"),  # a store's hours: raw rows
    (MONTH, "region"),
    (MONTH, "store"),
    (Filters(since=date(2026, 10, 20), until=date(2026, 11, 15)), None),  # a range cutting two months
    (Filters(since=date(2026, 10, 20), until=date(2026, 11, 15)), "weekday"),
]


def test_day_summaries_give_the_same_report_as_the_raw_rows(ingested):
    """This week, this month and a range cutting months: from day summaries, as from the raw rows."""
    root, writer, records = ingested
    assert rebuild(root, committed_files(root), before="2026-12") == ["2026-10", "2026-11"]  # as the ingest does
    for f, by in PERIODS:
        want = raw_report(root, f, by)
        got = build(str(root), f, by)
        assert want.total.calls > 0
        if not (f.stores and by == "hour"):
            assert got.day_months > 0, (f, by)
        assert figures_only(got) == figures_only(want), (f, by)


def test_calls_written_after_the_day_summary_are_read_raw_beside_it(ingested):
    root, writer, records = ingested
    rebuild(root, committed_files(root), before="2026-12")
    from msgspec.structs import replace

    late = [replace(r, call_id=r.call_id + "-late") for r in records if r.local_date >= "2026-12-01"]
    writer.write(late)  # today's flush, after the summaries
    got = build(str(root), MONTH, "store")
    assert got.day_months == 1 and got.files > 1
    want = raw_report(root, MONTH, "store")
    assert figures_only(got) == figures_only(want)
    assert got.total.calls == sum(r.local_date >= "2026-12-01" for r in records) + len(late)
    # A merge removes the files the day summary was built from: the month is read raw until rebuilt.
    assert writer.compact(min_files=2) > 0
    merged = build(str(root), MONTH, "store")
    assert merged.day_months == 0 and figures_only(merged) == figures_only(want)
    rebuild(root, committed_files(root), before="2026-12")
    again = build(str(root), MONTH, "store")
    assert again.day_months == 1 and figures_only(again) == figures_only(want)
