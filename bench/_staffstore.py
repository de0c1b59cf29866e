"""A generated store whose true behaviour is known, written as the hub writes its event log.

Poisson arrivals per zone and hour, colleagues on shift by a fixed roster, each answering pages with
known distributions (exponential answer and service times, a decline and a let-it-pass chance), and
customers who give up after an exponential patience.  The calls go through the real dispatcher
(``broker.core.replay`` with ``TrueBehaviour``), and every command it returns is written with the hub's
own schema code and row makers (``broker.hub.eventlog``): calls, pages, presence and declines, just as
a running hub records them.  Tests (staffing backtests) and ``bench/staffing.py`` share it.

Example::

    cfg = store_config(zones=2, staff_per_zone=2)
    path = write_store(tmp / "staffcall.db", cfg, days=14, rate_per_h=6, seed=1)
"""

from __future__ import annotations

import json
import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from broker.contract.config import Config, parse_config
from broker.core.commands import Command, Page, RecordCall, RecordEvent
from broker.core.replay import RecordedCall, Replay, Shift
from broker.hub.eventlog import CALL_COLUMNS, connect, create_schema, event_row
from broker.hub.words import page_words

TZ = "Europe/Stockholm"
OPEN_HOURS = (9, 19)
"""The store is staffed and called 09:00-19:00 local time."""
HOUR_WEIGHTS = {9: 0.5, 10: 0.8, 11: 1.0, 12: 1.3, 13: 1.2, 14: 1.0, 15: 1.0, 16: 1.2, 17: 1.4, 18: 0.8}


def store_config(zones: int = 2, staff_per_zone: int = 2, ack: float = 30, target: float = 60) -> Config:
    """A store of ``zones`` zones (one kiosk each... four kiosks), ``staff_per_zone`` colleagues each, one manager."""
    parts = [
        f"""
        [store]
        id = "gen"
        name = "Generated"
        timezone = "{TZ}"
        target_greet_s = {target}
        language = "en"
        [timers]
        ack_timeout_s = {ack}
        escalate_after_s = 90
        greet_timeout_s = 120
        unattended_after_s = 600
        """
    ]
    for z in range(zones):
        for i in range(staff_per_zone):
            parts.append(f'[[staff]]\nid = "z{z}s{i}"\nname = "Z{z} S{i}"\nzones = ["zone{z}"]\n')
        for k in range(10):
            parts.append(f'[[devices]]\nid = "k{z}-{k}"\nkind = "kiosk"\nzone = "zone{z}"\n')
    parts.append('[[staff]]\nid = "boss"\nname = "Boss"\nmanager = true\n')
    return parse_config(textwrap.dedent(parts[0]) + "\n".join(parts[1:]))


@dataclass(frozen=True)
class TrueBehaviour:
    """What the generated colleagues really do (known, so a fitted model can be checked against it)."""

    ack_mean_s: float = 15.0
    decline: float = 0.05
    pass_: float = 0.05
    walk_min_s: float = 10.0
    walk_max_s: float = 50.0
    serve_mean_s: float = 150.0

    def respond(self, rng: random.Random, staff: str, zone: str) -> tuple[str, float]:
        roll = rng.random()
        delay = 2.0 + rng.expovariate(1 / self.ack_mean_s)
        if roll < self.decline:
            return "decline", delay
        if roll < self.decline + self.pass_:
            return "pass", 0.0
        return "ack", delay

    def walk_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return rng.uniform(self.walk_min_s, self.walk_max_s)

    def serve_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return 10.0 + rng.expovariate(1 / self.serve_mean_s)


def days_of(start: date, days: int) -> list[date]:
    return [start + timedelta(days=d) for d in range(days)]


def generate_calls(
    cfg: Config, first_day: date, days: int, rate_per_h: float, seed: int, patience_mean_s: float = 240.0
) -> list[RecordedCall]:
    """Poisson arrivals per zone (``rate_per_h`` at a weight-1 hour), each customer with a patience."""
    rng = random.Random(seed)
    tz = ZoneInfo(cfg.store.timezone)
    devices: dict[str, list[str]] = {}
    for d in cfg.devices:
        devices.setdefault(d.zone, []).append(d.id)
    calls: list[RecordedCall] = []
    n = 0
    for day in days_of(first_day, days):
        for hour, weight in HOUR_WEIGHTS.items():
            start = datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp()
            for zone, ids in sorted(devices.items()):
                t = start + rng.expovariate(rate_per_h * weight / 3600)
                while t < start + 3600:
                    n += 1
                    patience = rng.expovariate(1 / patience_mean_s)
                    calls.append(RecordedCall(f"g{n:07d}", rng.choice(ids), zone, "product", t, patience))
                    t += rng.expovariate(rate_per_h * weight / 3600)
    calls.sort(key=lambda c: c.opened)
    return calls


def roster(cfg: Config, first_day: date, days: int, lunch: bool = True) -> list[Shift]:
    """Every colleague on shift in opening hours; the second of each zone takes 12-13 off (a thin hour)."""
    tz = ZoneInfo(cfg.store.timezone)
    out: list[Shift] = []
    for day in days_of(first_day, days):
        for s in cfg.staff:
            if s.manager:
                continue

            def at(h: int, day: date = day) -> float:
                return datetime(day.year, day.month, day.day, h, tzinfo=tz).timestamp()

            out.append(Shift(at(OPEN_HOURS[0]) - 300, s.id, "on_shift"))
            if lunch and s.id.endswith("s1"):
                out.append(Shift(at(12), s.id, "break"))
                out.append(Shift(at(12) + 1, s.id, "off"))
                out.append(Shift(at(13), s.id, "on_shift"))
            out.append(Shift(at(OPEN_HOURS[1]) + 900, s.id, "off"))
    out.sort(key=lambda s: s.at)
    return out


class LogWriter:
    """Turns the core's commands into the event log's rows, as the hub's shell does."""

    def __init__(self, path: Path) -> None:
        self.db = connect(str(path))
        create_schema(self.db)
        self.db.conn.execute("PRAGMA synchronous=OFF")
        self.calls: dict[str, dict] = {}
        self.events: list[tuple] = []

    def __call__(self, cmd: Command, now: float) -> None:
        if isinstance(cmd, RecordCall):
            self.calls[cmd.row["id"]] = cmd.row
        elif isinstance(cmd, Page):
            row = event_row(
                "page",
                now,
                now,
                f"staffcall/gen/page/{cmd.staff}",
                cmd.msg.id,
                cmd.staff,
                cmd.msg.device,
                json.dumps({"kind": cmd.msg.kind, "tier": cmd.msg.tier}),
            )[1]
            self.events.append(tuple(row.values()))
        elif isinstance(cmd, RecordEvent) and cmd.kind in ("presence", "declined"):
            d = cmd.detail
            row = event_row(cmd.kind, now, now, None, cmd.call_id, d.get("staff"), d.get("device"), d)[1]
            self.events.append(tuple(row.values()))

    def close(self) -> None:
        cols = list(CALL_COLUMNS)
        self.db.conn.executemany(
            f"INSERT OR REPLACE INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(r.get(c) for c in cols) for r in self.calls.values()],
        )
        self.db.conn.executemany(
            "INSERT INTO events (ts, mono, kind, topic, call_id, staff, device, payload) VALUES (?,?,?,?,?,?,?,?)",
            self.events,
        )
        self.db.conn.commit()
        self.db.conn.close()


def write_store(
    path: Path,
    cfg: Config,
    first_day: date,
    days: int,
    rate_per_h: float,
    seed: int = 1,
    truth: TrueBehaviour | None = None,
    shifts: Sequence[Shift] | None = None,
    patience_mean_s: float = 240.0,
) -> int:
    """Generate and write ``days`` of calls; returns how many."""
    calls = generate_calls(cfg, first_day, days, rate_per_h, seed, patience_mean_s)
    writer = LogWriter(path)
    replay = Replay(cfg, page_words(cfg), truth or TrueBehaviour(), seed=seed, recorder=writer)
    replay.run(calls, shifts if shifts is not None else roster(cfg, first_day, days))
    writer.close()
    return len(calls)
