"""The hub's event log in SQLite: ``calls``, ``events`` and ``rejected``.

One writer thread owns the only write connection (SQLite allows one writer; a
queue in front of it means the call->page path never waits on the disk).  The
writer commits in small batches and only then runs each batch's ``after`` callbacks,
which is where the hub acknowledges MQTT messages: a message is PUBACKed once it
is on disk, so a ``kill -9`` at any moment loses nothing the broker will not resend.

Example::

    >>> log = EventLog(":memory:")
    >>> log.start()
    >>> log.submit([("event", {"kind": "hello", "payload": "{}"})])
    >>> log.flush()
    >>> log.stop()
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlite_utils

from broker.clock import iso
from broker.protocol import CLOSED_STATUSES, OPEN_STATUSES

log = logging.getLogger(__name__)

Record = tuple[str, dict[str, Any]]
"""("call", row) upserts a call; ("event", row) and ("rejected", row) append."""

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
}


REPORT_INDEXES = {
    # Covering: every column a report reads, in opened_ts order, so a year's report reads
    # this narrow index and never the wide rows (JSON lists, free text) of the table.
    "idx_calls_report": "calls(opened_ts, status, time_to_greet_s, time_to_ack_s, time_to_close_s, zone, device, "
    "reason, greeted_by, staff, feedback_score, repeat_presses, escalated, declines, declined)",
}
"""Indexes for ``broker.metrics``; made here so the hub stays the event log's one writer."""


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


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes if missing, and add columns a newer version knows (idempotent)."""
    db["calls"].create(CALL_COLUMNS, pk="id", not_null={"device", "status", "opened_at"}, if_not_exists=True)
    db["events"].create(EVENT_COLUMNS, pk="id", if_not_exists=True)
    db["rejected"].create(REJECTED_COLUMNS, pk="id", if_not_exists=True)
    for table, columns in (("calls", CALL_COLUMNS), ("events", EVENT_COLUMNS), ("rejected", REJECTED_COLUMNS)):
        have = db[table].columns_dict
        for name, kind in columns.items():
            if name not in have:
                db[table].add_column(name, kind)
    db["calls"].create_index(["opened_at"], if_not_exists=True)
    db["calls"].create_index(["status"], if_not_exists=True)
    db["events"].create_index(["call_id"], if_not_exists=True)
    db["events"].create_index(["kind", "staff"], if_not_exists=True)
    for name, target in REPORT_INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


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


def connect(path: str) -> sqlite_utils.Database:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db = sqlite_utils.Database(conn)
    if path != ":memory:":
        db.enable_wal()
    # WAL + FULL: a commit is on disk before the hub acknowledges the message, so a power cut loses nothing
    # the broker was told is safe (NORMAL survives a process kill but may roll back the last commits).
    conn.execute("PRAGMA synchronous=FULL")
    return db


class EventLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self.db = connect(path)
        create_schema(self.db)
        self._queue: queue.Queue[tuple[list[Record], Callable[[], None] | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    # --- reads at start-up (before the writer starts) ------------------------------

    def load_open(self) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(OPEN_STATUSES))
        return list(self.db.query(f"select * from calls where status in ({marks})", list(OPEN_STATUSES)))

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

    # --- the writer ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="eventlog-writer", daemon=True)
        self._thread.start()

    def submit(self, records: list[Record], after: Callable[[], None] | None = None) -> None:
        """Queue records for the writer; ``after`` runs once they are committed."""
        self._idle.clear()
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
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
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

    def _write(self, batch: list[tuple[list[Record], Callable[[], None] | None]]) -> None:
        calls: dict[str, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for records, _ in batch:
            for table, row in records:
                if table == "call":
                    calls[row["id"]] = row  # the latest row of a call wins within a batch
                elif table == "event":
                    events.append(row)
                else:
                    rejected.append(row)
        conn = self.db.conn
        for attempt in range(5):
            try:
                # One transaction for the whole batch: a call's row and the events that explain it are on
                # disk together or not at all.  (sqlite-utils' insert_all commits by itself, so plain SQL.)
                with conn:
                    conn.executemany(_CALL_UPSERT, [tuple(r.get(c) for c in _CALL_NAMES) for r in calls.values()])
                    conn.executemany(_EVENT_INSERT, [tuple(r.get(c) for c in _EVENT_NAMES) for r in events])
                    conn.executemany(_REJECTED_INSERT, [tuple(r.get(c) for c in _REJECTED_NAMES) for r in rejected])
                break
            except sqlite3.OperationalError as exc:  # a reader holding a lock: wait and retry
                log.warning("event log write failed (%s), retrying", exc)
                time.sleep(0.05 * (attempt + 1))
        else:
            log.error("event log: gave up writing %d records; their messages stay unacknowledged", len(batch))
            return
        for _, after in batch:
            if after is not None:
                try:
                    after()
                except Exception:  # an ack on a dropped connection: the broker resends
                    log.debug("after-commit callback failed", exc_info=True)


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


def rejected_row(topic: str, payload: bytes, reason: str, wall: float) -> Record:
    excerpt = payload[:200].decode("utf-8", "replace")
    if len(payload) > 200:
        excerpt += f"... ({len(payload)} bytes)"
    return ("rejected", {"ts": iso(wall), "topic": topic[:200], "payload": excerpt, "reason": reason})
