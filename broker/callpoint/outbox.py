"""The call point's outbox: every action kept in SQLite until the hub shows it has it.

Why a file and not memory: Mosquitto can lose queued QoS 1 messages when it is killed, and
a kiosk that restarts must still resend its open call; the rules of what confirms what are
``CallPoint``'s (``broker/callpoint/callpoint.py``), the rows and their locking are here.

Example::

    box = Outbox("kiosk-1.outbox.db")
"""

from __future__ import annotations

import sqlite3
import threading
import time

from broker.contract import protocol as p
from broker.contract.clock import iso


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
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: no fsync per press (27 ms on a test machine, more on an SD card); WAL stays
            # consistent and survives a process crash, a power cut may lose the last few presses.
            self.conn.execute("PRAGMA synchronous=NORMAL")
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
