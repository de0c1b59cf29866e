"""Per-call work of the hub's pure core, with 10, 1,000 and 10,000 calls already open.

A pure-core bench: the ``Dispatcher`` with a ``FakeClock``, no broker, no event log, no
threads, so the figure is the core's own work per new call (routing, the state, the page),
nothing else.  It once scanned every open call twice per new call (the colleagues' load and
the queue ahead of the call); it now keeps both as calls change (``_load``, ``_waiting``), so
the time per call should not grow with the calls already open.

For each size: a fresh core with 20 colleagues on shift in 5 zones, that many calls opened
first (a third left waiting, a third acknowledged, a third greeted), then ``--calls`` new
calls, each timed from ``handle(Pressed)`` to its commands and then cancelled (untimed) so the
number of open calls stays put.  Baseline: the same with 10 calls open, in the same run.

    python bench/core.py [--calls 2000] [--rounds 3]

Target: ratio to the 10-open baseline ~1 (independent of the calls open).  Last, the hub's
once-a-second ``summary`` and ``shift`` at 100 and 16,000 calls of the day: flat too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.contract.clock import FakeClock  # noqa: E402
from broker.contract.config import Config, parse_config  # noqa: E402
from broker.contract.protocol import CallMsg, CallRef  # noqa: E402
from broker.core.commands import DeviceAction, Page, PresenceChanged, Pressed, StaffAction  # noqa: E402
from broker.core.dispatcher import Dispatcher  # noqa: E402
from broker.hub.words import page_words  # noqa: E402

SIZES = (10, 1_000, 10_000)
STAFF, ZONES, MEASURED_DEVICES = 20, 5, 50


def config(open_calls: int) -> Config:
    """One device per open call (a device has one open call at a time) and a few for the timed calls."""
    parts = ['[store]\nid = "bench"\nname = "Bench"\n[timers]\nunattended_after_s = 86400\n']
    parts += [f'[[staff]]\nid = "s{i}"\nname = "Staff {i}"\nzones = ["z{i % ZONES}"]\n' for i in range(STAFF)]
    devices = [f"open-{i}" for i in range(open_calls)] + [f"new-{i}" for i in range(MEASURED_DEVICES)]
    parts += [f'[[devices]]\nid = "{d}"\nkind = "button"\nzone = "z{i % ZONES}"\n' for i, d in enumerate(devices)]
    return parse_config("\n".join(parts))


def prepared(cfg: Config, open_calls: int) -> tuple[Dispatcher, FakeClock]:
    clock = FakeClock()
    core = Dispatcher(cfg, clock, page_words(cfg))
    for i in range(STAFF):
        core.handle(PresenceChanged(f"s{i}", "on_shift"))
    for i in range(open_calls):
        clock.advance(0.01)
        commands = core.handle(Pressed(f"open-{i}", CallMsg(id=f"open-{i}")))
        paged = next((c.staff for c in commands if isinstance(c, Page)), None)
        if paged is not None and i % 3 == 1:
            core.handle(StaffAction(paged, "ack", CallRef(id=f"open-{i}")))
        elif paged is not None and i % 3 == 2:
            core.handle(StaffAction(paged, "greet", CallRef(id=f"open-{i}")))
    if len(core.open) != open_calls:
        raise SystemExit(f"bench: {len(core.open)} calls open, wanted {open_calls}")
    return core, clock


def per_call_us(core: Dispatcher, clock: FakeClock, calls: int, round_no: int) -> list[float]:
    out: list[float] = []
    for i in range(calls):
        device = f"new-{i % MEASURED_DEVICES}"
        call_id = f"r{round_no}-{i}"
        clock.advance(0.01)
        press = Pressed(device, CallMsg(id=call_id))
        t0 = time.perf_counter()
        commands = core.handle(press)
        out.append((time.perf_counter() - t0) * 1e6)
        if not any(isinstance(c, Page) for c in commands):
            raise SystemExit(f"bench: call {call_id} paged nobody")
        core.handle(DeviceAction(device, "cancel", CallRef(id=call_id)))
    return out


def summary_ms(calls_today: int, rounds: int = 20) -> tuple[float, float]:
    """The hub's once-a-second figures (``summary`` and one ``shift``) after ``calls_today`` closed calls, in ms."""
    cfg = config(10)
    core, clock = prepared(cfg, 10)
    for i in range(calls_today):
        clock.advance(0.5)
        device, call_id = f"new-{i % MEASURED_DEVICES}", f"d-{i}"
        commands = core.handle(Pressed(device, CallMsg(id=call_id)))
        paged = next((c.staff for c in commands if isinstance(c, Page)), None)
        if paged is not None and i % 4:
            core.handle(StaffAction(paged, "greet", CallRef(id=call_id)))
            clock.advance(1.0)
            core.handle(StaffAction(paged, "resolve", CallRef(id=call_id)))
        else:
            core.handle(DeviceAction(device, "cancel", CallRef(id=call_id)))
        if i % 500 == 0:
            core.summary()  # the shell asks once a second all day: closed calls are tallied as they come
    best_sum = best_shift = float("inf")
    for _ in range(rounds):
        clock.advance(1.0)
        t0 = time.perf_counter()
        core.summary()
        t1 = time.perf_counter()
        core.shift("s1")
        t2 = time.perf_counter()
        best_sum, best_shift = min(best_sum, (t1 - t0) * 1e3), min(best_shift, (t2 - t1) * 1e3)
    return best_sum, best_shift


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="timed new calls per size and round (default 2000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per size; the best round's p50 counts")
    args = ap.parse_args()
    results: dict[int, tuple[float, float, float]] = {}
    for size in SIZES:
        cfg = config(size)
        t0 = time.perf_counter()
        core, clock = prepared(cfg, size)
        setup_s = time.perf_counter() - t0
        rounds = [per_call_us(core, clock, args.calls, r) for r in range(args.rounds)]
        best = min(rounds, key=statistics.median)
        results[size] = (statistics.median(best), statistics.quantiles(best, n=100)[98], statistics.fmean(best))
        print(f"  {size:>6} open: set up in {setup_s:.1f} s; {len(core.open)} open after the timed calls", flush=True)
    base = results[SIZES[0]][0]
    print(f"pure core (Dispatcher + FakeClock, no broker): {args.calls} new calls per size, best of {args.rounds}")
    print(f"{'calls open':>10}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}{'p50 / 10-open':>15}")
    for size, (p50, p99, mean) in results.items():
        print(f"{size:>10,}{p50:>10.1f}{p99:>10.1f}{mean:>10.1f}{p50 / base:>14.2f}x")
    worst = max(p50 for p50, _, _ in results.values()) / base
    print(f"worst ratio {worst:.2f}x (target ~1: the work per call does not grow with the calls open)")
    print("once-a-second figures (summary + one colleague's shift), best of 20, by calls of the day:")
    for n in (100, 16_000):
        s_ms, sh_ms = summary_ms(n)
        print(f"{n:>10,} calls today: summary {s_ms:.3f} ms + shift {sh_ms:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
