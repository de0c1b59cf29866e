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


def test_day_summaries_give_the_same_report_as_the_raw_rows(ingested, monkeypatch):
    """This week, this month and a range cutting months: from day summaries, as from the raw rows."""
    from broker.chain import cells

    monkeypatch.setattr(cells, "DAY_CHUNK_STORES", 4)  # two passes over six stores: a region's days split
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


STORE_CASES = [
    (Filters(stores=("s02",)), None),
    (Filters(stores=("s02", "s05")), "weekday"),
    (Filters(stores=("s01", "s03")), "hour"),
    (Filters(stores=("s01", "s02", "s03"), region="north"), "region"),
    (Filters(since=date(2026, 10, 1), until=date(2026, 11, 30), stores=("s04",)), "store"),
]


def test_named_stores_read_without_duckdb_give_the_same_report(ingested):
    """The per-store SQLite summaries (no DuckDB) against the DuckDB path and the raw rows."""
    import duckdb

    from broker.chain.storekept import KeptStores

    root, writer, _ = ingested
    every = committed_files(root)
    assert committed_files(root, ["s02", "s05"]) == [r for r in every if r.startswith(("store=s02/", "store=s05/"))]
    rebuild(root, every)
    for f, by in STORE_CASES:
        assert KeptStores(str(root), f).figures(["all"], ["total"]) is not None, f
        fast = build(str(root), f, by)
        slow = build(str(root), f, by, con=duckdb.connect())  # a connection given: the DuckDB path
        want = raw_report(root, f, by)
        assert fast.total.calls > 0 and fast.kept_months > 0
        assert figures_only(fast) == figures_only(slow) == figures_only(want), (f, by)


def test_a_store_whose_files_changed_is_not_read_from_its_stale_summary(ingested):
    from msgspec.structs import replace

    from broker.chain.storekept import KeptStores

    root, writer, records = ingested
    rebuild(root, committed_files(root))
    one = Filters(stores=("s02",))
    other = Filters(stores=("s03",))
    late = [replace(r, call_id=r.call_id + "-late") for r in records if r.store == "s02"][:10]
    writer.write(late)
    assert KeptStores(str(root), one).figures(["all"], ["total"]) is None  # s02's files changed
    assert KeptStores(str(root), other).figures(["all"], ["total"]) is not None  # s03's did not
    got = build(str(root), one, None)
    assert got.total.calls == sum(r.store == "s02" for r in records) + len(late)
    assert figures_only(got) == figures_only(raw_report(root, one, None))
    # A partial month: the DuckDB path (day summaries there), same figures as the raw rows.
    week = Filters(since=date(2026, 11, 30), until=date(2026, 12, 6), stores=("s03",))
    assert KeptStores(str(root), week).figures(["all"], ["total"]) is None
    assert figures_only(build(str(root), week, None)) == figures_only(raw_report(root, week, None))


def test_a_one_store_report_does_not_load_duckdb_when_its_summaries_cover_it(ingested):
    import subprocess
    import sys

    root, _, _ = ingested
    check = (
        "import sys; from broker.chain.report import build; from broker.chain.figures import Filters; "
        f"r = build({str(root)!r}, Filters(stores=('s02',)), None); "
        "print(r.total.calls, 'duckdb' in sys.modules)"
    )
    before = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120, check=True)
    assert before.stdout.split()[1] == "True"  # no summaries yet: the raw rows, through DuckDB
    rebuild(root, committed_files(root))
    after = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120, check=True)
    assert after.stdout.split() == [before.stdout.split()[0], "False"]
