"""How fast are reports over a busy store's year, and does memory stay flat?

Generates event logs of 10k, 100k and 1M calls spread over one year (with their
events), in temporary files, straight through sqlite3 ``executemany``; then times
today's report, a week's report and the whole year's weekday x hour heatmap on each,
and prints peak RSS after each size.  Targets (issue 6): today <= 0.2 s, full year
<= 3 s, memory flat in the number of calls.

Run::

    python bench/report.py            # 10k, 100k, 1M
    python bench/report.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.contract.clock import iso  # noqa: E402
from broker.hub.eventlog import CALL_COLUMNS, connect, create_schema  # noqa: E402
from broker.reports.metrics import Metrics, Period, period  # noqa: E402

TZ = "Europe/Stockholm"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
YEAR_S = 365 * 86400
NOW = YEAR_START + YEAR_S - 86400 * 2 + 15 * 3600  # mid-afternoon, two days before the year ends
STAFF = [f"staff-{i}" for i in range(25)]
ZONES = ["electronics", "toys", "garden", "kitchen", "fitting"]
DEVICES = [f"kiosk-{i}" for i in range(20)]
REASONS = ["product", "fitting_room", "pickup", "checkout", None]
HOUR_WEIGHTS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 8, 7, 6, 6, 7, 8, 6, 4, 2, 0, 0, 0]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: str, n: int, seed: int = 1) -> float:
    """Write ``n`` calls over the year (opening hours weighted) plus ~3 events each; return seconds taken."""
    t0 = time.perf_counter()
    rnd = random.Random(seed)
    db = connect(path)
    create_schema(db)
    db.conn.execute("PRAGMA synchronous=OFF")
    cols = list(CALL_COLUMNS)
    call_sql = f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    event_sql = "INSERT INTO events (ts, mono, kind, topic, call_id, staff, device, payload) VALUES (?,?,?,?,?,?,?,?)"
    hours = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    batch, events = [], []
    # Sorted like a real log: the hub inserts calls in the order they open.
    times = sorted(
        YEAR_START + rnd.randrange(365) * 86400 + rnd.choice(hours) * 3600 - 3600 + rnd.random() * 3600
        for _ in range(n)
    )
    for i, opened in enumerate(times):
        device = rnd.choice(DEVICES)
        roll = rnd.random()
        ack = greet = close = None
        staff = greeted_by = None
        declines = 1 if rnd.random() < 0.05 else 0
        if roll < 0.90:
            status = "resolved"
            ack = rnd.expovariate(1 / 20)
            greet = ack + rnd.expovariate(1 / 40)
            close = greet + rnd.expovariate(1 / 200)
            staff = greeted_by = rnd.choice(STAFF)
        elif roll < 0.97:
            status, close = "cancelled", rnd.expovariate(1 / 90)
        else:
            status, close = "unattended", 600.0
        row = {
            "id": f"c{i:07d}",
            "store": "bench",
            "device": device,
            "zone": ZONES[hash(device) % len(ZONES)],
            "reason": rnd.choice(REASONS),
            "status": status,
            "staff": staff,
            "tier": 3 if status == "unattended" else 1,
            "opened_at": iso(opened),
            "acknowledged_at": None if ack is None else iso(opened + ack),
            "greeted_at": None if greet is None else iso(opened + greet),
            "closed_at": iso(opened + close),
            "time_to_ack_s": ack,
            "time_to_greet_s": greet,
            "time_to_close_s": close,
            "repeat_presses": 1 if rnd.random() < 0.1 else 0,
            "greeted_at_device": greet is not None,
            "greeted_by": greeted_by,
            "feedback_score": rnd.choice((None, None, 2, 3, 4, 4)),
            "outcome": None,
            "declines": declines,
            "escalated": status == "unattended",
            "opened_ts": opened,
            "current_tier": 1,
            "targets": "[]",
            "paged": json.dumps([staff] if staff else []),
            "declined": "[]",
            "repages": 0,
            "nobody_on_shift": False,
            "page_age_s": 0.0,
        }
        batch.append(tuple(row.get(c) for c in cols))
        events.append((iso(opened), opened, "received", "call", row["id"], None, device, "{}"))
        events.append((iso(opened), opened, "page", "page", row["id"], staff, device, "{}"))
        events.append((iso(opened + close), opened + close, "state", "state", row["id"], staff, device, "{}"))
        if declines:
            events.append((iso(opened + 5), opened + 5, "declined", None, row["id"], rnd.choice(STAFF), device, "{}"))
        if len(batch) >= 20000:
            db.conn.executemany(call_sql, batch)
            db.conn.executemany(event_sql, events)
            batch, events = [], []
    db.conn.executemany(call_sql, batch)
    db.conn.executemany(event_sql, events)
    db.conn.commit()
    db.conn.close()
    return time.perf_counter() - t0


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--keep", help="keep the generated files in this folder")
    args = ap.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="staffcall-bench-")
    os.makedirs(folder, exist_ok=True)
    today = period("today", TZ, NOW)
    week = period("week", TZ, NOW)
    year = Period("year 2026", YEAR_START, YEAR_START + YEAR_S, TZ)
    results = []
    print(
        f"{'calls':>10} {'generate':>9} {'index':>7} {'today':>8} {'week':>8} {'year hm':>8} "
        f"{'year all':>9} {'RSS MB':>7}"
    )
    for n in args.sizes:
        path = os.path.join(folder, f"calls-{n}.db")
        gen = 0.0
        if not os.path.exists(path):
            # In a child process, so the peak RSS printed below is the reports' alone.
            t0 = time.perf_counter()
            child = multiprocessing.Process(target=generate, args=(path, n))
            child.start()
            child.join()
            gen = time.perf_counter() - t0
        conn = sqlite3.connect(path)
        t0 = time.perf_counter()
        m = Metrics(conn, TZ, 60.0)  # creates the report indexes (once per database)
        index_s = time.perf_counter() - t0
        t_today = timed(lambda m=m: m.report(today, "hour", NOW))
        t_week = timed(lambda m=m: m.report(week, "day", NOW))
        t_heat = timed(lambda m=m: m.heatmap(year), repeat=2)
        t_year = timed(lambda m=m: m.report(year, "weekday", NOW), repeat=1)
        conn.close()
        results.append((n, t_today, t_week, t_heat, t_year))
        print(
            f"{n:>10,} {gen:>8.1f}s {index_s:>6.2f}s {t_today:>7.3f}s {t_week:>7.3f}s {t_heat:>7.3f}s "
            f"{t_year:>8.3f}s {rss_mb():>7.0f}"
        )
        sys.stdout.flush()
    base = results[0]
    print(f"\ngrowth relative to {base[0]:,} calls (x calls: today / week / year heatmap / year full report):")
    for n, *ts in results[1:]:
        ratios = " / ".join(f"{t / b:.1f}x" for t, b in zip(ts, base[1:], strict=True))
        print(f"  {n / base[0]:>5.0f}x calls: {ratios}")
    last = results[-1]
    ok_today = last[1] <= 0.2
    ok_year = last[3] <= 3.0
    print(
        f"\ntargets at {last[0]:,} calls: today {last[1]:.3f}s <= 0.2s {'OK' if ok_today else 'MISSED'}; "
        f"year by weekday x hour {last[3]:.3f}s <= 3s {'OK' if ok_year else 'MISSED'}; peak RSS {rss_mb():.0f} MB"
    )
    if not args.keep:
        for n in args.sizes:
            os.remove(os.path.join(folder, f"calls-{n}.db"))
        os.rmdir(folder)
    return 0 if ok_today and ok_year else 1


if __name__ == "__main__":
    sys.exit(main())
