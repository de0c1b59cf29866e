"""How fast are ``staffcall simulate`` and ``staffcall staffing`` on a busy store?

Generates a store (``bench/_staffstore.py``: Poisson calls through the real dispatcher, written with the
hub's schema code), then times, in this process: reading the history, one replay of the period with who
was really on shift (target: a month of ~85,000 calls in <= 10 s), and the staffing advice (target:
8 weeks in <= 30 s), next to a baseline measured in the same run: a plain loop over the same calls that
builds each call's row as the dispatcher does (``Call.to_row``).  Prints seconds, the ratio to the
baseline and peak RSS.

Run::

    python bench/staffing.py                      # 30 days, ~85,000 calls
    python bench/staffing.py --days 7 --rate 20   # quicker
"""

from __future__ import annotations

import argparse
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
from broker.core.staffing import Advisor  # noqa: E402
from broker.hub.eventlog import connect  # noqa: E402
from broker.hub.words import page_words  # noqa: E402
from broker.reports.history import read_history  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rate", type=float, default=47.0, help="calls per zone at a weight-1 hour")
    ap.add_argument("--zones", type=int, default=6)
    ap.add_argument("--staff", type=int, default=4, help="colleagues per zone")
    ap.add_argument("--advice", action="store_true", help="time the staffing advice too")
    a = ap.parse_args()
    cfg = store_config(a.zones, a.staff)
    first = date(2026, 3, 2)
    tz = ZoneInfo(cfg.store.timezone)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "staffcall.db"
        t = time.perf_counter()
        n = write_store(path, cfg, first, a.days, a.rate, seed=1)
        print(f"generated {n} calls over {a.days} days in {time.perf_counter() - t:.1f} s")
        since = datetime(first.year, first.month, first.day, tzinfo=tz).timestamp()
        end = first + timedelta(days=a.days)
        until = datetime(end.year, end.month, end.day, tzinfo=tz).timestamp()
        conn = connect(str(path)).conn
        t = time.perf_counter()
        h = read_history(conn, since, until)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        for c in h.calls:  # baseline: one dispatcher-shaped row per call, no routing
            Call(c.id, c.device, c.zone, c.reason, c.opened, c.opened).to_row("b")
        base_s = time.perf_counter() - t
        t = time.perf_counter()
        r = Replay(cfg, page_words(cfg), h.behaviour(), seed=1).run(h.calls, h.shifts)
        replay_s = time.perf_counter() - t
        print(f"read history   {read_s:7.2f} s  ({len(h.calls)} calls, {len(h.shifts)} presence changes)")
        print(f"baseline loop  {base_s:7.2f} s")
        print(
            f"replay         {replay_s:7.2f} s  = {replay_s / base_s:.0f}x baseline, {len(r.calls)} calls, "
            f"{len(h.calls) / replay_s:.0f} calls/s  (target: 85,000 calls <= 10 s)"
        )
        if a.advice:
            t = time.perf_counter()
            adv = Advisor(cfg, page_words(cfg), h.behaviour())
            rows = adv.advise(h.calls, h.actual, h.busy, h.shifts, since, until)
            adv_s = time.perf_counter() - t
            print(f"advice         {adv_s:7.2f} s  = {adv_s / base_s:.0f}x baseline, {len(rows)} slots")
        print(f"peak RSS       {rss_mb():7.0f} MB")


if __name__ == "__main__":
    main()
