"""How fast are ``staffcall simulate`` and ``staffcall staffing`` on a busy store, and is memory flat?

Generates a store (``bench/_staffstore.py``: Poisson calls through the real dispatcher, written with the
hub's schema code), then times, in this process, as the commands do (the log read a week at a time):
a replay with who was really on shift and the staffing advice over one week, then a replay of four
weeks (target: a month of ~85,000 calls in <= 10 s) and the advice over the whole period (target:
8 weeks in <= 30 s), next to a baseline measured in the same run: a plain loop reading the same calls
from the log and building each call's row as the dispatcher does (``Call.to_row``).
Prints seconds, the ratio to the baseline, and peak RSS after the week and after the whole period
(memory flat: the second within ~20% of the first).

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
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._staffstore import store_config, write_store  # noqa: E402
from broker.core.calls import Call  # noqa: E402
from broker.core.replay import Replay  # noqa: E402
from broker.hub.eventlog import connect  # noqa: E402
from broker.hub.words import page_words  # noqa: E402
from broker.reports.history import iter_calls, read_behaviour, read_shifts  # noqa: E402
from broker.reports.staffing import Figures, advise  # noqa: E402


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
        t = time.perf_counter()
        n_base = 0
        for c in iter_calls(conn, at(0), at(month)):  # baseline: read each call, build its row, no routing
            Call(c.id, c.device, c.zone, c.reason, c.opened, c.opened).to_row("b")
            n_base += 1
        base_s = time.perf_counter() - t
        per_call = base_s / n_base
        print(f"baseline loop  {base_s:7.2f} s for {n_base} calls ({per_call * 1e6:.1f} us a call, read from the log)")
        week = min(7, a.days)
        rss: dict[str, float] = {}

        def replay(days: int) -> None:
            # As ``staffcall simulate`` does: behaviour read a week at a time, the calls pressed as they are read.
            behaviour = read_behaviour(conn, at(0), at(days))
            shifts = read_shifts(conn, at(0), at(days))
            fig = Figures(a.target)
            t = time.perf_counter()
            Replay(cfg, words, behaviour, seed=1, sink=fig.add).run(iter_calls(conn, at(0), at(days)), shifts)
            replay_s = time.perf_counter() - t
            n = fig.calls
            print(
                f"replay {days:2d} days {replay_s:7.2f} s  = {replay_s / (per_call * n):.0f}x baseline, {n} calls, "
                f"{n / replay_s:.0f} calls/s, {85000 / n * replay_s:.1f} s per 85,000 calls (target <= 10 s)"
            )

        def advice(days: int) -> None:
            t = time.perf_counter()
            _, rows = advise(cfg, conn, at(0), at(days), 0.9, None, 1)
            adv_s = time.perf_counter() - t
            calls = sum(r.calls for r in rows)
            replayed = sum(r.replayed_calls for r in rows)
            print(
                f"advice {days:2d} days {adv_s:7.2f} s  = {adv_s / (per_call * calls):.0f}x baseline, "
                f"{calls} calls, {len(rows)} slots ({sum(r.short for r in rows)} short even at the cap), "
                f"{replayed} calls per search pass (target: 8 weeks <= 30 s)"
            )

        replay(week)
        advice(week)
        rss["first"] = rss_mb()
        print(f"peak RSS       {rss['first']:7.0f} MB after replaying and advising over {week} days")
        replay(month)
        advice(a.days)
        rss["all"] = rss_mb()
        print(
            f"peak RSS       {rss['all']:7.0f} MB after replaying {month} and advising over {a.days} days "
            f"= {rss['all'] / rss['first']:.2f}x the {week}-day peak (flat: <= 1.2x)"
        )


if __name__ == "__main__":
    main()
