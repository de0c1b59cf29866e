"""How fast is ``staffcall chain report`` over a chain's files, run as head office runs it?

Makes 1,000 stores x 30,000 closed calls (30M) over 90 local days, written as the ingest writes
them (``broker.chain.sample.write_bulk``: Parquet, ``store=*/month=*/``), cached in the temp
folder under the size and a version, so re-runs only time.

Then brings the kept summaries up to date (``staffcall chain ingest --rebuild-summaries``, timed
and printed when it had to run; ``--rebuild`` forces it), and times the real command, whole
process (``staffcall chain report ...`` via subprocess, best of ``--repeat``): the chain, the
chain with each ``--by``, as ``--html``, and one store; next to
baselines measured in the same run, in one process each: DuckDB's ``count(*)`` over the same
files (metadata only) and a plain scan of the columns the report reads, and for one store the
same over its files; this week and this month so far (day summaries: periods that cover a month
in part).  Prints seconds, the ratio to the baseline and each process's peak RSS.
Targets (issue 19): the chain <= 2 s, one store <= 0.2 s.

Run::

    python bench/chain_report.py                       # 1,000 stores x 30,000 calls
    python bench/chain_report.py --stores 100 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.chain.sample import write_bulk  # noqa: E402

VERSION = 1
END = "2026-12-06"
"""The sample's last local day (``write_bulk``'s default): "today" for this week and this month so far."""
"""Bump when the generator's output changes: a new cache folder."""
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

BASELINE = """
import sys, duckdb
from broker.chain.files import parquet_files
files = parquet_files(sys.argv[1], None if sys.argv[2] == "*" else [sys.argv[2]])
con = duckdb.connect()
if sys.argv[3] == "count":
    print(con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone())
else:
    print(con.execute("SELECT count(*), sum(time_to_ack_s), sum(time_to_greet_s), sum(time_to_close_s), "
          "count(status), count(store), count(region), count(local_date), sum(target_greet_s), "
          "sum(feedback_score) FROM read_parquet($f)", {"f": files}).fetchone())
"""
"""A plain pass: DuckDB's count over the files, or a sum of the columns the report reads."""


def data(stores: int, calls: int) -> Path:
    root = Path(tempfile.gettempdir()) / f"staffcall-bench-chain-{stores}x{calls}-v{VERSION}"
    if not root.exists():
        part = root.with_name(root.name + ".part")
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % 50 == 0 or done == total:
                print(f"\r  making the chain's files: {done}/{total} stores", end="", file=sys.stderr, flush=True)

        write_bulk(part, stores, calls, progress=progress)
        os.replace(part, root)
        print(f"\n  made {stores * calls:,} calls in {time.perf_counter() - t0:.0f} s: {root}", file=sys.stderr)
    return root


def summaries_fresh(root: Path) -> bool:
    from broker.chain.cells import fingerprint, month_of, read_current
    from broker.chain.files import committed_files

    months: dict[str, list[str]] = {}
    for rel in committed_files(root):
        months.setdefault(month_of(rel), []).append(rel)
    return all((cur := read_current(root, m)) and cur["fingerprint"] == fingerprint(r) for m, r in months.items())


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process (RSS from ``/usr/bin/time``, as bench/report.py)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "RSS_KB %M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=INSTALLED_ENV
    )
    elapsed = time.perf_counter() - t0
    err = proc.stderr.decode(errors="replace")
    if proc.returncode:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    kb = [line for line in err.splitlines() if line.startswith("RSS_KB ")][-1].split()[1]
    return elapsed, int(kb) / 1024


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = [run(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=30_000, help="calls per store")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the best is shown")
    ap.add_argument("--store", default="s0042", help="the store of the one-store report")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the kept summaries even when fresh")
    args = ap.parse_args()
    root = data(args.stores, args.calls)
    py = sys.executable
    if args.rebuild or not summaries_fresh(root):
        secs, rss = run([py, "-m", "broker.cli", "chain", "ingest", "--data", str(root), "--rebuild-summaries"])
        print(f"kept summaries rebuilt from {args.stores * args.calls:,} calls: {secs:.0f} s, RSS {rss:.0f} MB")
    report = [py, "-m", "broker.cli", "chain", "report", "--data", str(root)]
    html = Path(tempfile.gettempdir()) / "staffcall-bench-chain.html"
    one = [*report, "--store", args.store]
    week = ["--week", "--today", END]  # the sample's last day: this week cuts November and December
    so_far = ["--since", END[:8] + "01", "--until", END]  # this month so far: the current month in part
    cases = [
        ("one store: count(*) baseline", [py, "-c", BASELINE, str(root), args.store, "count"], None, None),
        ("one store: column scan baseline", [py, "-c", BASELINE, str(root), args.store, "scan"], None, None),
        ("one store: chain report --store", one, "one store: column scan baseline", 0.2),
        ("one store: this week", [*one, *week], "one store: column scan baseline", 0.2),
        ("one store: this month so far", [*one, *so_far], "one store: column scan baseline", 0.2),
        ("chain: count(*) baseline", [py, "-c", BASELINE, str(root), "*", "count"], None, None),
        ("chain: column scan baseline", [py, "-c", BASELINE, str(root), "*", "scan"], None, None),
        ("chain: chain report", report, "chain: column scan baseline", 2.0),
        *[
            (f"chain: --by {by}", [*report, "--by", by], "chain: column scan baseline", 2.0)
            for by in ("store", "region", "weekday", "hour")
        ],  # fmt: skip
        ("chain: --html", [*report, "--html", str(html)], "chain: column scan baseline", 2.0),
        ("chain: this week", [*report, *week], "chain: column scan baseline", 2.0),
        ("chain: this month so far", [*report, *so_far], "chain: column scan baseline", 2.0),
        ("chain: this week --by store", [*report, *week, "--by", "store"], "chain: column scan baseline", 2.0),
    ]
    print(f"staffcall chain report over {args.stores:,} stores x {args.calls:,} calls "
          f"({args.stores * args.calls:,}), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'case':36s} {'seconds':>9s} {'x base':>8s} {'RSS MB':>8s} {'target':>8s}")
    seen: dict[str, float] = {}
    for name, cmd, base, target in cases:
        secs, rss = best(cmd, args.repeat)
        seen[name] = secs
        ratio = f"{secs / seen[base]:.1f}" if base else "1.0"
        goal = f"<= {target:g} s" if target else ""
        flag = "" if not target else ("  ok" if secs <= target else "  MISSED")
        print(f"{name:36s} {secs:9.2f} {ratio:>8s} {rss:8.0f} {goal:>8s}{flag}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
