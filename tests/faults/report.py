"""Run the fault suite and write docs/reliability.md from what the tests counted.

Example::

    python -m tests.faults.report            # writes docs/reliability.md
    python -m tests.faults.report --print    # only prints the table
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults.helpers import FIGURES_ENV

ROOT = Path(__file__).resolve().parents[2]
HEADER = """# Reliability figures

Written by `python -m tests.faults.report`, which runs the fault suite (`tests/faults/`, also part of the
normal `pytest` run) and tabulates what each test counted. Do not edit by hand: run the command again.
"Inputs" are messages or presses sent; "calls lost" are calls the hub never paged or recorded (or, where
the test says so, inputs it never recorded); "duplicated" are calls paged twice or inputs recorded more than
once; "phantom" are calls opened that no customer made; "time deaf" is the longest time from a real call's
publish (by another device, during the fault) to its first page. "n/a": the test cannot measure it.

## What a broker crash can still lose

The store's Mosquitto (the config `staffcall broker init` writes) saves its state on every change
(`autosave_on_changes true`, `autosave_interval 1`): a persistent session's connect, a (un)subscription, a
completed QoS 1 delivery. The hub's session and its subscriptions are therefore on disk
as soon as the hub has subscribed, and calls published while the hub is away wait for it.

- Devices with an outbox (kiosks, button stations, QR pages) resend until the hub confirms: no call is
  lost to a broker crash at any moment.
- Plain QoS 1 devices (an ESP32, a Node-RED flow) forget a call once the broker has sent PUBACK. With the
  hub connected, such a call is safe once the hub has acknowledged it (after its commit, milliseconds later); a broker
  crash inside that window loses it. Mosquitto counts a completed delivery as a change but not a newly
  queued message, so calls queued while the hub is away are saved only at the next change (any client's
  delivery or subscription): a second crash while the hub is still away can lose them. Saves cannot be
  made synchronous: Mosquitto acknowledges before it writes.
- Test: "Mosquitto kill -9 before its first save" below (the old 10 s autosave lost all 90 of its calls).

## What a storage fault can still lose

Paging comes first. When the event log cannot be written (disk full, a read-only filesystem, another
program holding the write lock for more than 0.5 s, the file deleted), the hub says so on `hub/health`
(the board shows it) and pages the managers, keeps paging, acknowledges each message once handled (so the
broker never stops delivering), and holds the records in memory until a retry commits them.

- The fault mended while the hub runs (space freed, lock released, a deleted file written back from the
  open connection): nothing is lost, nothing is paged twice.
- The hub killed or restarted during the fault (or a filesystem that stays read-only until fsck): the
  records held in memory are lost, so the history of that time has gaps (repeat presses, events). Every
  open call comes back from the state the broker keeps retained for it, and its presses, redelivered or
  resent by outboxes, page nobody a second time.
- The database file replaced by another one under the running hub: it writes nothing more into either
  file, exits with status 3, and the service manager starts it on the new file.

"""


def table(rows: list[dict]) -> str:
    lines = [
        "| Test | Load | Faults injected | Inputs | Calls lost | Duplicated | Phantom | Time deaf | Also checked |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        cells = [r["test"], r["load"], r["faults"], str(r["inputs"]), str(r["lost"]), str(r["duplicates"])]
        cells += [str(r.get("phantom", "n/a")), str(r.get("deaf", "n/a")), r["note"]]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the table, do not write the doc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.jsonl"
        env = {**os.environ, FIGURES_ENV: str(out)}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/faults"], cwd=ROOT, env=env)
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    text = table(rows)
    if done.returncode != 0:
        print(text)
        print("the fault suite failed; docs/reliability.md not written", file=sys.stderr)
        return 1
    if args.print:
        print(text)
    else:
        (ROOT / "docs" / "reliability.md").write_text(HEADER + text, encoding="utf-8")
        print(f"wrote docs/reliability.md ({len(rows)} tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
