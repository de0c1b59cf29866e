"""Kept report cells: sealed days give exactly what the call rows give, and a rebuild gives them again."""

from __future__ import annotations

import random
import sqlite3
from datetime import date

from broker.hub.eventlog import EventLog
from broker.hub.reportcells import kth, month_of, rebuild, seal_dirty
from broker.reports.metrics import Metrics, period
from tests.broker.conftest import TZ, Log, local_ts

NOW = local_ts("2026-12-30 15:00:00")
STATUSES = ["resolved"] * 8 + ["cancelled", "unattended", "waiting", "greeted"]


def fill(log: Log, n: int = 600, seed: int = 3) -> None:
    rnd = random.Random(seed)
    promises = random.Random(seed + 1)  # its own draws: the other columns stay as they were
    for i in range(n):
        day = rnd.choice(["03-28", "03-29", "03-30", "10-24", "10-25", "10-26", "12-29", "12-30"])
        hour = rnd.choice(["00:30", "02:30", "09:15", "23:59"])
        status = rnd.choice(STATUSES)
        greet = None if status in ("cancelled", "unattended", "waiting") else round(rnd.expovariate(1 / 50), 3)
        log.call(
            f"2026-{day} {hour}:00",
            status=status,
            id=f"k{i}",
            zone=rnd.choice(["toys", "garden", None]),
            time_to_ack_s=round(rnd.expovariate(1 / 20), 3) if rnd.random() < 0.8 else None,
            time_to_greet_s=greet,
            time_to_close_s=round(rnd.expovariate(1 / 90), 3),
            greeted_by=rnd.choice(["anna", "ben"]) if greet is not None else None,
            feedback_score=rnd.choice([None, 1, 2, 3, 4]),
            declines=1 if rnd.random() < 0.1 else 0,
            declined='["chloe"]',
            eta_first_s=promises.choice([None, 30.0, 45.0, 60.0, 95.0]),
        )


def reports(conn: sqlite3.Connection) -> list:
    """Every report a manager can ask for over the filled year, whole months (DST ones) and this month."""
    m = Metrics(conn, TZ, 60, create_indexes=False)
    year = period("range", TZ, NOW, since=date(2026, 1, 1))
    march = period("range", TZ, NOW, since=date(2026, 3, 1), until=date(2026, 3, 31))
    october = period("range", TZ, NOW, since=date(2026, 2, 27), until=date(2026, 11, 2))
    out = [m.report(year, by, NOW).to_dict() for by in (None, "staff", "zone", "weekday", "hour", "day")]
    out += [m.report(p, by, NOW).to_dict() for p in (march, october) for by in (None, "hour", "weekday")]
    out += [m.report(period("month", TZ, NOW), by, NOW).to_dict() for by in (None, "staff", "hour")]
    return out


def test_sealed_cells_equal_the_rows_and_a_rebuild_gives_them_again(log):
    fill(log)
    live = reports(log.conn)  # nothing built yet: every day from the rows
    assert rebuild(log.conn, TZ, NOW) > 0
    assert log.conn.execute("SELECT count(*) FROM report_cells").fetchone()[0] > 0
    assert reports(log.conn) == live
    log.conn.execute("DELETE FROM report_cells")
    log.conn.execute("UPDATE report_cells SET calls = 0")
    rebuild(log.conn, TZ, NOW)
    assert reports(log.conn) == live


def test_a_late_write_to_a_sealed_day_is_read_from_the_rows_until_the_hub_seals_it(tmp_path):
    log = Log(str(tmp_path / "s.db"))
    fill(log, 200)
    rebuild(log.conn, TZ, NOW)
    log.conn.execute("UPDATE calls SET feedback_score = 4, status = 'resolved' WHERE id = 'k7'")
    log.conn.commit()
    before = reports(log.conn)
    ev = EventLog(log.path, timezone=TZ)
    ev.start()
    ev.submit(
        [
            (
                "call",
                {
                    "id": "late",
                    "device": "k1",
                    "status": "resolved",
                    "opened_at": "x",
                    "opened_ts": local_ts("2026-03-29 10:00:00"),
                    "time_to_greet_s": 5.0,
                },
            )
        ]
    )
    assert ev.flush(60)
    ev.submit(
        [
            (
                "call",
                {
                    "id": "late",
                    "device": "k1",
                    "status": "resolved",
                    "opened_at": "x",
                    "opened_ts": local_ts("2026-03-29 10:00:00"),
                    "time_to_greet_s": 5.0,
                    "feedback_score": 2,
                },
            )
        ]
    )
    assert ev.flush(60) and not ev.degraded  # an upsert of a known call marks its day too (the trigger)
    ev.stop()
    quarter = int(local_ts("2026-03-29 10:00:00") // 900)
    stale = {q for (q,) in log.conn.execute("SELECT quarter FROM report_stale")}
    assert quarter not in stale  # sealed by the writer, in the call's transaction
    after = reports(log.conn)
    assert after[0]["total"]["calls"] == before[0]["total"]["calls"] + 1
    log.conn.execute("DELETE FROM report_meta")  # compare with every day from the rows
    log.conn.commit()
    assert reports(log.conn) == after


def test_kth_of_sorted_arrays_with_ties():
    from array import array

    arrays = [array("d", [1, 2, 2, 9]), array("d", [2, 2, 3]), array("d"), array("d", [0, 10])]
    flat = sorted(v for a in arrays for v in a)
    assert [kth(arrays, k) for k in range(len(flat))] == flat


def test_months_are_read_merged_and_a_late_write_sends_its_month_back_to_the_days(log):
    fill(log)
    live = reports(log.conn)
    rebuild(log.conn, TZ, NOW)
    march = month_of(int(local_ts("2026-03-15 12:00:00") // 86400))
    assert log.conn.execute("SELECT count(*) FROM report_month_cells WHERE month = ?", (march,)).fetchone()[0] > 0
    # Spoil March's day cells: figures that still equal the rows read the merged month (the trend is per day).
    log.conn.execute("UPDATE report_cells SET calls = calls + 1000 WHERE day >= ? AND day < ?", (march, march + 31))
    log.conn.commit()
    spoilt = reports(log.conn)

    def by_month(rs: list) -> list:
        return [dict(r, trend=None) for r in rs if r["by"] != "day"]

    assert by_month(spoilt) == by_month(live)
    assert spoilt != live
    rebuild(log.conn, TZ, NOW)
    # A late write to a sealed March day, not sealed again yet: March is stale and read day by day, live.
    log.conn.execute("UPDATE calls SET time_to_greet_s = 1.0, status = 'resolved' WHERE id = 'k3'")
    log.conn.commit()
    after = reports(log.conn)
    log.conn.execute("DELETE FROM report_meta")  # every day from the rows
    log.conn.commit()
    assert reports(log.conn) == after
    assert after != live


def test_a_log_kept_by_an_older_version_is_rebuilt_on_open(log):
    fill(log, 100)
    live = reports(log.conn)
    rebuild(log.conn, TZ, NOW)
    log.conn.execute("UPDATE report_meta SET value = '1' WHERE key = 'version'")
    log.conn.execute("DELETE FROM report_month_cells")
    log.conn.commit()
    Metrics(log.conn, TZ, 60)  # the report's open: ensure_kept sees the old version and builds again
    assert log.conn.execute("SELECT value FROM report_meta WHERE key = 'version'").fetchone()[0] != "1"
    assert log.conn.execute("SELECT count(*) FROM report_month_cells").fetchone()[0] > 0
    assert reports(log.conn) == live


def test_the_writer_seals_a_day_once_after_it_ends_not_at_every_commit_of_today(log):
    fill(log, 100)
    rebuild(log.conn, TZ, NOW)
    # Calls of today (one in its first quarter hour, whose UTC day is yesterday's) touch no sealed day.
    log.call("2026-12-30 00:10:00", id="t1", time_to_greet_s=5.0)
    log.call("2026-12-30 14:00:00", id="t2", time_to_greet_s=7.0)
    assert seal_dirty(log.conn, TZ, NOW) == []
    log.conn.commit()
    # The first commit after midnight seals the day that ended (and merges its month), once.
    tomorrow = NOW + 86400
    log.call("2026-12-31 09:00:00", id="t3", time_to_greet_s=9.0)
    assert seal_dirty(log.conn, TZ, tomorrow) == [int(local_ts("2026-12-30 12:00:00") // 86400)]
    log.conn.commit()
    log.call("2026-12-31 09:30:00", id="t4", time_to_greet_s=9.0)
    assert seal_dirty(log.conn, TZ, tomorrow) == []
    log.conn.commit()
    m = Metrics(log.conn, TZ, 60, create_indexes=False)
    kept = m.report(period("month", TZ, tomorrow), "hour", tomorrow).to_dict()
    log.conn.execute("DELETE FROM report_meta")  # every day from the rows
    log.conn.commit()
    assert (
        Metrics(log.conn, TZ, 60, create_indexes=False)
        .report(period("month", TZ, tomorrow), "hour", tomorrow)
        .to_dict()
        == kept
    )


def test_an_old_log_is_upgraded_on_open_with_a_progress_bar(tmp_path, monkeypatch):
    from rich.progress import Progress

    from broker.reports.metrics import open_metrics

    log = Log(str(tmp_path / "old.db"))
    fill(log, 100)
    for table in ("report_cells", "report_month_cells", "report_stale", "report_meta"):
        log.conn.execute(f"DROP TABLE {table}")  # a log from before the kept data
    log.conn.commit()
    shown: list[tuple] = []
    real_update = Progress.update

    def update(self, task, **kw):
        shown.append((kw.get("completed"), kw.get("total")))
        return real_update(self, task, **kw)

    monkeypatch.setattr(Progress, "update", update)
    m = open_metrics(log.path, TZ, 60)
    assert shown and shown[-1][0] == shown[-1][1] > 0  # the bar went to its end
    assert m.conn.execute("SELECT count(*) FROM report_month_cells").fetchone()[0] > 0


def test_the_day_rows_come_from_the_covering_index_alone(log):
    """The day report reads its rows from the narrow index only: a column missing from it (as ``outcome``
    once was) costs a table lookup per call, a third of the day report's time."""
    from broker.hub.reportcells import REPORT_INDEX, ROW_SQL

    fill(log, n=20)
    plan = " ".join(r[3] for r in log.conn.execute("EXPLAIN QUERY PLAN " + ROW_SQL + " WHERE opened_ts >= 0"))
    assert f"COVERING INDEX {REPORT_INDEX}" in plan


def test_the_writer_replaces_a_report_index_of_an_older_version(tmp_path):
    """An index an older version made over fewer columns is dropped when the hub opens the log."""
    from broker.hub.eventlog import connect, create_schema
    from broker.hub.reportcells import REPORT_INDEX

    db = connect(str(tmp_path / "old.db"))
    create_schema(db)
    db.execute(f"DROP INDEX {REPORT_INDEX}")
    db.execute("CREATE INDEX idx_calls_report ON calls(opened_ts, status)")
    create_schema(db)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()}
    assert REPORT_INDEX in names and "idx_calls_report" not in names
