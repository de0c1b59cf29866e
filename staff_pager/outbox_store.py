"""The staff outbox on disk: one small SQLite file per colleague on a device, so a tap survives a restart.

"On my way" tapped in a Wi-Fi dead spot, then the app closed (a phone kills apps it does not
show, a Pi loses power): the next start of the pager for the same colleague finds the action
here and sends it once the broker is back.  The core's ``StaffOutbox`` tells this journal of
every entry added and removed (``OutboxJournal``); nothing else writes the file.

One writer per file: an exclusive lock (``flock``) on ``pager-{staff}.lock`` beside it, so a
second pager for the same colleague in the same state folder stops with a clear error instead
of sending the first one's actions twice.  sqlite3 from the standard library is enough for one
table of a few rows.

Entry ages are kept in wall-clock seconds (the monotonic clock restarts with the device) and
only compared with this device's own clock, to drop entries older than ``GIVE_UP_AFTER_S``.

Example::

    store = OutboxStore("pager-state", "anna")
    outbox = StaffOutbox("anna", journal=store)
    outbox.restore(store.load(now=time.monotonic()))
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from staff_pager.core import Pending

try:
    import fcntl
except ImportError:  # not on POSIX (the app on Windows for a demo): no lock, one pager per folder by habit
    fcntl = None  # type: ignore[assignment]


class OutboxLocked(RuntimeError):
    """Another pager process already uses this colleague's outbox in this folder."""


class OutboxStore:
    """``OutboxJournal`` over SQLite; methods may be called from any thread."""

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
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
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
