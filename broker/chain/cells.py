"""Kept summaries of the chain's files: counters and greeting-time histograms per store, month and grouping.

Reading 30 million raw rows cannot answer in 2 s on one small machine (a plain DuckDB count over
the files alone takes longer), so the chain report reads *cells*, kept beside the files the way
the store report keeps its cells (``broker/hub/reportcells.py``):

- ``cells``: one row per store, region, month and group (``all``; each weekday, hour, local day,
  weekday x hour; each colleague) with every counter the figures need (calls, greeted, kept,
  judged, gave up, faces' sum and count, maxima, the greeting-time distribution ...);
- ``hist``: per cell and timed column (acknowledge, greet, wait to a cancel) the number of values in
  each bucket of a fixed grid (``BUCKET_SQL``): 1 s wide up to 50 s, then 2 % wide.  Percentiles
  come from the summed counts: the values at the two ranks type 7 interpolates between are taken
  at their buckets' midpoints, so a median or p90 is **within 0.5 s, or 1 % above 50 s**, of the
  exact value (issue #16's allowance).  Histograms, not sorted values, because they add: a month
  of the chain is tens of MB of counts instead of 10 million values, and the chain's figures a sum.
- Rollups (``store = '*'``) per region and month for the weekday, hour, day and weekday x hour
  groups: the chain's heatmap and trend read twelve regions' rows, not a thousand stores'.

A month's summary (``<data>/.summaries/month=<YYYY-MM>/``) is derived, never the only copy: it names
the fingerprint of the file list it was built from (``fingerprint``), and a reader uses it only when
that matches the month's committed files now; otherwise it computes the month's cells from the raw
rows (``cells_sql``, the same SQL), so a stale or missing summary costs time, never a wrong figure.
``build_month`` rebuilds one (``staffcall chain ingest --rebuild-summaries``; the ingest rebuilds the
past months whose files changed when it has caught up).  The files are written under fresh names and
``current.json`` is replaced atomically, so a reader sees the old summary or the new one.  Beside the
Parquet pair, ``write_stores_db`` keeps the month's store rows in a small SQLite file that a report of
named stores reads without DuckDB (``broker.chain.storekept``).

A period that covers a month only in part (this week, this month so far, a range cutting months)
reads the month's *day summary* (``<data>/.summaries/days-month=<YYYY-MM>/``, ``build_days``): the
same cells per store and local day, and per region and day.  It names the call files it was built
from; while none of them is gone, it holds for them, and the files committed since (the ingest's last
flushes) are read raw beside it: counters and histograms add.  A merge of a partition since (its
files replaced) makes the month raw until the next build.  The ingest keeps it for every month, the
current one included, each time it has caught up.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SUMMARY_DIR = ".summaries"
SETS = ("all", "weekday", "hour", "day", "wdhour", "staff")
"""The groups kept per store and month; ``k`` holds the weekday, hour, day (days since 1970) or wd*24+hour."""
ROLLED = ("weekday", "hour", "day", "wdhour")
"""Groups also kept per region and month (``store = '*'``)."""
LIGHT = ("day", "wdhour", "staff")
"""Groups that keep only the greeting's histogram (they show a median greeting, nothing else timed)."""
TIMED = ("time_to_ack_s", "time_to_greet_s", "time_to_close_s")
"""``col`` 0, 1, 2 of the histograms; the close time only of calls that gave up (the wait to the cancel)."""
FINE_S = 1.0
FINE_UP_TO_S = 50.0
STEP = 1.02
FINE_BUCKETS = int(FINE_UP_TO_S / FINE_S)
OVER = 9999
"""A colleague's greetings slower than the promise share one bucket: their median matters only within it."""

BUCKET_SQL = (
    f"CASE WHEN {{x}} < {FINE_UP_TO_S} THEN CAST(floor(greatest({{x}}, 0) / {FINE_S}) AS INTEGER) "
    f"ELSE CAST({FINE_BUCKETS} + floor(ln({{x}} / {FINE_UP_TO_S}) / ln({STEP})) AS INTEGER) END"
)
LOW_SQL = (
    f"CASE WHEN {{b}} >= {OVER} THEN 1e9 WHEN {{b}} < {FINE_BUCKETS} THEN {{b}} * {FINE_S} "
    f"ELSE {FINE_UP_TO_S} * pow({STEP}, {{b}} - {FINE_BUCKETS}) END"
)
"""A bucket's lower edge; the upper edge is the next bucket's lower edge."""

_GAVE_UP = "status = 'cancelled' AND time_to_greet_s IS NULL"
_OPEN = ("waiting", "acknowledged", "greeted")
_EDGES = (0, 30, 60, 90, 120, 180, 300, 600)

_BUCKETS = ", ".join(
    f"count(*) FILTER (time_to_greet_s >= {a} AND time_to_greet_s < {b}) AS d{i}"
    for i, (a, b) in enumerate(zip(_EDGES, _EDGES[1:], strict=False))
)
COUNTERS = f"""
  count(*) AS calls,
  count(*) FILTER (status IN {_OPEN!r}) AS open,
  count(time_to_greet_s) AS greeted,
  count(*) FILTER (time_to_greet_s <= target_greet_s) AS within_target,
  count(*) - count(*) FILTER (status IN {_OPEN!r} AND time_to_greet_s IS NULL) AS judged,
  count(*) FILTER (status = 'unattended') AS unattended,
  count(*) FILTER (status = 'unattended' AND time_to_greet_s IS NULL) AS unattended_left,
  count(*) FILTER ({_GAVE_UP}) AS cancelled,
  coalesce(sum(repeat_presses), 0)::BIGINT AS repeat_presses,
  count(*) FILTER (escalated) AS escalations,
  coalesce(sum(feedback_score), 0)::BIGINT AS feedback_sum,
  count(feedback_score) AS feedback_count,
  coalesce(sum(declines), 0)::BIGINT AS declines,
  min(target_greet_s) AS target,
  max(time_to_ack_s) AS ack_max,
  max(time_to_greet_s) AS greet_max,
  max(time_to_close_s) FILTER ({_GAVE_UP}) AS cancelled_wait_max,
  max(staff_name) AS staff_name,
  {_BUCKETS},
  count(*) FILTER (time_to_greet_s >= {_EDGES[-1]}) AS d{len(_EDGES) - 1}
"""
SUMS = [
    "calls", "open", "greeted", "within_target", "judged", "unattended", "unattended_left", "cancelled",
    "repeat_presses", "escalations", "feedback_sum", "feedback_count", "declines",
    *[f"d{i}" for i in range(len(_EDGES))],
]  # fmt: skip
MAXES = ["ack_max", "greet_max", "cancelled_wait_max", "staff_name"]

_GROUP_KEYS = {
    "all": ("0", ""),
    "weekday": ("local_weekday", ""),
    "hour": ("local_hour", ""),
    "day": ("date_diff('day', DATE '1970-01-01', local_date)", ""),
    "wdhour": ("local_weekday::INTEGER * 24 + local_hour", ""),
    "staff": ("0", "staff"),
}


_DAY_SQL = "date_diff('day', DATE '1970-01-01', local_date)::INTEGER"
DAY_KEPT = ("all", "wdhour", "staff")
"""The store-level groups a day summary keeps; a store's ``day`` and ``weekday`` cells are its ``all`` cells
(one day, one weekday), read with ``k`` from the day; its ``hour`` cells are not kept (raw rows instead)."""


def _source(files_param: str, cond: str, rolled: bool = False) -> str:
    star = " REPLACE ('*' AS store)" if rolled else ""  # every store as one: the region's rollup, in one pass
    return f"(SELECT *{star} FROM read_parquet(${files_param}, hive_partitioning = false) WHERE {cond})"


def cells_sql(
    files_param: str,
    cond: str,
    sets: Iterable[str] = SETS,
    by_day: bool = False,
    rolled: bool = False,
    stream: bool = False,
) -> str:
    """Per store, region, month (and local day with ``by_day``) and group of ``sets``: the counters (one scan)."""
    sets = list(sets)
    parts = []
    day = f", {_DAY_SQL} AS day" if by_day else ""
    for s in sets:
        k, staff = _GROUP_KEYS[s]
        staff_expr = staff or "''"
        parts.append(f"""SELECT '{s}' AS set, store, region, strftime(local_date, '%Y-%m') AS month,
                     CAST({k} AS INTEGER) AS k, {staff_expr} AS staff{day}, {COUNTERS}
                     FROM src GROUP BY ALL""")
    kept = "NOT MATERIALIZED " if stream else ""
    return f"WITH src AS {kept}{_source(files_param, cond, rolled)}\n" + "\nUNION ALL\n".join(parts)


def hist_sql(
    files_param: str,
    cond: str,
    sets: Iterable[str] = SETS,
    by_day: bool = False,
    rolled: bool = False,
    stream: bool = False,
) -> str:
    """Per store, region, month (and local day with ``by_day``), group and timed column: values per bucket."""
    day = f", {_DAY_SQL} AS day" if by_day else ""
    values = []
    for col, name in enumerate(TIMED):
        extra = f" AND {_GAVE_UP}" if name == "time_to_close_s" else ""
        values.append(f"SELECT store, region, local_date, local_weekday, local_hour, staff, {col} AS col, "
                      f"{BUCKET_SQL.format(x=name)} AS b, {name} > target_greet_s AS over "
                      f"FROM src WHERE {name} IS NOT NULL{extra}")  # fmt: skip
    parts = []
    for s in sets:
        k, staff = _GROUP_KEYS[s]
        only = " WHERE col = 1" if s in LIGHT else ""
        b = f"CASE WHEN over THEN {OVER} ELSE b END" if s == "staff" else "b"
        parts.append(f"""SELECT '{s}' AS set, store, region, strftime(local_date, '%Y-%m') AS month,
                     CAST({k} AS INTEGER) AS k, {staff or "''"} AS staff{day}, col::TINYINT AS col, {b} AS b,
                     count(*)::INTEGER AS n FROM v{only} GROUP BY ALL""")
    kept = "NOT MATERIALIZED " if stream else ""  # stream: each set scans the files again, nothing held
    return (f"WITH src AS {kept}{_source(files_param, cond, rolled)}, v AS {kept}({' UNION ALL '.join(values)})\n"
            + "\nUNION ALL\n".join(parts))  # fmt: skip


def rollup_sql(table: str, kind: str, by_day: bool = False) -> str:
    """Per region and month (and day), the rolled groups summed over stores (``store = '*'``)."""
    rolled = ", ".join(f"'{s}'" for s in ROLLED)
    keys = "set, region, month, k, staff" + (", day" if by_day else "")
    if kind == "hist":
        return (f"SELECT {keys}, '*' AS store, col, b, sum(n)::INTEGER AS n FROM {table} "
                f"WHERE set IN ({rolled}) GROUP BY {keys}, col, b")  # fmt: skip
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in SUMS)
    maxes = ", ".join(f"max({c}) AS {c}" for c in MAXES)
    return (f"SELECT {keys}, '*' AS store, {sums}, min(target) AS target, {maxes} "
            f"FROM {table} WHERE set IN ({rolled}) GROUP BY {keys}")  # fmt: skip


# --- the months' summaries on disk -------------------------------------------------------------------


def fingerprint(files: Iterable[str]) -> str:
    """Which files a summary was built from (their paths relative to the data root, sorted)."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.encode())
        h.update(b"\n")
    return h.hexdigest()[:32]


def month_of(rel: str) -> str:
    """``store=s1/month=2026-11/x.parquet`` -> ``2026-11``."""
    return rel.split("/")[1][len("month=") :]


def summary_dir(root: str | Path, month: str) -> Path:
    return Path(root) / SUMMARY_DIR / f"month={month}"


def read_current(root: str | Path, month: str) -> dict[str, Any] | None:
    """The month's summary as ``{"fingerprint", "cells", "hist"}`` (absolute paths), or None."""
    folder = summary_dir(root, month)
    try:
        data = json.loads((folder / "current.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    cells, hist = str(folder / data["cells"]), str(folder / data["hist"])
    stores = str(folder / data["stores"]) if data.get("stores") else None
    return {"fingerprint": data["fingerprint"], "cells": cells, "hist": hist, "stores": stores}


def build_month(con: Any, root: str | Path, month: str, rel_files: list[str]) -> dict[str, int]:
    """Rebuild one month's summary from its raw files (paths relative to ``root``); rows written."""
    folder = summary_dir(root, month)
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    files = [str(Path(root) / f) for f in rel_files]
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_cells AS {cells_sql('files', 'TRUE')}", {"files": files})
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_hist AS {hist_sql('files', 'TRUE')}", {"files": files})
    counts = {}
    for kind in ("cells", "hist"):
        order = "set, store, k, staff" + (", col, b" if kind == "hist" else "")
        tmp = folder / f".{kind}-{tag}.parquet"
        con.execute(
            f"COPY (SELECT * FROM m_{kind} UNION ALL BY NAME {rollup_sql(f'm_{kind}', kind)} ORDER BY {order}) "
            f"TO '{tmp}' (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 100000)"
        )
        os.replace(tmp, folder / f"{kind}-{tag}.parquet")
        counts[kind] = con.execute(f"SELECT count(*) FROM m_{kind}").fetchone()[0]
    stores = f"stores-{tag}.sqlite"
    write_stores_db(con, folder / stores, rel_files)
    current = {"fingerprint": fingerprint(rel_files), "cells": f"cells-{tag}.parquet", "hist": f"hist-{tag}.parquet",
               "stores": stores}  # fmt: skip
    _swap(folder, current, read_current(root, month))
    con.execute("DROP TABLE m_cells; DROP TABLE m_hist")
    return counts


STORE_COLUMNS = ["store", "region", "grp", "k", "staff", *SUMS, "target", *MAXES]


def write_stores_db(con: Any, path: Path, rel_files: list[str]) -> None:
    """The month's store rows of ``m_cells`` / ``m_hist`` as a small SQLite file, indexed by store.

    What a report of named stores reads without DuckDB (``broker.chain.storekept``): Python with
    DuckDB imported is most of a 0.2 s budget, SQLite comes with Python.  Each histogram is one row
    per cell and column, its buckets and counts packed as little-endian int32 arrays (a few hundred
    rows per store and month instead of ~16,000).  ``fp`` holds each store's own fingerprint, so a
    report of one store checks only that store's files."""
    import sqlite3
    import sys

    tmp = path.with_name(f".{path.name}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"CREATE TABLE cells ({', '.join(STORE_COLUMNS)})")
    db.execute("CREATE TABLE hist (store, grp, k, staff, col, b BLOB, n BLOB)")
    db.execute("CREATE TABLE fp (store PRIMARY KEY, fingerprint)")
    cols = ", ".join(c if c != "grp" else "set" for c in STORE_COLUMNS)
    cur = con.execute(f"SELECT {cols} FROM m_cells WHERE store <> '*'")
    marks = ", ".join("?" * len(STORE_COLUMNS))
    while chunk := cur.fetchmany(20_000):
        db.executemany(f"INSERT INTO cells VALUES ({marks})", chunk)
    cur = con.execute("SELECT store, set, k, staff, col, list(b ORDER BY b), list(n ORDER BY b) FROM m_hist "
                      "WHERE store <> '*' GROUP BY ALL")  # fmt: skip
    swap = sys.byteorder != "little"
    while chunk := cur.fetchmany(20_000):
        db.executemany("INSERT INTO hist VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(*r[:5], _pack(r[5], swap), _pack(r[6], swap)) for r in chunk])  # fmt: skip
    by_store: dict[str, list[str]] = {}
    for rel in rel_files:
        by_store.setdefault(_store(rel), []).append(rel)
    db.executemany("INSERT INTO fp VALUES (?, ?)", [(k, fingerprint(v)) for k, v in by_store.items()])
    db.execute("CREATE INDEX cells_store ON cells (store, grp)")
    db.execute("CREATE INDEX hist_store ON hist (store, grp)")
    db.commit()
    db.close()
    os.replace(tmp, path)


def _pack(values: list[int], swap: bool) -> bytes:
    from array import array

    a = array("i", values)
    if swap:
        a.byteswap()
    return a.tobytes()


def days_dir(root: str | Path, month: str) -> Path:
    return Path(root) / SUMMARY_DIR / f"days-month={month}"


def read_days(root: str | Path, month: str) -> dict[str, Any] | None:
    """The month's day summary as ``{"files", "cells", "hist"}`` (the call files it was built from, relative;
    its own cells and hist files, absolute), or None."""
    folder = days_dir(root, month)
    try:
        data = json.loads((folder / "current.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    cells, hist = [str(folder / f) for f in _names(data["cells"])], [str(folder / f) for f in _names(data["hist"])]
    return {"files": set(data["files"]), "cells": cells, "hist": hist}


DAY_CHUNK_STORES = 100
"""Stores per pass of a day summary's store rows, each pass its own pair of files (sorting bounded)."""
DAY_CHUNK_DAYS = 4
"""Days per pass of its region rows (over every store)."""


def build_days(con: Any, root: str | Path, month: str, rel_files: list[str]) -> dict[str, int]:
    """Rebuild one month's day summary: cells per store and local day (``DAY_KEPT``), and per region and day
    (``ROLLED``), so a period that covers the month only in part (this week, this month so far) reads them.

    The queries stream (each group scans the files again, nothing materialised) and the store rows
    are built ``DAY_CHUNK_STORES`` at a time, so the build stays within the rebuild's memory bound."""
    folder = days_dir(root, month)
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    by_store: dict[str, list[str]] = {}
    for rel in rel_files:
        by_store.setdefault(_store(rel), []).append(rel)
    names = sorted(by_store)
    chunks = [(f"{i // DAY_CHUNK_STORES:04d}", names[i : i + DAY_CHUNK_STORES], False, "TRUE")
              for i in range(0, len(names), DAY_CHUNK_STORES)]  # fmt: skip
    # The region rows over every store, a few days per pass (a month's partition holds only its own days).
    chunks += [(f"regions-{d:02d}", names, True, f"day(local_date) BETWEEN {d} AND {d + DAY_CHUNK_DAYS - 1}")
               for d in range(1, 32, DAY_CHUNK_DAYS)]  # fmt: skip
    counts = {"cells": 0, "hist": 0}
    written: dict[str, list[str]] = {"cells": [], "hist": []}
    for part, stores, rolled, cond in chunks:
        files = [str(Path(root) / r) for s in stores for r in by_store[s]]
        for kind, make in (("cells", cells_sql), ("hist", hist_sql)):
            order = "set, store, day, k, staff" + (", col, b" if kind == "hist" else "")
            sql = make("files", cond, ROLLED if rolled else DAY_KEPT, True, rolled=rolled, stream=True)
            name = f"{kind}-{tag}-{part}.parquet"
            tmp = folder / f".{name}"
            con.execute(
                f"COPY (SELECT * FROM ({sql}) ORDER BY {order}) "
                f"TO '{tmp}' (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 100000)",
                {"files": files},
            )
            os.replace(tmp, folder / name)
            written[kind].append(name)
            counts[kind] += con.execute(f"SELECT count(*) FROM '{folder / name}'").fetchone()[0]
    _swap(folder, {"files": sorted(rel_files), **written}, read_days(root, month))
    return counts


def _names(value: str | list[str] | None) -> list[str]:
    return [] if not value else [value] if isinstance(value, str) else value


def _swap(folder: Path, current: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Name the new pair in ``current.json`` (atomically); keep the previous pair one build longer."""
    tmp = folder / ".current.json.tmp"
    tmp.write_text(json.dumps(current), encoding="utf-8")
    os.replace(tmp, folder / "current.json")
    if old:  # a reader that read the old name a moment ago may still open it
        keep = {Path(f).name for k in ("cells", "hist", "stores") for f in _names(old.get(k))}
        keep |= {f for k in ("cells", "hist", "stores") for f in _names(current.get(k))}
        for f in [*folder.glob("*.parquet"), *folder.glob("*.sqlite")]:
            if f.name not in keep:
                f.unlink(missing_ok=True)


def rebuild(
    root: str | Path, committed: list[str], only_stale: bool = True, con: Any = None, before: str | None = None
) -> list[str]:
    """Rebuild the summaries of every month of ``committed`` (relative paths) whose fingerprint changed
    (every month with ``only_stale=False``; with ``before``, only months before that YYYY-MM); returns
    those months.  Every month's day summary is rebuilt too when its files changed, the current one included."""
    import duckdb

    # Bounded memory (DuckDB spills the aggregation beyond it): a rebuild beside a running ingest.
    spill = Path(root) / SUMMARY_DIR / ".spill"
    con = con or duckdb.connect(
        config={"memory_limit": "256MB", "threads": 2, "temp_directory": str(spill), "preserve_insertion_order": False}
    )
    by_month: dict[str, list[str]] = {}
    for rel in committed:
        by_month.setdefault(month_of(rel), []).append(rel)
    done = []
    for month, rels in sorted(by_month.items()):
        days = read_days(root, month)
        if not only_stale or not days or days["files"] != set(rels):
            build_days(con, root, month, rels)
        if before and month >= before:
            continue
        cur = read_current(root, month)
        if only_stale and cur and cur["fingerprint"] == fingerprint(rels):
            continue
        build_month(con, root, month, rels)
        done.append(month)
    return done


# --- reading: the period's cells, from kept summaries where they are fresh, from raw rows elsewhere -----


def gather(con: Any, root: str | Path, committed: list[str], filters: Any, sets: list[str], name: str,
           per_store: bool = False) -> dict[str, int]:  # fmt: skip
    """Temp tables ``<name>_cells`` and ``<name>_hist`` holding the cells of ``filters`` for ``sets``.

    A month wholly inside the period with a fresh summary is read from it (the rolled groups from
    the region rows unless stores are named or ``per_store``); every other month from its raw files
    (``where(filters)``), so the cells are always those of the committed files.  Returns how many
    summary months and raw files were read.
    """
    from broker.chain.figures import where

    since, until = filters.since, filters.until
    scope = set(filters.stores) if filters.stores else None
    by_month: dict[str, list[str]] = {}
    for rel in committed:
        by_month.setdefault(month_of(rel), []).append(rel)
    kept_cells, kept_hist, raw, partial_kept = [], [], [], False
    day_cells, day_hist, day_months = [], [], 0
    stores_level = bool(filters.stores) or per_store
    for month, rels in sorted(by_month.items()):
        first = f"{month}-01"
        if (since and f"{month}-31" < since.isoformat()) or (until and first > until.isoformat()):
            continue
        whole = (not since or since.isoformat() <= first) and (not until or until.isoformat() >= _month_end(month))
        cur = read_current(root, month)
        if cur and cur["fingerprint"] == fingerprint(rels) and (whole or set(sets) <= {"day"}):
            kept_cells.append(cur["cells"])
            kept_hist.append(cur["hist"])
            partial_kept = partial_kept or not whole
            continue
        days = None if stores_level and "hour" in sets else read_days(root, month)
        if days and days["files"] <= set(rels):
            # Fresh for every file it was built from, and none of them gone (a merge since: raw until rebuilt);
            # the files committed since (the last flushes: today's calls, a straggler) are read raw beside it.
            day_cells.extend(days["cells"])
            day_hist.extend(days["hist"])
            day_months += 1
            rels = [r for r in rels if r not in days["files"]]
        raw.extend(str(Path(root) / r) for r in rels if scope is None or _store(r) in scope)
    cond_raw, params = where(filters)
    quoted = ", ".join(f"'{s}'" for s in sets)
    kept_cond = [f"set IN ({quoted})"]
    kp: dict[str, Any] = {}
    if filters.region:
        kept_cond.append("region = $region")
        kp["region"] = filters.region
    if filters.stores:
        kept_cond.append("store IN ($stores)")  # a plain IN list: the files' row-group statistics skip the rest
        kp["stores"] = ", ".join(_literal(x) for x in filters.stores)
    elif per_store:
        kept_cond.append("store <> '*'")
    else:
        rolled = ", ".join(f"'{s}'" for s in ROLLED)
        kept_cond.append(f"((set IN ({rolled})) = (store = '*'))")
    if partial_kept:
        kept_cond.append("k BETWEEN $k0 AND $k1")
        kp["k0"] = _days(since) if since else -(10**9)
        kp["k1"] = _days(until) if until else 10**9
    for kind, kept, make in (("cells", kept_cells, cells_sql), ("hist", kept_hist, hist_sql)):
        # The raw part once into a table (it is read by every output); the kept part as a view, so
        # each output scans only the row groups of its own set (the files are sorted by set).
        con.execute(_empty(f"{name}_raw", kind))
        if raw:
            con.execute(f"INSERT INTO {name}_raw_{kind} BY NAME {make('raw', cond_raw, sets)}", {**params, "raw": raw})
        view = f"SELECT * FROM {name}_raw_{kind}"
        if kept:
            cond = " AND ".join(kept_cond)
            for key, value in kp.items():
                cond = cond.replace(f"${key}", value if key == "stores" else _literal(value))
            view = f"SELECT * FROM read_parquet({_literal(kept)}) WHERE {cond} UNION ALL BY NAME {view}"
        if day_cells:
            dfiles = day_cells if kind == "cells" else day_hist
            view = f"{_day_view(dfiles, filters, sets, stores_level)} UNION ALL BY NAME {view}"
        # Named stores: their few rows once into a table; the chain's histograms: a view (millions of rows).
        table = filters.stores or kind == "cells"  # the cells are few (one scan, then every output reads them)
        con.execute(f"CREATE OR REPLACE TEMP {'TABLE' if table else 'VIEW'} {name}_{kind} AS {view}")
    return {"kept_months": len(kept_cells), "day_months": day_months, "raw_files": len(raw)}


def _day_view(files: list[str], filters: Any, sets: list[str], stores_level: bool) -> str:
    """The period's days of day summaries as cells of ``sets`` (the ``day`` column dropped).

    For the chain the rolled groups come from the region rows; for named stores (or per store) a
    store's ``day`` and ``weekday`` cells are its ``all`` cells with ``k`` from the day (1970-01-01
    was a Thursday: weekday ``(day + 3) % 7``, Monday 0)."""
    cond = [f"day BETWEEN {_days(filters.since) if filters.since else -(10**9)} "
            f"AND {_days(filters.until) if filters.until else 10**9}"]  # fmt: skip
    if filters.region:
        cond.append(f"region = {_literal(filters.region)}")
    if filters.stores:
        cond.append(f"store IN ({', '.join(_literal(x) for x in filters.stores)})")
    src = f"read_parquet({_literal(files)})"
    where_ = " AND ".join(cond)
    parts = []
    for s in sets:
        if not stores_level and s in ROLLED:
            parts.append(f"SELECT * EXCLUDE (day) FROM {src} WHERE set = '{s}' AND store = '*' AND {where_}")
        elif s in DAY_KEPT:
            parts.append(f"SELECT * EXCLUDE (day) FROM {src} WHERE set = '{s}' AND store <> '*' AND {where_}")
        elif s in ("day", "weekday"):
            k = "day" if s == "day" else "(day + 3) % 7"
            parts.append(f"SELECT * EXCLUDE (day, set, k), '{s}' AS set, ({k})::INTEGER AS k FROM {src} "
                         f"WHERE set = 'all' AND store <> '*' AND {where_}")  # fmt: skip
        else:
            raise ValueError(f"a day summary keeps no store-level {s!r} cells")
    return " UNION ALL BY NAME ".join(parts)


def _literal(value: Any) -> str:
    """A value as a SQL literal (a view cannot hold prepared parameters)."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _empty(name: str, kind: str) -> str:
    cols = "set VARCHAR, store VARCHAR, region VARCHAR, month VARCHAR, k INTEGER, staff VARCHAR"
    if kind == "hist":
        return f"CREATE OR REPLACE TEMP TABLE {name}_hist ({cols}, col TINYINT, b INTEGER, n INTEGER)"
    more = ", ".join(f"{c} BIGINT" for c in SUMS)
    return (f"CREATE OR REPLACE TEMP TABLE {name}_cells ({cols}, {more}, target DOUBLE, ack_max DOUBLE, "
            f"greet_max DOUBLE, cancelled_wait_max DOUBLE, staff_name VARCHAR)")  # fmt: skip


def _month_end(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    nxt = f"{y + 1:04d}-01-01" if m == 12 else f"{y:04d}-{m + 1:02d}-01"
    from datetime import date, timedelta

    return (date.fromisoformat(nxt) - timedelta(days=1)).isoformat()


def _days(d: Any) -> int:
    from datetime import date

    return (d - date(1970, 1, 1)).days


def _store(rel: str) -> str:
    return rel.split("/", 1)[0][len("store=") :]


OUTPUTS = {
    # output group: (source set, keys as (k_store, k_region, k, k_staff))
    "total": ("all", ("''", "''", "0", "''")),
    "store": ("all", ("store", "''", "0", "''")),
    "region": ("all", ("''", "region", "0", "''")),
    "weekday": ("weekday", ("''", "''", "k", "''")),
    "hour": ("hour", ("''", "''", "k", "''")),
    "day": ("day", ("''", "''", "k", "''")),
    "wdhour": ("wdhour", ("''", "''", "k", "''")),
    "staff": ("staff", ("store", "''", "0", "staff")),
}
FULL = ("total", "store", "region", "weekday", "hour")
"""Outputs with every percentile; the others only the median greeting."""


def _fast_candidates(con: Any, name: str) -> bool:
    """Whether the shout-outs need only the colleagues who may be among the fastest (``<name>_cand``).

    When at least five colleagues' medians are surely under 30 s (from the counters: more than half
    their greetings under 30 s, and 30 s is a bucket edge), nobody whose median is surely 30 s or more
    can make the top five: only the others' histograms under 30 s are read."""
    from broker.chain.figures import SHOUTOUT_MIN_CALLS, SHOUTOUT_TOP

    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name}_fast AS
        SELECT store, staff, sum(greeted) AS n, sum(d0) AS quick, min(target) AS target FROM {name}_cells
        WHERE set = 'staff' GROUP BY store, staff HAVING sum(greeted) >= {SHOUTOUT_MIN_CALLS}""")
    # Type 7 reads ranks r0 = floor((n-1)/2) and r0 + 1 (0-based): both under 30 s when quick > r0 + 1;
    # and such a colleague is shouted out only with a promise of 30 s or more.
    sure_sql = f"SELECT count(*) FROM {name}_fast WHERE quick >= (n - 1) // 2 + 2 AND target >= 30"
    sure = con.execute(sure_sql).fetchone()[0]
    if sure < SHOUTOUT_TOP:
        return False
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_cand AS SELECT * FROM {name}_fast WHERE quick >= (n - 1) // 2 + 1"
    )
    return True


def figures(con: Any, name: str, outputs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Rows per output group in the shape of ``broker.chain.figures.to_figures`` (``ack_q``, ``greet_q`` ...)."""
    counter_parts, hist_parts = [], []
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in SUMS)
    maxes = ", ".join(f"max({c}) AS {c}" for c in MAXES)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name}_sr AS SELECT store, region, col, b, sum(n)::BIGINT AS n
                    FROM {name}_hist WHERE set = 'all' GROUP BY ALL""")
    for out in outputs:
        src, (ks, kr, k, kst) = OUTPUTS[out]
        keys = f"{ks} AS k_store, {kr} AS k_region, {k} AS k, {kst} AS k_staff"
        counter_parts.append(f"SELECT '{out}' AS out, {keys}, {sums}, min(target) AS target, {maxes}, "
                             f"max(region) AS region FROM {name}_cells WHERE set = '{src}' GROUP BY ALL")  # fmt: skip
        if src == "all":
            hist_parts.append(f"SELECT '{out}' AS out, {keys}, col, b, sum(n) AS n FROM {name}_sr GROUP BY ALL")
        else:
            light = " AND col = 1" if out not in FULL else ""
            source = f"{name}_hist"
            if out == "staff" and _fast_candidates(con, name):
                # Only the candidates' greetings under 30 s (where their medians lie, or over the promise
                # if not), and the rest of each one's greetings as one count above: ranks stay right.
                con.execute(f"""CREATE OR REPLACE TEMP TABLE {name}_inc AS SELECT h.* FROM {name}_hist h
                    JOIN {name}_cand c USING (store, staff)
                    WHERE h.set = 'staff' AND h.col = 1 AND (h.b < 30 OR h.b = {OVER})""")
                source = f"{name}_inc"
                hist_parts.append(
                    f"SELECT 'staff' AS out, {keys}, 1 AS col, {OVER} AS b, c.n - coalesce(i.m, 0) AS n "
                    f"FROM {name}_cand c LEFT JOIN (SELECT store, staff, sum(n) AS m FROM {name}_inc "
                    f"GROUP BY ALL) i USING (store, staff)"
                )
            hist_parts.append(f"SELECT '{out}' AS out, {keys}, col, b, sum(n) AS n FROM {source} "
                              f"WHERE set = '{src}'{light} GROUP BY ALL")  # fmt: skip
    cur = con.execute(" UNION ALL ".join(counter_parts))
    names = [d[0] for d in cur.description]
    rows: dict[tuple, dict[str, Any]] = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        rows[(row["out"], row["k_store"], row["k_region"], row["k"], row["k_staff"])] = row
    low, high = LOW_SQL.format(b="b"), LOW_SQL.format(b="(b + 1)")
    qsql = f"""
    WITH h AS ({" UNION ALL ".join(hist_parts)}),
    c AS (SELECT *, sum(n) OVER w - n AS before, sum(n) OVER g AS tot, {low} AS lo, {high} AS hi FROM h
          WINDOW g AS (PARTITION BY out, k_store, k_region, k, k_staff, col),
                 w AS (PARTITION BY out, k_store, k_region, k, k_staff, col ORDER BY b ROWS UNBOUNDED PRECEDING)),
    r AS (SELECT *, (lo + hi) / 2 AS mid, floor((tot - 1) * 0.5) AS r5, floor((tot - 1) * 0.9) AS r9 FROM c)
    SELECT out, k_store, k_region, k, k_staff, col, any_value(tot) AS tot,
      max(CASE WHEN r5 >= before AND r5 < before + n THEN mid END) AS a5,
      max(CASE WHEN least(r5 + 1, tot - 1) >= before AND least(r5 + 1, tot - 1) < before + n THEN mid END) AS b5,
      max(CASE WHEN r9 >= before AND r9 < before + n THEN mid END) AS a9,
      max(CASE WHEN least(r9 + 1, tot - 1) >= before AND least(r9 + 1, tot - 1) < before + n THEN mid END) AS b9
    FROM r GROUP BY ALL
    """
    qs: dict[tuple, dict[tuple[int, float], float]] = {}
    for out, ks, kr, k, kst, col, tot, a5, b5, a9, b9 in con.execute(qsql).fetchall():
        q = qs.setdefault((out, ks, kr, k, kst), {})
        for p, lo, hi in ((0.5, a5, b5), (0.9, a9, b9)):
            h = (tot - 1) * p  # type 7: between the values at ranks floor(h) and floor(h) + 1
            q[(col, p)] = lo + (h - int(h)) * (hi - lo)
    return finish_groups(rows, qs)


def finish_groups(rows: dict[Any, dict[str, Any]], qs: dict[Any, dict]) -> dict[str, list[dict[str, Any]]]:
    """Counter rows with their quantiles ``qs`` ((column, p) -> value, kept below each column's max), by set."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, row in rows.items():
        q = qs.get(key, {})
        limit = {0: row["ack_max"], 1: row["greet_max"], 2: row["cancelled_wait_max"]}

        def at(col: int, p: float, q: dict = q, limit: dict = limit) -> float | None:
            v = q.get((col, p))
            return None if v is None else min(v, limit[col]) if limit[col] is not None else v

        row["set"] = row.pop("out")
        row["ack_q"] = [at(0, 0.5), at(0, 0.9)] if (0, 0.5) in q else None
        row["greet_q"] = [at(1, 0.5), at(1, 0.9)] if (1, 0.5) in q else None
        row["cancelled_wait_median"] = at(2, 0.5)
        row["feedback_avg"] = row["feedback_sum"] / row["feedback_count"] if row["feedback_count"] else None
        grouped.setdefault(row["set"], []).append(row)
    return grouped
