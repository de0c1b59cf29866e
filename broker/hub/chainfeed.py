"""What the hub tells the chain: each closed call, from its own log, and the store's status now.

A closed call's record is published (QoS 1, ``chain/<store>/calls``) only after the event log
committed the call's row: the chain never learns of a call the store itself could lose.  The
store's Mosquitto takes it from there: its bridge to the chain's cluster queues it on disk while
the WAN is down (docs/chain.md).  A record may be sent more than once (a feedback face after the
close, a hub restart that re-sends); the chain's ingest keeps the first per (store, call id), so
re-sends are harmless.

Across a hub restart: ``marker()`` is the close time of the oldest record Mosquitto has not yet
acknowledged (or of the last one it has); the hub keeps it in its ``hub_meta`` table with its
heartbeat, and at start re-sends every call closed since (``closed_since``).  Customers' free text
is sent only with ``[chain] share_text = true``.

Example::

    >>> from broker.contract.config import parse_config
    >>> cfg = parse_config('[store]\\nid = "s1"\\nname = "S"\\n[chain]\\nregion = "north"\\n')
    >>> row = {"id": "c1", "device": "k1", "zone": "toys", "status": "resolved", "staff": "anna",
    ...        "opened_at": "2026-12-03T10:00:00.000Z", "opened_ts": 1796292000.0, "greeted_at": "x",
    ...        "time_to_greet_s": 42.0, "text": "blue paint?"}
    >>> r = call_record(row, cfg)
    >>> (r.region, r.local_date, r.local_hour, r.staff, r.text)
    ('north', '2026-12-03', 11, 'anna', '')
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from broker.contract.chain import CALLS_TOPIC, STATUS_TOPIC, CallRecord, StoreStatus, encode
from broker.contract.clock import iso
from broker.contract.protocol import CLOSED_STATUSES

log = logging.getLogger(__name__)

MARKER_KEY = "chain_published_until"
"""``hub_meta`` key: calls closed at or after this (ISO, UTC) are re-sent when the hub starts."""
MAX_TRACKED = 100_000
"""Publishes remembered until Mosquitto acknowledges them; past this the oldest are forgotten (the
marker then stays put, so a restart re-sends more than needed, never less)."""


class Sent(Protocol):
    def is_published(self) -> bool: ...


def call_record(row: dict[str, Any], cfg: Any) -> CallRecord:
    """The chain's record of one closed call row of the hub's ``calls`` table."""
    zone = ZoneInfo(cfg.store.timezone)
    local = datetime.fromtimestamp(float(row["opened_ts"]), UTC).astimezone(zone)
    greeted = bool(row.get("greeted_at"))
    staff = (row.get("greeted_by") or row.get("staff") or "") if greeted else ""
    person = cfg.staff_by_id.get(staff)
    return CallRecord(
        store=cfg.store.id,
        region=cfg.chain.region,
        call_id=row["id"],
        device=row["device"],
        zone=row.get("zone") or "",
        reason=row.get("reason") or "",
        status=row["status"],
        staff=staff,
        staff_name=person.name if person else "",
        opened_at=row["opened_at"],
        local_date=local.date().isoformat(),
        local_weekday=local.weekday(),
        local_hour=local.hour,
        time_to_ack_s=row.get("time_to_ack_s"),
        time_to_greet_s=row.get("time_to_greet_s"),
        time_to_close_s=row.get("time_to_close_s"),
        target_greet_s=cfg.store.target_greet_s,
        escalated=bool(row.get("escalated")),
        declines=int(row.get("declines") or 0),
        repeat_presses=int(row.get("repeat_presses") or 0),
        feedback_score=row.get("feedback_score"),
        outcome=row.get("outcome") or "",
        text=(row.get("text") or "") if cfg.chain.share_text else "",
    )


class ChainFeed:
    """Publishes closed calls and the store's status on the store's chain topics (see the module doc)."""

    def __init__(self, cfg: Any, publish: Callable[[str, bytes], Sent]) -> None:
        self.cfg = cfg
        self.publish = publish
        self.calls_topic = CALLS_TOPIC.format(store=cfg.store.id)
        self.status_topic = STATUS_TOPIC.format(store=cfg.store.id)
        self._sent: deque[tuple[str, Sent]] = deque()
        self._confirmed: str | None = None
        self._status_at = float("-inf")
        self.sent = 0

    @staticmethod
    def closed_rows(records: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """The closed calls among an event-log batch's records."""
        return [row for table, row in records if table == "call" and row.get("status") in CLOSED_STATUSES]

    def after_commit(self, rows: list[dict[str, Any]], then: Callable[[], None] | None) -> Callable[[], None]:
        """An event-log ``after`` callback: publish the rows' records, then run ``then`` (the MQTT ack)."""

        def run() -> None:
            try:
                self.send(rows)
            finally:
                if then is not None:
                    then()

        return run

    def send(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            try:
                info = self.publish(self.calls_topic, encode(call_record(row, self.cfg)))
            except Exception:  # the store's paging never waits on the chain; a restart re-sends
                log.exception("chain: could not publish call %s", row.get("id"))
                continue
            self.sent += 1
            self._sent.append((row.get("closed_at") or iso(float(row["opened_ts"])), info))
            if len(self._sent) > MAX_TRACKED:
                self._sent.popleft()

    def marker(self) -> str | None:
        """Re-send from here after a restart: the oldest close time Mosquitto has not acknowledged."""
        while self._sent and self._sent[0][1].is_published():
            self._confirmed = self._sent.popleft()[0]
        if self._sent:
            return self._sent[0][0]
        return self._confirmed

    def status(self, summary: dict[str, Any], open_waits: list[float], devices: dict[str, str], wall: float) -> None:
        """Publish the store's status (the chain board's row for this store)."""
        calls = int(summary.get("calls") or 0)
        greeted = summary.get("greeted_within_target")
        share = None if not calls or greeted is None else round(greeted / calls, 4)
        record = StoreStatus(
            store=self.cfg.store.id,
            region=self.cfg.chain.region,
            name=self.cfg.store.name,
            at=iso(wall),
            open_calls=len(open_waits),
            longest_wait_s=round(max(open_waits, default=0.0), 1),
            devices_online=sum(1 for s in devices.values() if s == "online"),
            devices_total=len(self.cfg.devices),
            calls_today=calls,
            promise_share_today=share,
        )
        try:
            self.publish(self.status_topic, encode(record))
        except Exception:
            log.exception("chain: could not publish the store's status")

    def status_due(self, now_mono: float) -> bool:
        if now_mono - self._status_at < self.cfg.chain.status_every_s:
            return False
        self._status_at = now_mono
        return True


def closed_since(db: Any, since: str) -> list[dict[str, Any]]:
    """Calls of the hub's log closed at or after ``since`` (ISO, UTC), oldest first (read at start)."""
    marks = ",".join("?" * len(CLOSED_STATUSES))
    sql = f"select * from calls where status in ({marks}) and closed_at >= ? order by closed_at"
    return list(db.query(sql, [*CLOSED_STATUSES, since]))
