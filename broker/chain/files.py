"""The chain's Parquet files: their Arrow schema, how a batch is written, which files a question needs.

The files live under the chain's data root as ``store=<id>/month=<YYYY-MM>/<name>.parquet``
(``broker.contract.chain.PARTITION``, Hive style).  Readers never glob the whole tree: a report
of one store or one month lists only the folders it needs (``parquet_files``), so its cost
follows what it asks, not the size of the chain.  Every file holds every column of
``PARQUET_COLUMNS`` (``store`` included), so a file read alone is self-describing.

Example::

    >>> arrow_schema().field("opened_at").type
    TimestampType(timestamp[us, tz=UTC])
    >>> months_between("2026-11-20", "2027-01-03")
    ['2026-11', '2026-12', '2027-01']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from broker.contract.chain import PARQUET_COLUMNS, partition_dir


def arrow_type(name: str) -> Any:
    """An Arrow type from its name in ``PARQUET_COLUMNS`` (``timestamp[us, tz=UTC]``, ``int8``, ...)."""
    import pyarrow as pa

    if name.startswith("timestamp["):
        unit, _, tz = name[len("timestamp[") : -1].partition(", tz=")
        return pa.timestamp(unit, tz or None)
    return pa.type_for_alias(name)


def arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema([(column, arrow_type(kind)) for column, kind in PARQUET_COLUMNS.items()])


def write_partition(root: str | Path, store: str, month: str, table: Any, name: str = "part-0") -> Path:
    """Write ``table`` (one store, one month) as ``<root>/store=<store>/month=<month>/<name>.parquet``.

    Written to a temporary name and renamed, so a reader never sees half a file.
    """
    import pyarrow.parquet as pq

    folder = Path(root) / partition_dir(store, f"{month}-01")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    tmp = folder / f".{name}.parquet.tmp"
    pq.write_table(table.cast(arrow_schema()), tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def months_between(first: str, last: str) -> list[str]:
    """The months (YYYY-MM) from the date ``first`` to the date ``last``, inclusive."""
    y, m = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    out = []
    while (y, m) <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def parquet_files(
    root: str | Path, stores: Iterable[str] | None = None, first: str | None = None, last: str | None = None
) -> list[str]:
    """The Parquet files of ``stores`` (None: every store) in the months ``first`` to ``last`` (YYYY-MM), sorted.

    Lists folder names only (one ``scandir`` per level); hidden and temporary files are skipped.
    """
    root = Path(root)
    if stores is None:
        store_dirs = [e.path for e in _dirs(root) if e.name.startswith("store=")]
    else:
        store_dirs = [str(root / f"store={s}") for s in stores]
    out: list[str] = []
    for sd in store_dirs:
        if not os.path.isdir(sd):
            continue
        for md in _dirs(Path(sd)):
            if not md.name.startswith("month="):
                continue
            month = md.name[len("month=") :]
            if (first and month < first) or (last and month > last):
                continue
            out.extend(f.path for f in os.scandir(md.path) if f.name.endswith(".parquet") and f.name[0] != ".")
    return sorted(out)


def _dirs(folder: Path) -> list[os.DirEntry]:
    try:
        return [e for e in os.scandir(folder) if e.is_dir()]
    except FileNotFoundError:
        return []


def committed_files(root: str | Path, stores: Iterable[str] | None = None) -> list[str]:
    """Every call file of the chain as the ingest last committed it (paths relative to ``root``), sorted.

    Read from the ingest's index (``.ingest/index.sqlite``, opened read-only: one consistent
    snapshot), never by listing folders: while the ingest merges a partition, its old files and the
    merged one are on disk together, and only the index says which set counts.  A data root without
    an index (files written by other tools) is listed instead.  With ``stores``, only theirs.
    """
    import sqlite3

    root = Path(root)
    index = root / ".ingest" / "index.sqlite"
    if index.exists():
        conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            if stores is None:
                return sorted(r[0] for r in conn.execute("SELECT path FROM files"))
            out = []
            for s in stores:  # the primary key's order: a range per store
                prefix = f"store={s}/"
                sql = "SELECT path FROM files WHERE path >= ? AND path < ?"
                out.extend(r[0] for r in conn.execute(sql, (prefix, prefix[:-1] + "0")))
            return sorted(out)
        finally:
            conn.close()
    base = str(root) + os.sep
    return [p[len(base) :].replace(os.sep, "/") for p in parquet_files(root, stores)]


def store_of(rel: str) -> str:
    """``store=s1/month=2026-11/x.parquet`` -> ``s1``."""
    return rel.split("/", 1)[0][len("store=") :]
