"""The hub's event log in SQLite: ``calls``, ``events`` and ``rejected``.

One writer thread owns the only write connection (SQLite allows one writer; a
queue in front of it means the call->page path never waits on the disk).  The
writer commits in small batches and only then runs each batch's ``after`` callbacks,
which is where the hub acknowledges MQTT messages: a message is PUBACKed once it
is on disk, so a ``kill -9`` at any moment loses nothing the broker will not resend.

Storage faults (disk full, a read-only filesystem, another process holding the write
lock, the file deleted) must not make the hub deaf.  The broker hands the hub at most
``max_inflight_messages`` unacknowledged messages, so a writer that holds acks while it
cannot write stops all deliveries.  So on the first failed commit the log turns
*degraded*: it acknowledges what is pending and everything submitted from then on at once
(paging comes first), keeps the records in memory (bounded, ``MAX_HELD``), retries the
same batch until it commits, and reports the fault and its recovery through
``on_health``.  A database file deleted while open is rebuilt from the open connection;
one replaced by another file is a fault the writer cannot mend (``fatal``).

Example::

    >>> log = EventLog(":memory:")
    >>> log.start()
    >>> log.submit([("event", {"kind": "hello", "payload": "{}"})])
    >>> log.flush()
    True
    >>> log.stop()
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from broker.contract.clock import iso
from broker.contract.protocol import CLOSED_STATUSES, OPEN_STATUSES
from broker.hub.reportcells import REPORT_INDEXES, create_report_schema, seal_dirty, stale_report_indexes

log = logging.getLogger(__name__)

Record = tuple[str, dict[str, Any]]
"""("call", row) upserts a call; ("event", row), ("rejected", row) and ("press", row) append."""

MAX_REJECTED = 10_000
"""Rows kept in ``rejected``: enough to diagnose a bad device, never enough to fill a disk."""
KEEP_RECEIVED_S = 30 * 86400
"""``received`` events (every raw inbound message) are kept 30 days; the call history is kept for good."""
KEEP_PRESSES_S = 7 * 86400
"""Press ids are kept a week: far beyond any broker replay, so a replayed press is known as one."""
MAX_HELD = 200_000
"""Records held in memory while the disk cannot be written; past this, raw ``received`` events go first."""
WRITE_LOCK_WAIT_S = 0.5
"""How long one commit waits for another process's write lock before it counts as a fault.  Short: until
the log turns degraded the hub holds acknowledgements, and the broker's in-flight window (100) can fill
within this time on a busy morning.  Readers (reports, Datasette) never take this lock in WAL mode."""
PRUNE_EVERY = 2000
"""Rows written between two pruning passes."""

CALL_COLUMNS: dict[str, type] = {
    "id": str,
    "store": str,
    "device": str,
    "zone": str,
    "reason": str,
    "status": str,
    "staff": str,
    "tier": int,
    "opened_at": str,
    "acknowledged_at": str,
    "greeted_at": str,
    "closed_at": str,
    "time_to_ack_s": float,
    "time_to_greet_s": float,
    "time_to_close_s": float,
    "repeat_presses": int,
    "greeted_at_device": bool,
    "greeted_by": str,
    "feedback_score": int,
    "outcome": str,
    "declines": int,
    "escalated": bool,
    "lang": str,
    "text": str,
    "pressed_at": str,
    "opened_ts": float,
    "current_tier": int,
    "targets": str,
    "paged": str,
    "declined": str,
    "repages": int,
    "nobody_on_shift": bool,
    "page_age_s": float,
    "presses": str,
    "opened_mono": float,
    "eta_first_s": float,
    "eta_ack_s": float,
    "eta_last_s": float,
}
"""``eta_*_s``: the greeting promised to the customer, in seconds from the opening (``broker.core.calls.Call``)."""


EVENT_COLUMNS: dict[str, type] = {
    "id": int,
    "ts": str,
    "mono": float,
    "kind": str,
    "topic": str,
    "call_id": str,
    "staff": str,
    "device": str,
    "payload": str,
}
REJECTED_COLUMNS: dict[str, type] = {"id": int, "ts": str, "topic": str, "payload": str, "reason": str}
PRESS_COLUMNS: dict[str, type] = {"id": str, "call_id": str, "device": str, "ts": str, "wall": float}
META_COLUMNS: dict[str, type] = {"key": str, "value": str}


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes if missing, and add columns a newer version knows (idempotent)."""
    db.table("calls").create(CALL_COLUMNS, pk="id", not_null={"device", "status", "opened_at"}, if_not_exists=True)
    db.table("events").create(EVENT_COLUMNS, pk="id", if_not_exists=True)
    db.table("rejected").create(REJECTED_COLUMNS, pk="id", if_not_exists=True)
    db.table("presses").create(PRESS_COLUMNS, pk="id", if_not_exists=True)
    db.table("hub_meta").create(META_COLUMNS, pk="key", if_not_exists=True)
    for table, columns in (("calls", CALL_COLUMNS), ("events", EVENT_COLUMNS), ("rejected", REJECTED_COLUMNS)):
        have = db.table(table).columns_dict
        for name, kind in columns.items():
            if name not in have:
                db.table(table).add_column(name, kind)
    db.table("calls").create_index(["opened_at"], if_not_exists=True)
    db.table("calls").create_index(["status"], if_not_exists=True)
    db.table("events").create_index(["call_id"], if_not_exists=True)
    db.table("events").create_index(["kind", "staff"], if_not_exists=True)
    db.table("presses").create_index(["call_id"], if_not_exists=True)
    db.table("presses").create_index(["wall"], if_not_exists=True)
    for name in stale_report_indexes(db.conn):
        db.execute(f"DROP INDEX {name}")
    for name, target in REPORT_INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    create_report_schema(db.conn)


_CALL_NAMES = list(CALL_COLUMNS)
_CALL_UPSERT = (
    f"INSERT INTO calls ({', '.join(_CALL_NAMES)}) VALUES ({', '.join('?' * len(_CALL_NAMES))}) "
    f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _CALL_NAMES if c != 'id')}"
)
_EVENT_NAMES = [c for c in EVENT_COLUMNS if c != "id"]
_EVENT_INSERT = f"INSERT INTO events ({', '.join(_EVENT_NAMES)}) VALUES ({', '.join('?' * len(_EVENT_NAMES))})"
_REJECTED_NAMES = [c for c in REJECTED_COLUMNS if c != "id"]
_REJECTED_INSERT = (
    f"INSERT INTO rejected ({', '.join(_REJECTED_NAMES)}) VALUES ({', '.join('?' * len(_REJECTED_NAMES))})"
)
_PRESS_NAMES = list(PRESS_COLUMNS)
_PRESS_INSERT = f"INSERT OR IGNORE INTO presses ({', '.join(_PRESS_NAMES)}) VALUES (?, ?, ?, ?, ?)"
_META_UPSERT = "INSERT INTO hub_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"


def connect(path: str, timeout: float = 30.0) -> sqlite_utils.Database:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout)
    db = sqlite_utils.Database(conn)
    if path != ":memory:":
        db.enable_wal()
    # WAL + FULL: a commit is on disk before the hub acknowledges the message, so a power cut loses nothing
    # the broker was told is safe (NORMAL survives a process kill but may roll back the last commits).
    conn.execute("PRAGMA synchronous=FULL")
    return db


@dataclass(frozen=True)
class Health:
    """What the event log says about the disk: ``ok``, ``warning`` (nearly full) or ``fault``."""

    status: str
    problem: str | None = None
    held: int = 0
    """Records waiting in memory for the disk."""
    free_mb: int | None = None


Batch = list[tuple[list[Record], Callable[[], None] | None]]


class WriteLatency:
    """How long the log's commits took over the last ``window_s`` (for ``hub/health``'s ``write_ms_*``).

    A slow disk (an SD card wearing out, a USB stick) shows here long before it fails: acknowledgements
    wait for these commits.  Written by the writer thread, read by the hub's core thread, hence the
    lock; at most ``max_samples`` are kept, so a flood costs bounded memory.

    >>> w = WriteLatency(window_s=60)
    >>> for at, ms in ((0.0, 9.0), (1.0, 3.0), (2.0, 5.0)):
    ...     w.add(at, ms)
    >>> w.figures(now=30.0)
    {'write_ms_p50': 5.0, 'write_ms_max': 9.0}
    >>> w.figures(now=120.0) is None
    True
    """

    def __init__(self, window_s: float = 60.0, max_samples: int = 4096) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def add(self, now: float, ms: float) -> None:
        with self._lock:
            self._samples.append((now, ms))

    def figures(self, now: float) -> dict[str, float] | None:
        """The median and the longest commit in the window, in ms; None when nothing was written."""
        with self._lock:
            while self._samples and now - self._samples[0][0] > self.window_s:
                self._samples.popleft()
            values = sorted(ms for _, ms in self._samples)
        if not values:
            return None
        return {"write_ms_p50": round(values[(len(values) - 1) // 2], 1), "write_ms_max": round(values[-1], 1)}


class EventLog:
    def __init__(self, path: str, min_free_mb: int = 200, timezone: str | None = None) -> None:
        self.path = path
        self.timezone = timezone
        """The store's zone: with it, the writer seals each past local day's report cells (``reportcells``)."""
        self.min_free_mb = min_free_mb
        self.db = connect(path, timeout=WRITE_LOCK_WAIT_S)
        create_schema(self.db)
        self._identity = self._file_identity()
        self._queue: queue.Queue[tuple[list[Record], Callable[[], None] | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self.degraded = False
        """True from the first failed commit until the held records are on disk."""
        self.fatal: str | None = None
        """Set when the log cannot mend itself (its file replaced); the hub then exits for a restart."""
        self.on_health: Callable[[Health], None] = lambda health: None
        self.health = Health("ok")
        self.dropped = 0
        self._written = 0
        self._checked = 0.0
        self._read_lock = threading.Lock()
        self._read_conn: sqlite3.Connection | None = None
        self.latency = WriteLatency()
        """Commit times of the last minute, on the monotonic clock (``hub/health``)."""

    # --- reads at start-up (before the writer starts) ------------------------------

    def load_open(self) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(OPEN_STATUSES))
        rows = list(self.db.query(f"select * from calls where status in ({marks})", list(OPEN_STATUSES)))
        for row in rows:
            ids = {r["id"] for r in self.db.query("select id from presses where call_id = ?", [row["id"]])}
            ids.update(json.loads(row.get("presses") or "[]"))
            ids.discard(row["id"])
            row["presses"] = json.dumps(sorted(ids))
        return rows

    def load_recent_closed(self, limit: int = 5000) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(CLOSED_STATUSES))
        sql = f"select * from calls where status in ({marks}) order by opened_ts desc limit ?"
        return list(reversed(list(self.db.query(sql, [*CLOSED_STATUSES, limit]))))

    def load_presence(self) -> dict[str, str]:
        sql = (
            "select staff, payload from events where id in "
            "(select max(id) from events where kind = 'presence' group by staff)"
        )
        return {row["staff"]: json.loads(row["payload"])["status"] for row in self.db.query(sql)}

    def load_meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.db.query("select key, value from hub_meta")}

    def known_press(self, press_id: str) -> str | None:
        """The call a press id (or call id) belongs to, if the log has ever seen it.

        Read on a connection of its own (the writer thread owns ``self.db``); a read that fails
        answers "not known", since a storage fault must not stop a call."""
        if self.path == ":memory:":
            return None
        with self._read_lock:
            try:
                if self._read_conn is None:
                    self._read_conn = sqlite3.connect(self.path, check_same_thread=False, timeout=0.1)
                conn = self._read_conn
                row = conn.execute("select call_id from presses where id = ?", [press_id]).fetchone()
                if row is None:
                    row = conn.execute("select id from calls where id = ?", [press_id]).fetchone()
            except sqlite3.Error as exc:
                log.warning("event log: cannot look up press %s (%s)", press_id, exc)
                return None
        return row[0] if row else None

    # --- the writer ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="eventlog-writer", daemon=True)
        self._thread.start()

    def submit(self, records: list[Record], after: Callable[[], None] | None = None) -> None:
        """Queue records for the writer; ``after`` runs once they are committed.

        While the log is degraded ``after`` runs at once: a hub that waits for a disk that cannot be
        written stops receiving, and paging comes first."""
        self._idle.clear()
        if self.degraded and after is not None:
            _run_after(after)
            after = None
        self._queue.put((records, after))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.wait(0.01) and self._queue.empty():
                return True
        return False

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug in the writer: say so, the hub exits and is restarted
            log.exception("event log writer failed")
            self.fatal = f"event log writer failed: {exc!r}"
            self._set_health(Health("fault", self.fatal))

    def _loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._check_file()
                continue
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < 500:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if self._queue.empty():
                self._idle.set()
            if stop:
                return

    def _write(self, batch: Batch) -> None:
        """Commit one batch, retrying the same batch until it is on disk (or the hub stops)."""
        attempt = 0
        while True:
            self._check_file()
            if self.fatal:
                return  # unacknowledged: the broker resends it to the restarted hub
            try:
                started = time.monotonic()
                self._commit(batch)
                done = time.monotonic()
                self.latency.add(done, (done - started) * 1000)
                break
            except sqlite3.Error as exc:  # locked, disk full, read-only, I/O error, a file gone
                attempt += 1
                if not self.degraded:
                    log.error("event log: cannot write (%s); paging goes on, records wait in memory", exc)
                    self._degrade(batch)
                self._set_health(Health("fault", _describe(exc, self.path), self._held(batch)))
                if self._stopping.is_set() and attempt > 3:
                    log.error("event log: stopping with %d records unwritten", self._held(batch))
                    return
                self._absorb(batch)
                time.sleep(min(2.0, 0.1 * attempt))
        for _, after in batch:
            if after is not None:
                _run_after(after)
        self._written += self._held(batch)
        if self.degraded:
            self.degraded = False
            log.warning("event log: writing again; %d held records are on disk", self._held(batch))
            self._set_health(Health("ok"))
        if self._written >= PRUNE_EVERY:
            self._written = 0
            self._prune()
        self._check_space()

    def _commit(self, batch: Batch) -> None:
        calls: dict[str, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        presses: list[dict[str, Any]] = []
        meta: dict[str, str] = {}
        for records, _ in batch:
            for table, row in records:
                if table == "call":
                    calls[row["id"]] = row  # the latest row of a call wins within a batch
                elif table == "event":
                    events.append(row)
                elif table == "press":
                    presses.append(row)
                elif table == "meta":
                    meta.update(row)
                else:
                    rejected.append(row)
        conn = self.db.conn
        # One transaction for the whole batch: a call's row and the events that explain it are on
        # disk together or not at all.  (sqlite-utils' insert_all commits by itself, so plain SQL.)
        with conn:
            conn.executemany(_CALL_UPSERT, [tuple(r.get(c) for c in _CALL_NAMES) for r in calls.values()])
            conn.executemany(_EVENT_INSERT, [tuple(r.get(c) for c in _EVENT_NAMES) for r in events])
            conn.executemany(_REJECTED_INSERT, [tuple(r.get(c) for c in _REJECTED_NAMES) for r in rejected])
            conn.executemany(_PRESS_INSERT, [tuple(r.get(c) for c in _PRESS_NAMES) for r in presses])
            conn.executemany(_META_UPSERT, list(meta.items()))
            self._seal_report_days(conn, bool(calls))

    # --- kept report data (broker.hub.reportcells) ---------------------------------------

    def _seal_report_days(self, conn: sqlite3.Connection, wrote_calls: bool) -> None:
        """Seal past local days whose calls changed, in the same transaction as the call rows.

        Today stays live (reports compute it from the rows); a day is sealed at the first
        commit after it ends, and again whenever a late write touches it."""
        if self.timezone is None or not wrote_calls:
            return
        seal_dirty(conn, self.timezone, time.time())

    def _degrade(self, batch: Batch) -> None:
        """Acknowledge what waits for this batch: the broker must keep delivering while the disk is down."""
        self.degraded = True
        for i, (records, after) in enumerate(batch):
            if after is not None:
                _run_after(after)
                batch[i] = (records, None)

    def _absorb(self, batch: Batch) -> None:
        """Take what was submitted meanwhile into the batch being retried (acknowledging it), within MAX_HELD."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._stopping.set()
                continue
            records, after = item
            if after is not None:
                _run_after(after)
            batch.append((records, None))
        held = self._held(batch)
        if held > MAX_HELD:
            self.dropped += _drop_received(batch, held - MAX_HELD)

    @staticmethod
    def _held(batch: Batch) -> int:
        return sum(len(records) for records, _ in batch)

    def _set_health(self, health: Health) -> None:
        if health != self.health:
            self.health = health
            try:
                self.on_health(health)
            except Exception:
                log.exception("health callback failed")

    # --- the file and the disk ------------------------------------------------------

    def _file_identity(self) -> tuple[int, int] | None:
        if self.path == ":memory:":
            return None
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino)

    def _check_file(self) -> None:
        """A database file deleted while open is rebuilt from the open connection; a replaced one is fatal."""
        if self._identity is None or self.fatal:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._rebuild()
            return
        except OSError:
            return
        if (st.st_dev, st.st_ino) != self._identity:
            self.fatal = f"{self.path} was replaced by another file while the hub had it open"
            log.error("event log: %s; exiting so the service manager restarts the hub", self.fatal)
            self._let_go()
            self._set_health(Health("fault", self.fatal))

    def _let_go(self) -> None:
        """Let go of the replaced file now.  Its write-ahead log is found by name and SQLite leaves it behind
        for a file renamed over: the next hub would apply it to the new file and silently overwrite that
        file's pages with the old one's.  A truncating checkpoint folds it into the old file and leaves it
        empty.  Nothing more is written or acknowledged: the broker hands what is pending to the next hub."""
        with self._read_lock:
            try:
                if self._read_conn is not None:
                    self._read_conn.close()
                self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.db.conn.close()
            except sqlite3.Error as exc:
                log.error("event log: letting go of the replaced file failed (%s)", exc)
            self._read_conn = None

    def _rebuild(self) -> None:
        log.error("event log: %s was deleted while open; writing it back from the open connection", self.path)
        self._set_health(Health("fault", f"{self.path} was deleted; restoring it"))
        tmp = f"{self.path}.restoring"
        try:
            dest = sqlite3.connect(tmp)
            with dest:
                self.db.conn.backup(dest)
            dest.close()
            # Close every connection to the deleted file first: the last one to close folds its WAL
            # into it and removes the -wal file, which must not be read as the new file's journal.
            with self._read_lock:
                if self._read_conn is not None:
                    self._read_conn.close()
                    self._read_conn = None
                self.db.conn.close()
                os.replace(tmp, self.path)
            self.db = connect(self.path, timeout=WRITE_LOCK_WAIT_S)
            self._identity = self._file_identity()
            log.warning("event log: %s restored with its whole history", self.path)
            if not self.degraded:  # (a degraded log says "ok" once its held records are on disk)
                self._set_health(Health("ok"))
        except (sqlite3.Error, OSError) as exc:
            self.fatal = f"{self.path} was deleted and could not be restored: {exc}"
            log.error("event log: %s", self.fatal)
            self._set_health(Health("fault", self.fatal))

    def _check_space(self) -> None:
        now = time.monotonic()
        if self._identity is None or now - self._checked < 5.0:
            return
        self._checked = now
        try:
            free_mb = shutil.disk_usage(os.path.dirname(os.path.abspath(self.path))).free // 2**20
        except OSError:
            return
        if free_mb < self.min_free_mb:
            self._set_health(Health("warning", f"disk nearly full: {free_mb} MB free", free_mb=free_mb))
        elif self.health.status == "warning":
            self._set_health(Health("ok", free_mb=free_mb))

    def _prune(self) -> None:
        """Keep junk bounded: the newest MAX_REJECTED rejected rows, a month of raw messages, a week of presses."""
        now = time.time()
        conn = self.db.conn
        try:
            with conn:
                conn.execute("delete from rejected where id <= (select max(id) from rejected) - ?", [MAX_REJECTED])
                conn.execute("delete from events where kind = 'received' and ts < ?", [iso(now - KEEP_RECEIVED_S)])
                conn.execute("delete from presses where wall < ?", [now - KEEP_PRESSES_S])
        except sqlite3.Error as exc:
            log.warning("event log: pruning failed (%s); will try again", exc)


def _run_after(after: Callable[[], None]) -> None:
    try:
        after()
    except Exception:  # an ack on a dropped connection: the broker resends
        log.debug("after-commit callback failed", exc_info=True)


def _drop_received(batch: Batch, count: int) -> int:
    """Drop up to ``count`` raw ``received`` events from a held batch (the call history stays)."""
    dropped = 0
    for i, (records, after) in enumerate(batch):
        if dropped >= count:
            break
        kept = []
        for rec in records:
            if dropped < count and rec[0] == "event" and rec[1].get("kind") == "received":
                dropped += 1
            else:
                kept.append(rec)
        batch[i] = (kept, after)
    return dropped


def _describe(exc: Exception, path: str = ":memory:") -> str:
    """Say what is wrong in words a manager can act on.  SQLite reports a filesystem the kernel turned
    read-only (an SD card failing, ``errors=remount-ro``) as a plain "disk I/O error": ask the filesystem."""
    text = str(exc)
    if path != ":memory:" and _read_only_fs(path):
        return f"the database cannot be written: its filesystem is read-only ({text})"
    if "locked" in text:
        return f"the database is locked by another process ({text})"
    if "full" in text:
        return f"the disk is full ({text})"
    if "readonly" in text or "read-only" in text:
        return f"the database cannot be written: read-only ({text})"
    return f"the database cannot be written ({text})"


def _read_only_fs(path: str) -> bool:
    """Whether the database's folder refuses new files as read-only.  A probe file, not ``statvfs``: ext4
    turned read-only by an error keeps its mount flags "rw" and refuses writes itself."""
    probe = os.path.join(os.path.dirname(os.path.abspath(path)), f".staffcall-probe-{os.getpid()}")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    except OSError as exc:
        return exc.errno == errno.EROFS
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return False


def event_row(
    kind: str,
    mono: float,
    wall: float,
    topic: str | None = None,
    call_id: str | None = None,
    staff: str | None = None,
    device: str | None = None,
    payload: Any = None,
) -> Record:
    text = payload if isinstance(payload, str) or payload is None else json.dumps(payload, ensure_ascii=False)
    return (
        "event",
        {
            "ts": iso(wall),
            "mono": round(mono, 6),
            "kind": kind,
            "topic": topic,
            "call_id": call_id,
            "staff": staff,
            "device": device,
            "payload": text,
        },
    )


def press_row(press_id: str, call_id: str, device: str, wall: float) -> Record:
    return ("press", {"id": press_id, "call_id": call_id, "device": device, "ts": iso(wall), "wall": wall})


def rejected_row(topic: str, payload: bytes, reason: str, wall: float) -> Record:
    excerpt = payload[:200].decode("utf-8", "replace")
    if len(payload) > 200:
        excerpt += f"... ({len(payload)} bytes)"
    return ("rejected", {"ts": iso(wall), "topic": topic[:200], "payload": excerpt, "reason": reason})
