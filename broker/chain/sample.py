"""Chain data with a known truth: call records written exactly as the ingest writes them.

Two generators over one writer (``broker.chain.files.write_partition``):

- ``sample_records`` makes ``CallRecord``\\ s in plain Python (seeded), for tests that compute
  the expected figures independently from the same records;
- ``write_bulk`` makes a chain's worth (1,000 stores x 30,000 calls) vectorised in DuckDB, one
  store at a time so memory stays flat, for ``bench/chain_report.py``.

Both give stores of a few regions, each its own quality (some keep the promise, some slip),
calls spread over local days and hours, every closed status, feedback on some calls.

Example::

    >>> recs = sample_records(stores=2, days=3, per_day=4, seed=7)
    >>> len(recs), sorted({r.store for r in recs})
    (24, ['s01', 's02'])
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from broker.chain.files import arrow_schema, write_partition
from broker.contract.chain import PARQUET_COLUMNS, CallRecord

REGIONS = ("north", "south", "east", "west")
ZONES = ("paint", "tools", "garden", "kitchen", "lighting", "checkout")
REASONS = ("product", "pickup", "fitting_room", "checkout")
UTC_OFFSET_H = 1
"""The sample stores' local time is UTC+1 all year (local dates, weekdays and hours follow it)."""


def sample_records(
    stores: int = 20, days: int = 21, per_day: int = 30, seed: int = 1, end: date = date(2026, 12, 6)
) -> list[CallRecord]:
    """``stores`` x ``days`` x ``per_day`` closed calls, the last day ``end``; deterministic for a seed."""
    rnd = random.Random(seed)
    out: list[CallRecord] = []
    first = end - timedelta(days=days - 1)
    for s in range(1, stores + 1):
        store = f"s{s:02d}"
        region = REGIONS[(s - 1) % len(REGIONS)]
        quality = 0.5 + 1.5 * rnd.random()  # 0.5: quick, 2.0: slow
        target = 60.0 if s % 3 else 90.0
        for d in range(days):
            day = first + timedelta(days=d)
            # One store slips in the last week: the "worse week" case.
            slow = quality * (3.0 if s == 2 and (end - day).days < 7 else 1.0)
            for i in range(per_day):
                out.append(_record(rnd, store, region, day, i, slow, target))
    return out


def _record(rnd: random.Random, store: str, region: str, day: date, i: int, slow: float, target: float) -> CallRecord:
    hour = rnd.randint(8, 20)
    opened = datetime(day.year, day.month, day.day, hour, rnd.randint(0, 59), rnd.randint(0, 59), tzinfo=UTC)
    opened -= timedelta(hours=UTC_OFFSET_H)
    roll = rnd.random()
    status = "resolved" if roll < 0.86 else "cancelled" if roll < 0.93 else "unattended"
    ack = greet = close = None
    staff = name = ""
    if status == "resolved" or (status == "unattended" and rnd.random() < 0.3):
        ack = round(rnd.expovariate(1 / (12 * slow)), 1)
        greet = round(ack + rnd.expovariate(1 / (35 * slow)), 1)
        who = rnd.randint(1, 6)
        staff, name = f"{store}-st{who}", f"Colleague {who} of {store}"
        close = round(greet + rnd.uniform(30, 400), 1)
    elif status == "cancelled":
        if rnd.random() < 0.5:
            ack = round(rnd.expovariate(1 / (20 * slow)), 1)
        close = round(rnd.uniform(20, 300) * slow, 1)
    else:
        close = 600.0
    fb = rnd.randint(1, 4) if greet is not None and rnd.random() < 0.3 else None
    return CallRecord(
        store=store,
        region=region,
        call_id=f"{store}-{day.isoformat()}-{i:05d}",
        device=f"kiosk-{rnd.randint(1, 3)}",
        zone=rnd.choice(ZONES),
        reason=rnd.choice(REASONS),
        status=status,
        staff=staff,
        staff_name=name,
        opened_at=opened.isoformat(),
        local_date=day.isoformat(),
        local_weekday=day.weekday(),
        local_hour=hour,
        time_to_ack_s=ack,
        time_to_greet_s=greet,
        time_to_close_s=close,
        target_greet_s=target,
        escalated=rnd.random() < 0.05,
        declines=1 if rnd.random() < 0.04 else 0,
        repeat_presses=rnd.choice((0, 0, 0, 0, 1, 2)),
        feedback_score=fb,
        outcome="helped" if greet is not None else "",
        eta_shown_s=60.0,
    )


def record_row(r: CallRecord) -> dict:
    """A record as one row of the files (the ingest's mapping: ISO text to timestamp and date)."""
    row = {c: getattr(r, c) for c in PARQUET_COLUMNS}
    row["opened_at"] = datetime.fromisoformat(r.opened_at)
    row["local_date"] = date.fromisoformat(r.local_date)
    return row


def write_records(root: str | Path, records: Iterable[CallRecord], name: str = "part-0") -> int:
    """Write ``records`` as one file per store and month; returns the number of files."""
    import pyarrow as pa

    parts: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        parts[(r.store, r.local_date[:7])].append(record_row(r))
    schema = arrow_schema()
    for (store, month), rows in parts.items():
        write_partition(root, store, month, pa.Table.from_pylist(rows, schema=schema), name)
    return len(parts)


# --- a chain's worth, vectorised --------------------------------------------------------------------

_BULK_SQL = """
WITH base AS (
  SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
         (i * $days) // $n AS d, 8 + (floor(random() * 13))::int AS h, floor(random() * 3600)::int AS sec
  FROM range($n) t(i)
), timed AS (
  SELECT *, CASE WHEN r1 < 0.86 THEN 'resolved' WHEN r1 < 0.93 THEN 'cancelled' ELSE 'unattended' END AS status,
         -ln(1 - r2) * 12 * $slow AS ack0, -ln(1 - r3) * 35 * $slow AS greet0
  FROM base
)
SELECT $store AS store, $region AS region, $store || '-' || i::varchar AS call_id,
       'kiosk-' || (i % 3 + 1)::varchar AS device,
       ['paint','tools','garden','kitchen','lighting','checkout'][(i % 6) + 1] AS zone,
       ['product','pickup','fitting_room','checkout'][(i % 4) + 1] AS reason,
       status,
       CASE WHEN status = 'resolved' THEN $store || '-st' || (i % 25 + 1)::varchar ELSE '' END AS staff,
       CASE WHEN status = 'resolved' THEN 'Colleague ' || (i % 25 + 1)::varchar ELSE '' END AS staff_name,
       (TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_days(($first + d)::int) + to_hours(h - $off) + to_seconds(sec))
           AS opened_at,
       (DATE '2026-01-01' + ($first + d)::int) AS local_date,
       (isodow(DATE '2026-01-01' + ($first + d)::int) - 1)::tinyint AS local_weekday,
       h::tinyint AS local_hour,
       CASE WHEN status = 'resolved' OR r4 < 0.3 THEN round(ack0, 1) END AS time_to_ack_s,
       CASE WHEN status = 'resolved' THEN round(ack0 + greet0, 1) END AS time_to_greet_s,
       round(CASE WHEN status = 'resolved' THEN ack0 + greet0 + 120 WHEN status = 'cancelled' THEN 20 + r5 * 280
             ELSE 600 END, 1) AS time_to_close_s,
       $target AS target_greet_s, r6 < 0.05 AS escalated, (r6 > 0.96)::smallint AS declines,
       (i % 5 = 0)::smallint AS repeat_presses,
       CASE WHEN status = 'resolved' AND r5 < 0.3 THEN (1 + floor(r4 * 4))::tinyint END AS feedback_score,
       CASE WHEN status = 'resolved' THEN 'helped' ELSE '' END AS outcome, 60.0 AS eta_shown_s, '' AS text
FROM timed
"""


def write_bulk(
    root: str | Path,
    stores: int = 1000,
    calls: int = 30_000,
    days: int = 90,
    end: date = date(2026, 12, 6),
    progress=None,
) -> int:
    """``stores`` x ``calls`` closed calls over ``days`` local days ending ``end``; returns the files written.

    One DuckDB query per store (vectorised, multi-threaded), split by month in Arrow: memory holds
    one store's calls at a time.
    """
    import duckdb
    import pyarrow.compute as pc

    first = (end - timedelta(days=days - 1) - date(2026, 1, 1)).days
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)").fetchall()
    files = 0
    for s in range(1, stores + 1):
        store = f"s{s:04d}"
        slow = 0.5 + 1.5 * ((s * 7919) % 1000) / 1000
        params = {
            "n": calls, "days": days, "first": first, "off": UTC_OFFSET_H, "store": store,
            "region": f"r{(s - 1) % 12 + 1:02d}", "slow": slow, "target": 60.0 if s % 3 else 90.0,
        }  # fmt: skip
        table = con.sql(_BULK_SQL, params=params).to_arrow_table()
        month = pc.strftime(table["local_date"], format="%Y-%m")
        for m in pc.unique(month).to_pylist():
            write_partition(root, store, m, table.filter(pc.equal(month, m)))
            files += 1
        if progress:
            progress(s, stores)
    return files


def typical_greet(quality: float) -> float:
    """The median greeting of a sample store of ``quality`` (ack + greet, both exponential): for docs and sanity."""
    return (12 + 35) * quality * math.log(2)
