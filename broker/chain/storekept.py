"""A report of named stores straight from the months' per-store SQLite summaries, without DuckDB.

The chain report of one store should take a fifth of a second as a whole process; Python with
DuckDB imported and a query planned is most of that before any work.  When every month of the
period is covered by a kept summary that is fresh *for these stores* (``fp``: each store's own
fingerprint of its files, ``broker.chain.cells.write_stores_db``), the cells are summed here in
Python, the percentiles read from the summed histograms exactly as ``broker.chain.cells.figures``
does in SQL (same buckets, same type 7 between bucket midpoints), so the report is the same.
Anything else (a month only partly in the period, a stale or missing summary) answers None, and
the report takes the DuckDB path.
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from typing import Any

from broker.chain.cells import (
    FINE_BUCKETS,
    FINE_S,
    FINE_UP_TO_S,
    FULL,
    MAXES,
    OUTPUTS,
    OVER,
    STEP,
    STORE_COLUMNS,
    SUMS,
    _days,
    _month_end,
    fingerprint,
    finish_groups,
    month_of,
    read_current,
)
from broker.chain.files import committed_files, store_of


def _low(b: int) -> float:
    """A bucket's lower edge (``broker.chain.cells.LOW_SQL``)."""
    if b >= OVER:
        return 1e9
    if b < FINE_BUCKETS:
        return b * FINE_S
    return FINE_UP_TO_S * pow(STEP, b - FINE_BUCKETS)


def _unpack(blob: bytes) -> array:
    a = array("i")
    a.frombytes(blob)
    if sys.byteorder != "little":
        a.byteswap()
    return a


class KeptStores:
    """The named stores' kept cells over ``filters``' period, if the summaries cover it."""

    def __init__(self, root: str, filters: Any) -> None:
        self.root, self.filters = root, filters
        self.by_month: dict[str, dict[str, list[str]]] = {}
        for rel in committed_files(root, filters.stores):
            self.by_month.setdefault(month_of(rel), {}).setdefault(store_of(rel), []).append(rel)
        self.months = 0

    def _dbs(self, since: Any, until: Any, partial_ok: bool) -> list[tuple[sqlite3.Connection, bool]] | None:
        """An open summary per month of the period, and whether the period covers it only in part; None if stale."""
        out = []
        for month, stores in sorted(self.by_month.items()):
            first = f"{month}-01"
            if (since and f"{month}-31" < since.isoformat()) or (until and first > until.isoformat()):
                continue
            whole = (not since or since.isoformat() <= first) and (not until or until.isoformat() >= _month_end(month))
            cur = read_current(self.root, month)
            if not (whole or partial_ok) or not cur or not cur.get("stores"):
                return None
            try:
                db = sqlite3.connect(f"file:{cur['stores']}?mode=ro", uri=True)
                fps = dict(db.execute("SELECT store, fingerprint FROM fp"))
            except sqlite3.Error:  # replaced a moment ago: the DuckDB path reads what is there now
                return None
            if any(fps.get(s) != fingerprint(rels) for s, rels in stores.items()):
                return None
            out.append((db, not whole))
        return out

    def _rows(self, db: sqlite3.Connection, table: str, sets: list[str], partial: bool, since: Any, until: Any) -> Any:
        f = self.filters
        cond = [f"store IN ({', '.join('?' * len(f.stores))})", f"grp IN ({', '.join('?' * len(sets))})"]
        params: list[Any] = [*f.stores, *sets]
        if partial:  # only the day cells serve part of a month
            cond.append("k BETWEEN ? AND ?")
            params += [_days(since) if since else -(10**9), _days(until) if until else 10**9]
        if f.region and table == "cells":
            cond.append("region = ?")
            params.append(f.region)
        return db.execute(f"SELECT * FROM {table} WHERE {' AND '.join(cond)}", params)

    def figures(self, sets: list[str], outputs: list[str]) -> dict[str, list[dict[str, Any]]] | None:
        """Rows per output group, as ``broker.chain.cells.figures``; None when the summaries do not cover it."""
        f = self.filters
        dbs = self._dbs(f.since, f.until, set(sets) <= {"day"})
        if dbs is None:
            return None
        self.months = len(dbs)
        cells: list[dict[str, Any]] = []
        hist: list[tuple] = []
        regions: dict[str, str] = {}
        for db, partial in dbs:
            for values in self._rows(db, "cells", sets, partial, f.since, f.until):
                row = dict(zip(STORE_COLUMNS, values, strict=True))
                cells.append(row)
                regions[row["store"]] = row["region"]
            hist.extend(self._rows(db, "hist", sets, partial, f.since, f.until))
            db.close()
        return _sum(cells, hist, regions, outputs)

    def week_rows(self, this_monday: Any) -> list[dict[str, Any]] | None:
        """The two weeks' per-store day cells for the worse-week check (``report._assemble``)."""
        from datetime import timedelta

        since, until = this_monday - timedelta(days=7), this_monday + timedelta(days=6)
        dbs = self._dbs(since, until, True)
        if dbs is None:
            return None
        monday_k = _days(this_monday)
        weeks: dict[tuple[str, bool], dict[str, Any]] = {}
        for db, _ in dbs:
            for values in self._rows(db, "cells", ["day"], True, since, until):
                r = dict(zip(STORE_COLUMNS, values, strict=True))
                w = weeks.setdefault((r["store"], r["k"] >= monday_k), {"calls": 0, "within": 0, "judged": 0})
                w.update(store=r["store"], region=r["region"], this_week=r["k"] >= monday_k)
                w["calls"] += r["calls"]
                w["within"] += r["within_target"]
                w["judged"] += r["judged"]
            db.close()
        return list(weeks.values())


def _key(out: str, store: str, region: str, k: int, staff: str) -> tuple:
    _, (ks, kr, kk, kst) = OUTPUTS[out]
    return (out, store if ks == "store" else "", region if kr == "region" else "", k if kk == "k" else 0,
            staff if kst == "staff" else "")  # fmt: skip


def _sum(cells: list[dict[str, Any]], hist: list[tuple], regions: dict[str, str],
         outputs: list[str]) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """``broker.chain.cells.figures`` in Python over a few stores' cells."""
    by_src: dict[str, list[str]] = {}
    for out in outputs:
        by_src.setdefault(OUTPUTS[out][0], []).append(out)
    rows: dict[tuple, dict[str, Any]] = {}
    for c in cells:
        for out in by_src.get(c["grp"], ()):
            key = _key(out, c["store"], c["region"], c["k"], c["staff"])
            row = rows.get(key)
            if row is None:
                keys = {"out": out, "k_store": key[1], "k_region": key[2], "k": key[3], "k_staff": key[4]}
                empty = {**dict.fromkeys(SUMS, 0), "target": None, **dict.fromkeys(MAXES), "region": None}
                rows[key] = row = {**keys, **empty}
            for s in SUMS:
                row[s] += c[s]
            if c["target"] is not None and (row["target"] is None or c["target"] < row["target"]):
                row["target"] = c["target"]
            for m in (*MAXES, "region"):
                if c[m] is not None and (row[m] is None or c[m] > row[m]):
                    row[m] = c[m]
    counts: dict[tuple, dict[int, int]] = {}
    for store, grp, k, staff, col, b_blob, n_blob in hist:
        if store not in regions:  # a named store outside the region (its cells were left out)
            continue
        for out in by_src.get(grp, ()):
            if out not in FULL and col != 1:
                continue
            key = (*_key(out, store, regions.get(store, ""), k, staff), col)
            bucket = counts.setdefault(key, {})
            for b, n in zip(_unpack(b_blob), _unpack(n_blob), strict=True):
                bucket[b] = bucket.get(b, 0) + n
    qs: dict[tuple, dict[tuple[int, float], float]] = {}
    for (*key, col), bucket in counts.items():
        q = qs.setdefault(tuple(key), {})
        ordered = sorted(bucket.items())
        tot = sum(bucket.values())
        for p in (0.5, 0.9):
            r = int((tot - 1) * p)
            lo, hi = _at_rank(ordered, r), _at_rank(ordered, min(r + 1, tot - 1))
            h = (tot - 1) * p
            q[(col, p)] = lo + (h - int(h)) * (hi - lo)
    return finish_groups(rows, qs)


def _at_rank(ordered: list[tuple[int, int]], rank: int) -> float:
    """The midpoint of the bucket holding the value of 0-based ``rank``."""
    before = 0
    for b, n in ordered:
        if before <= rank < before + n:
            return (_low(b) + _low(b + 1)) / 2
        before += n
    raise ValueError(f"rank {rank} beyond the histogram")
