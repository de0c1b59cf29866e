"""How fast is ``staffcall report`` over a busy store's year, as a manager runs it?

Makes a year of 1M calls (with their events) ending now, through the hub's own schema code
(``broker.hub.eventlog.create_schema``), and builds the kept report data with
``staffcall report --rebuild``.  The file is cached in the temp folder under a hash of the
schema, the size and today's date, so a schema change makes a new one and re-runs are fast.

Then times the real commands, whole process (``staffcall report ...`` via subprocess, best of
``--repeat``): today, week, month, the year with each ``--by``, and the year as ``--html``; next
to a plain-SQL baseline in the same run (one process making one pass over every row the year
needs), with each process's peak RSS.  Targets (issue 16): today <= 0.1 s, month <= 0.2 s,
a year (any ``--by``, HTML too) <= 0.5 s, RSS <= 256 MB.  Each call carries the greeting promised
to the customer (``eta_first_s``...), so every report includes promises kept and the shown-vs-actual
calibration; the bench prints those figures from the year, the month and today.

Run::

    python bench/report.py                 # 1M calls
    python bench/report.py --calls 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import site as sitepackages
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.contract.clock import iso  # noqa: E402
from broker.hub.eventlog import CALL_COLUMNS, connect, create_schema  # noqa: E402

TZ = "Europe/Stockholm"
STAFF = [f"staff-{i}" for i in range(25)]
ZONES = ["electronics", "toys", "garden", "kitchen", "fitting"]
DEVICES = [f"kiosk-{i}" for i in range(20)]
REASONS = ["product", "fitting_room", "pickup", "checkout", None]
HOUR_WEIGHTS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 8, 7, 6, 6, 7, 8, 6, 4, 2, 0, 0, 0]
GENERATOR = "3"
"""Bumped when ``generate`` changes: part of the cache key, with the schema."""
BYS = (None, "hour", "day", "weekday", "zone", "device", "staff", "reason", "outcome")
OUTCOMES = ["found", "sold", "not in stock", None]


def schema_hash() -> str:
    """A hash of the schema the hub makes (tables, indexes, triggers): a change makes a new bench file."""
    db = connect(":memory:")
    create_schema(db)
    sql = sorted(r[0] or "" for r in db.conn.execute("SELECT sql FROM sqlite_master"))
    return hashlib.sha256(("\n".join(sql) + GENERATOR).encode()).hexdigest()[:12]


def generate(path: str, n: int, now: float, seed: int = 1) -> None:
    """Write ``n`` calls over the 365 local days ending at ``now`` (opening hours weighted), ~3 events each."""
    rnd = random.Random(seed)
    tz = ZoneInfo(TZ)
    today = datetime.fromtimestamp(now, tz).date()
    midnights = [datetime.combine(today - timedelta(days=d), datetime.min.time(), tz).timestamp() for d in range(365)]
    db = connect(path)
    create_schema(db)
    db.conn.execute("PRAGMA synchronous=OFF")
    cols = list(CALL_COLUMNS)
    call_sql = f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    event_sql = "INSERT INTO events (ts, mono, kind, topic, call_id, staff, device, payload) VALUES (?,?,?,?,?,?,?,?)"
    hours = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    times: list[float] = []
    while len(times) < n:
        t = rnd.choice(midnights) + rnd.choice(hours) * 3600 + rnd.random() * 3600
        if t < now - 700:  # closed by now
            times.append(t)
    times.sort()  # like a real log: the hub inserts calls in the order they open
    batch, events = [], []
    for i, opened in enumerate(times):
        device = rnd.choice(DEVICES)
        roll = rnd.random()
        ack = greet = close = None
        staff = greeted_by = None
        declined = [rnd.choice(STAFF)] if rnd.random() < 0.05 else []
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
        # The times shown (5 s steps): busier hours are promised longer, as the estimator learns them.
        shown = 5 * round((45 + 6 * HOUR_WEIGHTS[datetime.fromtimestamp(opened, tz).hour] + rnd.gauss(0, 8)) / 5)
        promise = None if rnd.random() < 0.03 else float(max(15, shown))
        row = {
            "id": f"c{i:07d}",
            "store": "bench",
            "device": device,
            "zone": ZONES[int(device.split("-")[1]) % len(ZONES)],
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
            "outcome": rnd.choice(OUTCOMES) if status == "resolved" else None,
            "declines": len(declined),
            "escalated": status == "unattended",
            "opened_ts": opened,
            "current_tier": 1,
            "targets": "[]",
            "paged": json.dumps([staff] if staff else []),
            "declined": json.dumps(declined),
            "repages": 0,
            "nobody_on_shift": False,
            "page_age_s": 0.0,
            "eta_first_s": promise,
            "eta_ack_s": None if promise is None or ack is None else round(ack + 30, 3),
            "eta_last_s": None if promise is None or ack is None else round(ack + 30, 3),
        }
        batch.append(tuple(row.get(c) for c in cols))
        events.append((iso(opened), opened, "received", "call", row["id"], None, device, "{}"))
        events.append((iso(opened), opened, "page", "page", row["id"], staff, device, "{}"))
        events.append((iso(opened + close), opened + close, "state", "state", row["id"], staff, device, "{}"))
        if declined:
            events.append((iso(opened + 5), opened + 5, "declined", None, row["id"], declined[0], device, "{}"))
        if len(batch) >= 20000:
            db.conn.executemany(call_sql, batch)
            db.conn.executemany(event_sql, events)
            batch, events = [], []
    db.conn.executemany(call_sql, batch)
    db.conn.executemany(event_sql, events)
    db.conn.commit()
    db.conn.close()


INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The commands run as installed, byte-compiled (as pip leaves a package): with ``PYTHONDONTWRITEBYTECODE``
every run would compile the sources again (~0.05 s).  The first of ``--repeat`` runs writes the bytecode."""


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process.

    The RSS comes from ``/usr/bin/time``: a child forked by this (large) bench process would report
    the bench's own high-water mark, which Linux keeps across exec.
    """
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


def installed_staffcall(folder: Path) -> list[str]:
    """``staffcall`` as the Pi guide installs it: a regular install (``pip install <src>``), not editable.

    A development checkout is installed editable, whose import hook (setuptools' finder, run by a
    ``.pth`` file at every start of that environment) costs each process ~15 ms that no store pays.
    So the bench lays this checkout out as a regular install does (the packages copied into an
    environment's site-packages and byte-compiled; the script pip writes for ``[project.scripts]``),
    once per version of the sources, cached in the temp folder.  The libraries come from the running
    environment through a ``.pth`` path entry, so nothing is built or downloaded.
    """
    root = Path(__file__).resolve().parents[1]
    packages = ("broker", "kiosk", "staff_pager", "hardware")
    digest = hashlib.sha256()
    for p in sorted(f for part in packages for f in (root / part).rglob("*") if f.is_file()):
        if "__pycache__" not in p.parts:
            digest.update(str(p.relative_to(root)).encode() + p.read_bytes())
    env = folder / f"staffcall-bench-install-{digest.hexdigest()[:12]}"
    script = env / "bin" / "staffcall"
    if not script.exists():
        part = Path(str(env) + ".part")
        shutil.rmtree(part, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(part)], check=True)
        site = next(part.glob("lib/python*/site-packages"))
        (site / "staffcall-bench-libraries.pth").write_text("\n".join(sitepackages.getsitepackages()) + "\n")
        for name in packages:
            shutil.copytree(root / name, site / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(site)], check=True)
        (part / "bin" / "staffcall").write_text(
            f"#!{env}/bin/python\nimport sys\nfrom broker.cli import main\n"
            "if __name__ == '__main__':\n    sys.exit(main())\n"
        )
        (part / "bin" / "staffcall").chmod(0o755)
        part.rename(env)
    return [str(script)]


BASELINE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
sql = ("SELECT count(*), sum(time_to_ack_s), sum(time_to_greet_s), sum(time_to_close_s), count(zone), "
       "count(device), count(reason), count(outcome), count(greeted_by), count(staff), sum(feedback_score), "
       "sum(repeat_presses), sum(escalated), sum(declines), count(declined), count(status), sum(eta_first_s) "
       "FROM calls WHERE opened_ts >= ? AND opened_ts < ?")
print(conn.execute(sql, (float(sys.argv[2]), float(sys.argv[3]))).fetchone())
"""
"""One plain pass over every column of every row the year's report reads, on the report's covering index."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command; the best counts")
    args = ap.parse_args()
    now = time.time()
    tz = ZoneInfo(TZ)
    today = datetime.fromtimestamp(now, tz).date()
    first = today - timedelta(days=364)
    folder = Path(tempfile.gettempdir())
    path = folder / f"staffcall-bench-report-{schema_hash()}-{args.calls}-{today.isoformat()}.db"
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(f'[store]\nid = "bench"\nname = "Bench"\ntimezone = "{TZ}"\ntarget_greet_s = 60\n')
        config = fh.name
    prog = installed_staffcall(folder)
    staffcall = [*prog, "report", "--config", config, "--db", str(path)]
    if not path.exists():
        t0 = time.perf_counter()
        generate(str(path) + ".part", args.calls, now)
        os.replace(str(path) + ".part", path)
        print(f"generated {args.calls:,} calls in {time.perf_counter() - t0:.0f} s: {path}", flush=True)
        rebuild_s, rebuild_mb = run([*staffcall, "--rebuild", "--json"])
        print(
            f"staffcall report --rebuild (kept data from the rows): {rebuild_s:.1f} s, {rebuild_mb:.0f} MB", flush=True
        )
    start = datetime.combine(first, datetime.min.time(), tz).timestamp()
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz).timestamp()

    def best(cmd: list[str]) -> tuple[float, float]:
        runs = [run(cmd) for _ in range(args.repeat)]
        return min(r[0] for r in runs), max(r[1] for r in runs)

    base_s, base_mb = best([sys.executable, "-c", BASELINE, str(path), str(start), str(end)])
    cases: list[tuple[str, list[str], float]] = [
        ("today", ["--today"], 0.1),
        ("week", ["--week"], 0.2),
        ("month", ["--month"], 0.2),
        *(
            (f"year --by {by}" if by else "year", ["--since", first.isoformat(), *(["--by", by] if by else [])], 0.5)
            for by in BYS
        ),
    ]
    html = folder / "staffcall-bench-report.html"
    cases.append(("year --html", ["--since", first.isoformat(), "--html", str(html)], 0.5))
    print(f"\n{args.calls:,} calls over {first} .. {today} ({TZ}); whole processes, best of {args.repeat}")
    print("(a shared 2-core machine: other work runs beside it, so figures vary from run to run)\n")
    print(f"{'command':<22}{'seconds':>9}{'target':>8}{'x baseline':>12}{'RSS MB':>8}")
    print(f"{'plain SQL pass':<22}{base_s:>9.3f}{'':>8}{1:>11.2f}x{base_mb:>8.0f}")
    missed = []
    for name, extra, target in cases:
        secs, mb = best([*staffcall, *extra])
        ok = secs <= target and mb <= 256
        if not ok:
            missed.append(name)
        print(
            f"{name:<22}{secs:>9.3f}{target:>8.1f}{secs / base_s:>11.2f}x{mb:>8.0f}  {'OK' if ok else 'MISSED'}",
            flush=True,
        )
    promises_kept(staffcall, first)
    os.remove(config)
    print(f"\ntargets: {'all met' if not missed else 'missed: ' + ', '.join(missed)}; peak RSS limit 256 MB")
    return 1 if missed else 0


def promises_kept(staffcall: list[str], first) -> None:
    """The promise figures of the year, the month and today, as ``staffcall report --json`` gives them."""
    print("\npromises kept (greeted within the time first shown); greeted minus shown: median / p90")
    year: dict = {}
    for name, extra in (("year", ["--since", first.isoformat()]), ("month", ["--month"]), ("today", ["--today"])):
        out = subprocess.run([*staffcall, *extra, "--json"], capture_output=True, text=True, env=INSTALLED_ENV)
        report = json.loads(out.stdout)
        year = year or report
        t = report["total"]
        share = "—" if t["promises_kept_share"] is None else f"{100 * t['promises_kept_share']:.1f}%"
        print(
            f"  {name:<6} {share:>6} of {t['promised']:>9,}   {t['past_promise_median']} s / {t['past_promise_p90']} s"
            f"   calibration buckets: {len(report['calibration'])}"
        )
    print("  the year's calibration (synthetic times shown, not the estimator's):")
    for c in year["calibration"]:
        print(
            f"    shown {c['promise_s']:>4}-{c['promise_s'] + 15:<4}s {c['promised']:>8,} calls  kept "
            f"{100 * (c['kept_share'] or 0):5.1f}%  greeting median {c['greet_median']} s, p90 {c['greet_p90']} s"
        )


if __name__ == "__main__":
    sys.exit(main())
