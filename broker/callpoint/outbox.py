"""The outbox library of every device: the resend policy and the SQLite files that survive a restart.

Why a file and not memory: Mosquitto can lose queued QoS 1 messages when it is killed, and
a kiosk (or a staff pager) that restarts must still resend what the hub has not confirmed.
What confirms what is each device's own rule: a call point's actions are confirmed by the
hub's state (``CallPoint`` in ``broker/callpoint/callpoint.py``), a pager's acks, greets and
resolves by the state too, its declines by the broker (``StaffOutbox`` in
``broker/callpoint/pager.py`` over ``broker/callpoint/pending.py``).  The policy both follow is in
``pending.py`` (``RESEND_AFTER_S``, ``GIVE_UP_AFTER_S``), the files and their locking are here:

- ``Outbox``: the call points' outbox (kiosks, button stations, QR pages); one file may hold
  many devices' rows.
- ``ActionStore``: the journal of a ``PendingActions`` queue (the staff pager's), one file per
  colleague and folder, with one writer at a time.

Example (a call kept until the hub's state confirms it):

>>> box = Outbox(":memory:", device="kiosk-1")
>>> box.add("kiosk-1-a1", "call", "staffcall/demo/call/kiosk-1", b'{"id": "kiosk-1-a1"}')
1
>>> box.pending_count(), box.open_call()
(1, ('kiosk-1-a1', None))
>>> box.confirm("kiosk-1-a1", ("call",))
>>> box.pending_count()
0

On disk, ``Outbox("kiosk-1.outbox.db")``; a pager's journal is ``ActionStore("pager-state", "anna")``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from broker.callpoint.pending import GIVE_UP_AFTER_S, RESEND_AFTER_S, Pending
from broker.contract import protocol as p
from broker.contract.clock import iso

__all__ = ["GIVE_UP_AFTER_S", "RESEND_AFTER_S", "ActionStore", "Outbox", "OutboxLocked", "connect"]

try:
    import fcntl
except ImportError:  # not on POSIX (the staff app on Windows for a demo): no lock, one pager per folder by habit
    fcntl = None  # type: ignore[assignment]


def connect(path: str | Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """An outbox file opened the one way: autocommit, any thread (callers lock), WAL on disk.

    ``synchronous``: NORMAL (no fsync per write: 27 ms on a test machine, more on an SD card;
    WAL stays consistent and survives a process crash, a power cut may lose the last few
    writes) or FULL (the pager's taps are few, each worth its fsync).
    """
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


class Outbox:
    """The SQLite outbox; every method takes the lock, so any thread may call it.

    One file may hold the outboxes of many devices (``share``): each device's view sees only
    its own rows, and all views use the file's one connection and lock.  A process that
    speaks for hundreds of call points (the QR pages' web server) then holds three file
    descriptors for them, not three per device.
    """

    def __init__(self, path: str, device: str = "", share: Outbox | None = None) -> None:
        self.device = device
        self._owner = share is None
        if share is not None:
            self._lock, self.conn = share._lock, share.conn
            return
        self._lock = threading.Lock()
        self.conn = connect(path)
        self.conn.execute(
            "create table if not exists outbox (seq integer primary key, call_id text not null, action text not null,"
            " topic text not null, payload blob not null, created_at text not null, sent integer not null default 0,"
            " confirmed integer not null default 0)"
        )
        self.conn.execute(
            "create table if not exists calls (call_id text primary key, created_at text not null,"
            " status text not null default 'waiting', state blob)"
        )
        for table in ("outbox", "calls"):  # files written before devices could share one get the column
            columns = {row[1] for row in self.conn.execute(f"pragma table_info({table})")}
            if "device" not in columns:
                self.conn.execute(f"alter table {table} add column device text not null default ''")
        self.conn.execute("create index if not exists outbox_device on outbox (device, confirmed)")
        self.conn.execute("create index if not exists calls_device on calls (device, status)")
        # A repeat press (outbox action "press", call_id its own press id): the call it presses on
        # and the call's repeat_presses once the hub has counted it.
        self.conn.execute(
            "create table if not exists presses (seq integer primary key, call_id text not null,"
            " expect integer not null)"
        )

    def add(self, call_id: str, action: str, topic: str, payload: bytes) -> int:
        with self._lock:
            now = iso(time.time())
            if action == "call":
                self.conn.execute(
                    "insert or ignore into calls (call_id, created_at, device) values (?, ?, ?)",
                    (call_id, now, self.device),
                )
            cur = self.conn.execute(
                "insert into outbox (call_id, action, topic, payload, created_at, device) values (?, ?, ?, ?, ?, ?)",
                (call_id, action, topic, payload, now, self.device),
            )
            return cur.lastrowid

    def add_press(self, call_id: str, press_id: str, topic: str, payload: bytes) -> int:
        """Keep a repeat press on ``call_id``; it expects the hub's count one above all before it."""
        with self._lock:
            row = self.conn.execute("select state from calls where call_id = ?", (call_id,)).fetchone()
            known = p.decode(p.StateMsg, row[0]).repeat_presses if row and row[0] else 0
            ahead = self.conn.execute(
                "select max(expect) from presses join outbox using (seq) where presses.call_id = ? and confirmed = 0",
                (call_id,),
            ).fetchone()[0]
            self.conn.execute("begin")
            try:
                cur = self.conn.execute(
                    "insert into outbox (call_id, action, topic, payload, created_at, device)"
                    " values (?, 'press', ?, ?, ?, ?)",
                    (press_id, topic, payload, iso(time.time()), self.device),
                )
                self.conn.execute(
                    "insert into presses (seq, call_id, expect) values (?, ?, ?)",
                    (cur.lastrowid, call_id, max(known, ahead or 0) + 1),
                )
            except BaseException:
                self.conn.execute("rollback")
                raise
            self.conn.execute("commit")
            return cur.lastrowid

    def pending_presses(self, call_id: str | None = None) -> list[tuple[int, str, int]]:
        """Unconfirmed repeat presses as (seq, call_id pressed on, expected count), oldest first."""
        with self._lock:
            return self.conn.execute(
                "select seq, presses.call_id, expect from presses join outbox using (seq)"
                " where device = ? and confirmed = 0 and (? is null or presses.call_id = ?) order by seq",
                (self.device, call_id, call_id),
            ).fetchall()

    def unconfirmed(self) -> list[tuple[int, str, str, str, bytes]]:
        with self._lock:
            return self.conn.execute(
                "select seq, call_id, action, topic, payload from outbox where device = ? and confirmed = 0"
                " order by seq",
                (self.device,),
            ).fetchall()

    def pending_actions(self, call_id: str) -> set[str]:
        with self._lock:
            rows = self.conn.execute("select action from outbox where call_id = ? and confirmed = 0", (call_id,))
            return {row[0] for row in rows}

    def mark_sent(self, seq: int) -> None:
        with self._lock:
            self.conn.execute("update outbox set sent = sent + 1 where seq = ?", (seq,))

    def confirm(self, call_id: str, actions: tuple[str, ...]) -> None:
        marks = ",".join("?" * len(actions))
        with self._lock:
            self.conn.execute(
                f"update outbox set confirmed = 1 where call_id = ? and action in ({marks})", (call_id, *actions)
            )

    def confirm_seq(self, seq: int) -> None:
        with self._lock:
            self.conn.execute("update outbox set confirmed = 1 where seq = ?", (seq,))

    def set_state(self, call_id: str, status: str, state: bytes | None) -> None:
        """Record a call's state; a call we did not open (a press the hub made a call of) is added."""
        with self._lock:
            self.conn.execute(
                "insert into calls (call_id, created_at, status, state, device) values (?, ?, ?, ?, ?)"
                " on conflict (call_id) do update set status = excluded.status, state = excluded.state",
                (call_id, iso(time.time()), status, state, self.device),
            )

    def open_call(self) -> tuple[str, p.StateMsg | None] | None:
        """The newest call that is not known to be closed, with its last state."""
        with self._lock:
            row = self.conn.execute(
                "select call_id, state from calls where device = ?"
                " and status not in ('resolved', 'cancelled', 'unattended')"
                " order by created_at desc, rowid desc limit 1",
                (self.device,),
            ).fetchone()
        if row is None:
            return None
        state = p.decode(p.StateMsg, row[1]) if row[1] else None
        return row[0], state

    def pending_count(self) -> int:
        with self._lock:
            return self.conn.execute(
                "select count(*) from outbox where device = ? and confirmed = 0", (self.device,)
            ).fetchone()[0]

    def close(self) -> None:
        """Close the file; a shared device's view leaves it open for the others."""
        if self._owner:
            with self._lock:
                self.conn.close()


class OutboxLocked(RuntimeError):
    """Another process already uses this outbox file (a second pager for the same colleague)."""


class ActionStore:
    """The journal of a ``PendingActions`` queue on disk; methods may be called from any thread.

    "On my way" tapped in a Wi-Fi dead spot, then the app closed (a phone kills apps it does
    not show, a Pi loses power): the next start for the same colleague finds the action here
    and sends it once the broker is back.  The queue tells the store of every entry added and
    removed (``OutboxJournal``); nothing else writes the file.

    One writer per file: an exclusive lock (``flock``) on ``pager-{staff}.lock`` beside it, so a
    second pager for the same colleague in the same folder stops with a clear error instead of
    sending the first one's actions twice.

    Entry ages are kept in wall-clock seconds (the monotonic clock restarts with the device) and
    only compared with this device's own clock, to drop entries older than ``GIVE_UP_AFTER_S``.
    """

    def __init__(self, folder: str | Path, staff: str, wall: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"pager-{staff}.db"
        self.wall = wall
        self._lock = threading.Lock()
        self._lockfile = open(self.folder / f"pager-{staff}.lock", "w")  # noqa: SIM115 (held for our lifetime)
        if fcntl is not None:
            try:
                fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lockfile.close()
                raise OutboxLocked(
                    f"another pager for {staff!r} is running with the state folder {self.folder}; "
                    "close it first (or give this one its own --state-dir)"
                ) from None
        self.conn = connect(self.path, synchronous="FULL")
        self.conn.execute(
            "create table if not exists actions (seq integer primary key, action text not null,"
            " call_id text not null, body text not null, created_wall real not null)"
        )

    def load(self, now: float) -> list[Pending]:
        """The entries of earlier runs, their ``created`` moved onto this run's monotonic clock ``now``."""
        wall = self.wall()
        with self._lock:
            rows = self.conn.execute("select seq, action, call_id, body, created_wall from actions order by seq")
            rows = rows.fetchall()
        return [
            Pending(seq, action, call_id, json.loads(body), now - max(0.0, wall - created))
            for seq, action, call_id, body, created in rows
        ]

    def added(self, item: Pending) -> None:
        with self._lock:
            self.conn.execute(
                "insert or replace into actions (seq, action, call_id, body, created_wall) values (?, ?, ?, ?, ?)",
                (item.seq, item.action, item.call_id, json.dumps(item.body), self.wall()),
            )

    def removed(self, seq: int) -> None:
        with self._lock:
            self.conn.execute("delete from actions where seq = ?", (seq,))

    def close(self) -> None:
        with self._lock:
            self.conn.close()
        self._lockfile.close()  # releases the flock
