"""``staffcall chain ingest``: every store's call records from the cluster into Parquet, once per call.

A durable pull consumer on the ``CHAIN_CALLS`` stream (explicit acks) hands records over; they
are buffered and flushed as one Parquet file per partition (``store=<id>/month=<YYYY-MM>``).
Exactly once per (store, call id), whatever is killed when:

1. In one SQLite transaction (the *index*, ``<data>/.ingest/index.sqlite``) each record's key is
   inserted; a key already there is a re-send and skipped.
2. Each partition's new rows are written to a temporary file, fsynced, and renamed into place;
   the file's name goes into the same transaction.
3. The transaction commits; only then are the batch's messages acknowledged.

Killed before 3: the transaction rolls back, the files it wrote are named nowhere in the index and
are deleted at the next start (``recover``), and the cluster redelivers the unacknowledged
messages.  Killed after 3, before the acks: the redelivered records' keys are in the index, so they
are skipped.  A node of the cluster lost: the stream and the consumer are replicated (R3), the
client reconnects to another node, unacknowledged messages are redelivered.  A message that is not
a call record is logged, counted and acknowledged: one bad store never wedges the chain.

Small files: a flush writes one file per partition it touched.  ``compact`` merges a partition's
files into one (new file, then the index swaps the names in one transaction, then the old files
go), at the end of a catch-up and with ``--compact``.

Why SQLite for the keys: a set of 30 million keys in Python would take gigabytes; a ``WITHOUT
ROWID`` table answers the same question in bounded memory and commits atomically with the file list.

Example::

    staffcall chain ingest --data /srv/chain --servers nats://chain-1:4222,nats://chain-2:4222 \\
        --credentials /etc/staffcall/chain-ingest.toml
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import time
import tomllib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from broker.contract.chain import PARQUET_COLUMNS, CallRecord, decode_call, partition_dir

log = logging.getLogger(__name__)

DURABLE = "chain-ingest"
FETCH = 5000
FLUSH_ROWS = 50_000
"""Records buffered before a flush; with many stores a flush writes one file per store, so larger
batches mean fewer, larger files."""
FLUSH_S = 2.0
"""A record waits at most about this long in the buffer (while calls trickle in live)."""
ACK_WAIT_S = 30.0
"""The cluster redelivers a message not acknowledged this long after delivery: what an ingest killed
with records in its buffer waits for after its restart.  Must exceed a flush (seconds)."""
MAX_ACK_PENDING = 200_000
COMPACT_MIN_FILES = 8
INDEX_DIR = ".ingest"

_KEY_INSERT = "INSERT OR IGNORE INTO seen (store, call_id) VALUES (?, ?)"


def arrow_schema() -> Any:
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name.startswith("timestamp"):
            return pa.timestamp("us", tz="UTC")
        return pa.type_for_alias(name)

    return pa.schema([(column, kind(t)) for column, t in PARQUET_COLUMNS.items()])


class Index:
    """The keys of every call in the files and the files' names (see the module doc), in SQLite."""

    def __init__(self, root: Path) -> None:
        folder = root / INDEX_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.root = root
        # One user at a time (the flush runs in a worker thread, compaction on the loop): no sharing.
        self.conn = sqlite3.connect(folder / "index.sqlite", isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS seen (store TEXT, call_id TEXT, PRIMARY KEY (store, call_id)) WITHOUT ROWID"
        )
        self.conn.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, partition TEXT, rows INTEGER)")

    def files(self, partition: str | None = None) -> list[str]:
        if partition is None:
            return [r[0] for r in self.conn.execute("SELECT path FROM files")]
        return [r[0] for r in self.conn.execute("SELECT path FROM files WHERE partition = ?", [partition])]

    def recover(self) -> int:
        """Delete files no committed batch names (a kill mid-flush or mid-compaction); how many."""
        known = set(self.files())
        removed = 0
        for path in self.root.glob("store=*/month=*/*"):
            rel = path.relative_to(self.root).as_posix()
            if rel not in known:
                path.unlink()
                removed += 1
        return removed


def _syncfs(path: Path) -> None:
    """Flush everything written to ``path``'s filesystem (Linux ``syncfs``; elsewhere ``sync``)."""
    import ctypes
    import ctypes.util

    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.syncfs(fd) != 0:
            os.sync()
    except (OSError, AttributeError):
        os.sync()
    finally:
        os.close(fd)


@dataclass
class Counts:
    written: int = 0
    duplicates: int = 0
    bad: int = 0
    files: int = 0
    flushes: int = 0


@dataclass
class Buffer:
    records: list[CallRecord] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)
    msgs: list[Any] = field(default_factory=list)
    first_at: float = 0.0
    count: int = 0


class Writer:
    """Turns decoded records into Parquet files and index rows, one flush at a time (no I/O to the cluster)."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        import pyarrow.parquet  # noqa: F401 - loaded here, once

        self.root = root
        self.index = Index(root)
        self.schema = arrow_schema()
        self.fsync = fsync
        self.counts = Counts()
        removed = self.index.recover()
        if removed:
            log.warning("ingest: removed %d files of an unfinished batch (their records are redelivered)", removed)

    def write(self, records: list[CallRecord]) -> int:
        """Write the records that are new (by (store, call_id)) and commit; how many were new."""
        conn = self.index.conn
        fresh: dict[str, list[CallRecord]] = defaultdict(list)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for r in records:
                if conn.execute(_KEY_INSERT, (r.store, r.call_id)).rowcount:
                    fresh[partition_dir(r.store, r.local_date)].append(r)
                else:
                    self.counts.duplicates += 1
            batch = uuid.uuid4().hex[:12]
            # One Arrow table for the whole flush (partition after partition), sliced per file: a flush
            # over a thousand stores builds 24 arrays, not 24,000.
            table = self._table([r for rows in fresh.values() for r in rows])
            offset, placed = 0, []
            for partition, rows in fresh.items():
                rel = f"{partition}/part-{int(time.time())}-{batch}.parquet"
                placed.append(self._write_tmp(rel, table.slice(offset, len(rows))))
                offset += len(rows)
                conn.execute("INSERT INTO files (path, partition, rows) VALUES (?, ?, ?)", (rel, partition, len(rows)))
            self._place(placed)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        new = sum(len(rows) for rows in fresh.values())
        self.counts.written += new
        self.counts.files += len(fresh)
        self.counts.flushes += 1
        return new

    def _table(self, rows: list[CallRecord]) -> Any:
        import pyarrow as pa

        columns = {name: [getattr(r, name) for r in rows] for name in PARQUET_COLUMNS}
        arrays = []
        for f in self.schema:
            values = columns[f.name]
            if pa.types.is_timestamp(f.type) or pa.types.is_date32(f.type):
                arrays.append(pa.array(values, pa.string()).cast(f.type))
            else:
                arrays.append(pa.array(values, f.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _write_file(self, rel: str, table: Any) -> None:
        self._place([self._write_tmp(rel, table)])

    def _write_tmp(self, rel: str, table: Any) -> tuple[Path, Path]:
        import pyarrow.parquet as pq

        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        return tmp, path

    def _place(self, files: list[tuple[Path, Path]]) -> None:
        """Make the files durable, rename them into place, make the renames durable: before the commit.

        One ``syncfs`` of the data's filesystem before and after the renames instead of an fsync per
        file and folder: a flush over a thousand stores writes a thousand files."""
        if self.fsync:
            _syncfs(self.root)
        for tmp, path in files:
            os.replace(tmp, path)
        if self.fsync:
            _syncfs(self.root)

    def summarise(self) -> int:
        """Rebuild the kept summaries (``broker.chain.cells``) whose files changed: the month summaries of
        past months, and every month's day summary, the current one included.

        The current month (and the last day's stragglers in the next) changes all day: its month
        summary is built once it is over; meanwhile reports read its day summary and, raw, only the
        files committed since that was built (the last flushes).  A child process does it
        (``--summarise-past``), beside the ingest: a month's rebuild never holds up the records, and
        DuckDB's memory for it is not the ingest's.  Returns the child's exit status."""
        cmd = [sys.executable, "-m", "broker.cli", "chain", "ingest", "--data", str(self.root), "--summarise-past"]
        return subprocess.run(cmd, check=False).returncode

    def compact(self, min_files: int = COMPACT_MIN_FILES) -> int:
        """Merge each partition that has ``min_files`` files or more into one file; how many partitions."""
        import pyarrow.parquet as pq

        conn = self.index.conn
        sql = "SELECT partition, count(*) FROM files GROUP BY partition HAVING count(*) >= ?"
        rows = conn.execute(sql, [min_files])
        merged = 0
        for partition, _ in rows.fetchall():
            old = self.index.files(partition)
            table = pq.read_table([str(self.root / p) for p in old], schema=self.schema)
            rel = f"{partition}/compact-{int(time.time())}-{uuid.uuid4().hex[:12]}.parquet"
            self._write_file(rel, table)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in old])
            conn.execute("INSERT INTO files (path, partition, rows) VALUES (?, ?, ?)", (rel, partition, table.num_rows))
            conn.execute("COMMIT")
            for p in old:  # a kill before this: they are in no committed list, recover() deletes them
                with contextlib.suppress(FileNotFoundError):
                    (self.root / p).unlink()
            merged += 1
        return merged


class Progress:
    """One line while catching up: written, waiting in the cluster, rate (``\\r`` on a terminal)."""

    def __init__(self, stream: Any = None, every_s: float = 1.0, lang: str = "en") -> None:
        from broker.chain.texts import texts

        self.text = texts(lang)["chain_ingest_progress"]
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if self.tty else max(every_s, 5.0)
        self._at = time.monotonic()
        self._written = 0

    def show(self, counts: Counts, waiting: int | None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._at < self.every_s:
            return
        rate = (counts.written - self._written) / max(1e-6, now - self._at)
        self._at, self._written = now, counts.written
        left = "?" if waiting is None else f"{waiting:,}"
        line = self.text.format(written=f"{counts.written:,}", waiting=left, rate=f"{rate:,.0f}",
                                dupes=f"{counts.duplicates:,}", bad=f"{counts.bad:,}")  # fmt: skip
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()


async def consume(args: argparse.Namespace, stop: asyncio.Event | None = None) -> Counts:
    """Run the ingest until ``stop`` is set (or, with ``--until-idle``, until nothing waits)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    from broker.chain.cluster import CALLS_STREAM, CALLS_SUBJECTS, ensure_streams

    stop = stop or asyncio.Event()
    user, password = _login(args)
    root = Path(args.data)
    writer = Writer(root, fsync=not args.no_fsync)
    progress = Progress(lang=getattr(args, "lang", "en"))

    async def on_error(exc: Exception) -> None:
        log.warning("ingest: cluster connection: %s", exc)

    nc = await nats.connect(
        servers=args.servers.split(","),
        user=user,
        password=password,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=on_error,
        name="staffcall-chain-ingest",
    )
    js = nc.jetstream(timeout=10)
    await ensure_streams(js, replicas=args.replicas)
    config = ConsumerConfig(
        durable_name=DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=args.ack_wait,
        max_ack_pending=MAX_ACK_PENDING,
        max_waiting=16,
    )
    with contextlib.suppress(nats.js.errors.Error):  # creates it, or updates what may change (ack_wait)
        await js.add_consumer(CALLS_STREAM, config)
    sub = await js.pull_subscribe(CALLS_SUBJECTS, durable=DURABLE, stream=CALLS_STREAM, config=config)
    buf = Buffer()
    waiting: int | None = None
    info_at = 0.0
    idle_since: float | None = None
    summaries: asyncio.Future | None = None
    try:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(FETCH, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                msgs = []
            except Exception as exc:  # a node lost: the client reconnects; try again
                log.warning("ingest: fetch failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
                msgs = []
            for msg in msgs:
                _take(msg, buf, writer.counts)
            now = time.monotonic()
            if buf.msgs and (buf.count >= args.flush_rows or now - buf.first_at >= args.flush_s or not msgs):
                await _flush(buf, writer)
                buf = Buffer()
            if now - info_at >= 1.0:
                info_at = now
                waiting = await _waiting(sub)
                progress.show(writer.counts, waiting)
            if not msgs and not buf.msgs and waiting == 0:
                if idle_since is None:
                    idle_since = now
                    if writer.compact():  # caught up: a good moment to merge small files
                        log.info("ingest: compacted small files")
                    if summaries is None or summaries.done():  # ... and to bring the kept summaries up to date
                        summaries = asyncio.ensure_future(asyncio.to_thread(_summarise, writer))
                if args.until_idle and now - idle_since >= args.until_idle:
                    break
            elif msgs:
                idle_since = None
    finally:
        if buf.msgs:
            with contextlib.suppress(Exception):
                await _flush(buf, writer)
        progress.show(writer.counts, await _waiting(sub), force=True)
        if progress.tty:
            progress.stream.write("\n")
        with contextlib.suppress(Exception):
            await nc.flush(timeout=5)  # the last acks out; (drain() waits for a pull subscription forever)
        with contextlib.suppress(Exception):
            await nc.close()
    return writer.counts


def _summarise(writer: Writer) -> None:
    try:
        status = writer.summarise()
    except OSError as exc:
        status = str(exc)  # type: ignore[assignment]
    if status:  # a summary is derived: reports read the raw files meanwhile
        log.warning("ingest: rebuilding the kept summaries failed (%s)", status)


def _take(msg: Any, buf: Buffer, counts: Counts) -> None:
    """Decode one message into the buffer; a bad one is counted and acknowledged at the flush."""
    buf.msgs.append(msg)
    if not buf.first_at:
        buf.first_at = time.monotonic()
    try:
        record = decode_call(msg.data)
        if not record.store or msg.subject != f"chain.{record.store}.calls":
            raise ValueError(f"a record of store {record.store!r} on {msg.subject!r}")
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        counts.bad += 1
        log.warning("ingest: rejected a message on %s: %s", msg.subject[:80], str(exc)[:200])
        return
    key = (record.store, record.call_id)
    if key in buf.keys:
        counts.duplicates += 1
        return
    buf.keys.add(key)
    buf.records.append(record)
    buf.count += 1


async def _flush(buf: Buffer, writer: Writer) -> None:
    """Write, commit, then acknowledge (see the module doc); the write runs off the event loop."""
    if buf.records:
        await asyncio.to_thread(writer.write, buf.records)
    for msg in buf.msgs:
        with contextlib.suppress(Exception):  # an ack lost: redelivered, then skipped as a re-send
            await msg.ack()


async def _waiting(sub: Any) -> int | None:
    try:
        info = await sub.consumer_info()
    except Exception:
        return None
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


def _login(args: argparse.Namespace) -> tuple[str, str]:
    if args.credentials:
        raw = tomllib.loads(Path(args.credentials).read_text(encoding="utf-8"))
        return raw["username"], raw["password"]
    password = args.password or os.environ.get("STAFFCALL_CHAIN_PASSWORD", "")
    return args.user, password


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the chain's data folder (Parquet files by store and month)")
    parser.add_argument(
        "--servers", default="nats://127.0.0.1:4222", help="the cluster's nodes, comma separated (nats://host:4222)"
    )
    parser.add_argument("--user", default="_ingest", help="the ingest's login on the cluster")
    parser.add_argument("--password", default="", help="its password (or STAFFCALL_CHAIN_PASSWORD, or --credentials)")
    parser.add_argument("--credentials", help='a TOML file with username = "..." and password = "..."')
    parser.add_argument("--replicas", type=int, default=3, help="stream replicas when creating them (3 nodes: 3)")
    parser.add_argument("--flush-rows", type=int, default=FLUSH_ROWS, help="records per flush (files per partition)")
    parser.add_argument("--flush-s", type=float, default=FLUSH_S, help="longest wait of a record in the buffer")
    parser.add_argument(
        "--ack-wait", type=float, default=ACK_WAIT_S, help="seconds before the cluster redelivers an unacked record"
    )
    parser.add_argument("--until-idle", type=float, default=0.0, help="exit after this many seconds with nothing left")
    parser.add_argument("--compact", action="store_true", help="merge each partition's small files, then exit")
    parser.add_argument(
        "--rebuild-summaries", action="store_true", help="rebuild every month's kept summary from the files, then exit"
    )
    parser.add_argument("--summarise-past", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lang", choices=("en", "sv"), default="en", help="the progress line's language")
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync (benchmarks on a throwaway disk only)")
    parser.epilog = (
        "Example: staffcall chain ingest --data /srv/chain --servers nats://chain-1:4222,nats://chain-2:4222"
    )


def run(args: argparse.Namespace) -> int:
    if args.compact:
        merged = Writer(Path(args.data)).compact(min_files=2)
        print(f"ingest: compacted {merged} partitions")
        return 0
    if args.rebuild_summaries or args.summarise_past:
        from datetime import UTC, datetime, timedelta

        from broker.chain.cells import rebuild
        from broker.chain.files import committed_files

        t0 = time.monotonic()
        if args.summarise_past:  # the ingest's child: stale months before the current one
            current = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m")
            months = rebuild(args.data, committed_files(args.data), before=current)
        else:
            months = rebuild(args.data, committed_files(args.data), only_stale=False)
        if months or args.rebuild_summaries:
            print(f"ingest: rebuilt the summaries of {len(months)} months in {time.monotonic() - t0:.1f} s")
        return 0
    asyncio.run(_main(args))
    return 0


async def _main(args: argparse.Namespace) -> None:
    """Until SIGTERM or Ctrl-C: then the buffer is flushed and acknowledged before exit."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await consume(args, stop)
