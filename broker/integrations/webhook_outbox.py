"""The webhooks' persistent outbox and one sender thread per receiver.

Every event is written to SQLite (one row per receiver, with its ``webhook-id``) before the
integration's ``handle`` returns, so the host's ack-after-handle means a killed process loses
nothing: it starts again from the rows that are left.  Each receiver has its own sender thread
that delivers its rows strictly in order (so every call's events arrive in order), retries a failed
one with exponential backoff and jitter under the same ``webhook-id``, and drops it only after
``give_up_after_s``: a receiver that is down or slow delays only itself.

Deadlines are stored as wall time (they must survive a restart, which a monotonic clock does not).

Example::

    outbox = Outbox("webhooks-outbox.db")
    outbox.write(events_by_receiver, seen_updates)     # one transaction
    Sender(receiver, outbox, delivery_cfg).start()
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broker.contract.config import Webhook, WebhookDelivery
from broker.integrations.webhook_events import Seen, sign

log = logging.getLogger(__name__)

SCHEMA = """
create table if not exists outbox (
    seq integer primary key autoincrement,
    receiver text not null,
    msg_id text not null,
    type text not null,
    body blob not null,
    created real not null,
    attempts integer not null default 0,
    next_at real not null
);
create index if not exists outbox_receiver on outbox (receiver, seq);
create table if not exists seen_calls (id text primary key, status text not null, tier integer not null,
                                       updated real not null);
create table if not exists seen_feedback (one integer primary key check (one = 1), day text, count integer);
"""

KEEP_SEEN_S = 7 * 86400
"""A closed call is remembered this long, so a replayed old state tells nothing twice."""


@dataclass(frozen=True)
class Row:
    seq: int
    msg_id: str
    type: str
    body: bytes
    created: float
    attempts: int
    next_at: float


class Outbox:
    """One SQLite file, one connection behind a lock: the only writer of this file."""

    def __init__(self, path: str | Path, wall: Callable[[], float] = time.time) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.wall = wall
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("pragma journal_mode = wal")
        self.db.execute("pragma synchronous = full")  # a power cut must not lose an acknowledged event
        self.db.executescript(SCHEMA)

    # --- what the integration remembers -----------------------------------------
    def seen(self, call_id: str) -> Seen | None:
        with self.lock:
            row = self.db.execute("select status, tier from seen_calls where id = ?", (call_id,)).fetchone()
        return Seen(row[0], row[1]) if row else None

    def seen_feedback(self) -> tuple[str, int] | None:
        with self.lock:
            row = self.db.execute("select day, count from seen_feedback").fetchone()
        return (row[0], row[1]) if row else None

    def write(
        self,
        rows: list[tuple[str, str, str, bytes]],
        call: tuple[str, Seen] | None = None,
        feedback: tuple[str, int] | None = None,
    ) -> None:
        """In one transaction: ``rows`` of (receiver, msg_id, type, body) and what was seen."""
        now = self.wall()
        with self.lock:
            self.db.execute("begin immediate")
            try:
                self.db.executemany(
                    "insert into outbox (receiver, msg_id, type, body, created, next_at) values (?, ?, ?, ?, ?, ?)",
                    [(r, m, t, b, now, now) for r, m, t, b in rows],
                )
                if call is not None:
                    call_id, seen = call
                    self.db.execute(
                        "insert or replace into seen_calls (id, status, tier, updated) values (?, ?, ?, ?)",
                        (call_id, seen.status, seen.tier, now),
                    )
                    self.db.execute("delete from seen_calls where updated < ?", (now - KEEP_SEEN_S,))
                if feedback is not None:
                    self.db.execute("insert or replace into seen_feedback (one, day, count) values (1, ?, ?)", feedback)
                self.db.execute("commit")
            except BaseException:
                self.db.execute("rollback")
                raise

    # --- what the senders use ----------------------------------------------------
    def head(self, receiver: str) -> Row | None:
        """The receiver's oldest undelivered event."""
        with self.lock:
            r = self.db.execute(
                "select seq, msg_id, type, body, created, attempts, next_at from outbox where receiver = ? "
                "order by seq limit 1",
                (receiver,),
            ).fetchone()
        return Row(*r) if r else None

    def done(self, seq: int) -> None:
        with self.lock:
            self.db.execute("delete from outbox where seq = ?", (seq,))

    def retry_at(self, seq: int, attempts: int, next_at: float) -> None:
        with self.lock:
            self.db.execute("update outbox set attempts = ?, next_at = ? where seq = ?", (attempts, next_at, seq))

    def waiting(self, receiver: str | None = None) -> int:
        with self.lock:
            if receiver is None:
                return self.db.execute("select count(*) from outbox").fetchone()[0]
            return self.db.execute("select count(*) from outbox where receiver = ?", (receiver,)).fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.db.close()


def backoff(attempts: int, first_s: float, max_s: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``attempts`` (1, 2, ...): doubling from ``first_s`` up to ``max_s``,
    then a random 50-100 % of it, so receivers coming back are not hit by every store at once.

    >>> [backoff(n, 5, 900, rng=lambda: 1.0) for n in (1, 2, 3, 9, 10)]
    [5.0, 10.0, 20.0, 900.0, 900.0]
    >>> backoff(2, 5, 900, rng=lambda: 0.0)
    5.0
    """
    delay = min(max_s, first_s * 2.0 ** min(attempts - 1, 60))
    return delay * (0.5 + rng() / 2)


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    """POST ``body``; the HTTP status, or 0 when the receiver could not be reached."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError) as exc:
        log.debug("webhook %s unreachable: %s", url, exc)
        return 0


class Sender:
    """Delivers one receiver's events in order, on its own thread."""

    def __init__(
        self,
        hook: Webhook,
        outbox: Outbox,
        delivery: WebhookDelivery,
        wall: Callable[[], float] = time.time,
        send: Callable[[str, bytes, dict[str, str], float], int] = post,
    ) -> None:
        self.hook, self.outbox, self.delivery = hook, outbox, delivery
        self.wall, self.send = wall, send
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"webhook-{hook.id}", daemon=True)

    def start(self) -> Sender:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=self.delivery.timeout_s + 5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                pause = self.step()
            except Exception:
                log.exception("webhook %s: delivery failed; trying again", self.hook.id)
                pause = self.delivery.retry_first_s
            if pause is None:
                self.wake.wait()
            elif pause > 0:
                self.wake.wait(pause)
            self.wake.clear()

    def step(self) -> float | None:
        """Try the head event once if it is due; seconds until the next try (None: nothing waits)."""
        row = self.outbox.head(self.hook.id)
        if row is None:
            return None
        now = self.wall()
        if row.next_at > now:
            return row.next_at - now
        status = self.send(self.hook.url, row.body, self.headers(row), self.delivery.timeout_s)
        if 200 <= status < 300:
            self.outbox.done(row.seq)
            return 0
        now = self.wall()
        if now - row.created >= self.delivery.give_up_after_s:
            log.error(
                "webhook %s: dropped %s %s after %d attempts over %.0f h (last answer %s); check the receiver",
                self.hook.id,
                row.type,
                row.msg_id,
                row.attempts + 1,
                (now - row.created) / 3600,
                status or "none",
            )
            self.outbox.done(row.seq)
            return 0
        delay = backoff(row.attempts + 1, self.delivery.retry_first_s, self.delivery.retry_max_s)
        log.warning(
            "webhook %s: %s answered %s; retry %d in %.0f s",
            self.hook.id,
            row.type,
            status or "nothing",
            row.attempts + 1,
            delay,
        )
        self.outbox.retry_at(row.seq, row.attempts + 1, now + delay)
        return delay

    def headers(self, row: Row) -> dict[str, str]:
        """Signed anew on every attempt (receivers refuse old timestamps); the id stays the same."""
        headers = {"content-type": "application/json", "user-agent": "staffcall-webhooks"}
        if self.hook.format == "standard":
            ts = int(self.wall())
            headers["webhook-id"] = row.msg_id
            headers["webhook-timestamp"] = str(ts)
            headers["webhook-signature"] = sign(self.hook.secret, row.msg_id, ts, row.body)
        return headers
