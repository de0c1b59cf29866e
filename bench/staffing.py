"""How fast are ``staffcall simulate`` and ``staffcall staffing`` on a busy store, and is memory flat?

Generates a store (``bench/_staffstore.py``: Poisson calls through the real dispatcher, written with the
hub's schema code), then times, in this process: one replay with who was really on shift of one week and
of four weeks (target: a month of ~85,000 calls in <= 10 s), the staffing advice over the whole period
(target: 8 weeks in <= 30 s), next to a baseline measured in the same run: a plain loop over the same calls
that builds each call's row as the dispatcher does (``Call.to_row``).  Prints seconds, the ratio to the
baseline, the replay's own memory peak (tracemalloc, in an untimed second run) for one and four weeks,
and peak RSS.

Run::

    python bench/staffing.py                      # 8 weeks, ~170,000 calls (~85,000 a month)
    python bench/staffing.py --days 14 --rate 20  # quicker
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._staffstore import store_config, write_store  # noqa: E402
from broker.core.calls import Call  # noqa: E402
from broker.core.replay import Replay  # noqa: E402
from broker.core.staffing import Advisor  # noqa: E402
from broker.hub.eventlog import connect  # noqa: E402
from broker.hub.words import page_words  # noqa: E402
from broker.reports.history import read_history  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=56, help="days generated; the advice reads them all")
    ap.add_argument("--rate", type=float, default=47.0, help="calls per zone at a weight-1 hour")
    ap.add_argument("--zones", type=int, default=6)
    ap.add_argument("--staff", type=int, default=6, help="colleagues per zone (at 4 it is overloaded)")
    ap.add_argument("--target", type=float, default=90.0, help="[store] target_greet_s of the generated store")
    ap.add_argument(
        "--patience", type=float, default=1800.0, help="customers' mean patience (s): short, and no staffing keeps 90%%"
    )
    a = ap.parse_args()
    cfg = store_config(a.zones, a.staff, target=a.target)
    first = date(2026, 3, 2)
    tz = ZoneInfo(cfg.store.timezone)

    def at(days: int) -> float:
        d = first + timedelta(days=days)
        return datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "staffcall.db"
        t = time.perf_counter()
        # In a child process: the generator's memory must not count in this process's peak RSS.
        child = multiprocessing.get_context("fork").Process(
            target=write_store,
            args=(path, cfg, first, a.days, a.rate),
            kwargs={"seed": 1, "patience_mean_s": a.patience},
        )
        child.start()
        child.join()
        print(f"generated {a.days} days of calls in {time.perf_counter() - t:.1f} s (in a child process)")
        print(f"peak RSS       {rss_mb():7.0f} MB before reading anything")
        conn = connect(str(path)).conn
        words = page_words(cfg)
        month = min(28, a.days)
        h = read_history(conn, at(0), at(month))
        t = time.perf_counter()
        for c in h.calls:  # baseline: one dispatcher-shaped row per call, no routing
            Call(c.id, c.device, c.zone, c.reason, c.opened, c.opened).to_row("b")
        base_s = time.perf_counter() - t
        per_call = base_s / len(h.calls)
        print(f"baseline loop  {base_s:7.2f} s for {len(h.calls)} calls ({per_call * 1e6:.1f} us a call)")
        for days in sorted({min(7, a.days), month}):
            hd = read_history(conn, at(0), at(days))
            behaviour = hd.behaviour()
            t = time.perf_counter()
            r = Replay(cfg, words, behaviour, seed=1).run(hd.calls, hd.shifts)
            replay_s = time.perf_counter() - t
            tracemalloc.start()
            Replay(cfg, words, behaviour, seed=1).run(hd.calls, hd.shifts)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            ratio = replay_s / (per_call * len(hd.calls))
            print(
                f"replay {days:2d} days {replay_s:7.2f} s  = {ratio:.0f}x baseline, {len(hd.calls)} calls, "
                f"{len(hd.calls) / replay_s:.0f} calls/s, {85000 / len(hd.calls) * replay_s:.1f} s per 85,000 calls "
                f"(target <= 10 s); replay's memory peak {peak / 1e6:.1f} MB "
                f"({peak / len(r.calls):.0f} B a call, the outcomes it returns)"
            )
            del hd, r
            print(f"peak RSS       {rss_mb():7.0f} MB after reading and replaying {days} days")
        hall = read_history(conn, at(0), at(a.days))
        t = time.perf_counter()
        adv = Advisor(cfg, words, hall.behaviour())
        rows = adv.advise(hall.calls, hall.actual, hall.busy, hall.shifts, at(0), at(a.days))
        adv_s = time.perf_counter() - t
        replayed = sum(r.replayed_calls for r in rows)
        print(
            f"advice {a.days} days {adv_s:7.2f} s  = {adv_s / (per_call * len(hall.calls)):.0f}x baseline, "
            f"{len(hall.calls)} calls, {len(rows)} slots ({sum(r.short for r in rows)} short even at the cap), "
            f"{replayed} calls per search pass (target: 8 weeks <= 30 s)"
        )
        print(f"peak RSS       {rss_mb():7.0f} MB")


if __name__ == "__main__":
    main()
