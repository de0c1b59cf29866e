"""Kept report cells: sealed days give exactly what the call rows give, and a rebuild gives them again."""

from __future__ import annotations

import random
import sqlite3

from broker.hub.eventlog import EventLog
from broker.hub.reportcells import kth, rebuild
from broker.reports.metrics import Metrics, period
from tests.broker.conftest import TZ, Log, local_ts

NOW = local_ts("2026-12-30 15:00:00")
STATUSES = ["resolved"] * 8 + ["cancelled", "unattended", "waiting", "greeted"]


def fill(log: Log, n: int = 600, seed: int = 3) -> None:
    rnd = random.Random(seed)
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
        )


def reports(conn: sqlite3.Connection) -> list:
    m = Metrics(conn, TZ, 60, create_indexes=False)
    p = period("range", TZ, NOW, since=__import__("datetime").date(2026, 1, 1))
    return [m.report(p, by, NOW).to_dict() for by in (None, "staff", "zone", "weekday", "hour", "day")]


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
    march = int(local_ts("2026-03-29 10:00:00") // 86400)
    dirty = {u for (u,) in log.conn.execute("SELECT utc_day FROM report_dirty")}
    assert march not in dirty  # sealed by the writer, in the call's transaction
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
