"""One customer's call: its state, and its row in the ``calls`` table.

Times named ``*_mono`` are the hub's monotonic clock (the source of every duration);
``opened_wall`` labels the call in wall time.  A row carries both wall times and the
measured durations, so the hub can rebuild an open call after a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from broker.contract.clock import iso
from broker.contract.protocol import CLOSED_STATUSES


@dataclass(frozen=True)
class Bridge:
    """What the previous hub process left about its clock: was it this boot, and when was it last alive."""

    same_boot: bool
    alive_mono: float | None = None
    alive_wall: float | None = None


def _restored_mono(row: dict[str, Any], now_mono: float, now_wall: float, bridge: Bridge | None) -> float:
    stored = row.get("opened_mono")
    if bridge is not None and stored is not None:
        if bridge.same_boot:
            return float(stored)
        if bridge.alive_mono is not None and bridge.alive_wall is not None:
            waited = max(0.0, bridge.alive_mono - float(stored))
            downtime = max(0.0, now_wall - bridge.alive_wall)
            return now_mono - waited - downtime
    return now_mono - max(0.0, now_wall - row["opened_ts"])


@dataclass
class Call:
    id: str
    device: str
    zone: str
    reason: str | None
    opened_mono: float
    opened_wall: float
    lang: str | None = None
    text: str | None = None
    label: str | None = None
    pressed_at: str | None = None
    status: str = "waiting"
    tier: int = 1
    max_tier: int = 1
    staff: str | None = None
    """Waiting: the colleague being paged (None at tier 3).  Later: who is on the way."""
    targets: list[str] = field(default_factory=list)
    """Everyone the current page went to."""
    paged: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)
    paged_mono: float = 0.0
    acked_mono: float | None = None
    greeted_mono: float | None = None
    closed_mono: float | None = None
    repages: int = 0
    repeat_presses: int = 0
    greeted_at_device: bool | None = None
    greeted_by: str | None = None
    feedback_score: int | None = None
    outcome: str | None = None
    nobody_on_shift: bool = False
    presses: set[str] = field(default_factory=set)
    """Ids of the repeat presses counted, so a resent press is not counted twice (kept in ``presses``,
    one row a press, so a flood of presses costs the same per press)."""
    repeat_paged_mono: float | None = None
    """When the last "again" page went out: repeat presses remind at most every REPEAT_PAGE_EVERY_S."""
    state_sent_mono: float | None = None
    state_due: bool = False
    """A repeat press changed the count but its state was held back by the rate limit."""
    eta_first_s: float | None = None
    """When the customer was first promised a greeting: seconds from the opening (shown then + its ``eta_s``).
    Like ``eta_ack_s`` (the promise at the acknowledgement) and ``eta_last_s`` (the last one shown), it
    compares directly with ``time_to_greet_s``: greeted within the time shown means greet <= promise."""
    eta_ack_s: float | None = None
    eta_last_s: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def wall_at(self, mono: float | None) -> str | None:
        return None if mono is None else iso(self.opened_wall + (mono - self.opened_mono))

    def seconds(self, mono: float | None) -> float | None:
        return None if mono is None else round(mono - self.opened_mono, 3)

    def to_row(self, store: str) -> dict[str, Any]:
        ack_s = self.seconds(self.acked_mono)
        return {
            "id": self.id,
            "store": store,
            "device": self.device,
            "zone": self.zone,
            "reason": self.reason,
            "status": self.status,
            "staff": self.staff,
            "tier": self.max_tier,
            "opened_at": iso(self.opened_wall),
            "acknowledged_at": self.wall_at(self.acked_mono),
            "greeted_at": self.wall_at(self.greeted_mono),
            "closed_at": self.wall_at(self.closed_mono),
            "time_to_ack_s": ack_s,
            "time_to_greet_s": self.seconds(self.greeted_mono),
            "time_to_close_s": self.seconds(self.closed_mono),
            "repeat_presses": self.repeat_presses,
            "greeted_at_device": self.greeted_at_device,
            "greeted_by": self.greeted_by,
            "feedback_score": self.feedback_score,
            "outcome": self.outcome,
            "declines": len(self.declined),
            "escalated": self.max_tier >= 3,
            "lang": self.lang,
            "text": self.text,
            "pressed_at": self.pressed_at,
            "opened_ts": self.opened_wall,
            "current_tier": self.tier,
            "targets": json.dumps(self.targets),
            "paged": json.dumps(self.paged),
            "declined": json.dumps(self.declined),
            "repages": self.repages,
            "nobody_on_shift": self.nobody_on_shift,
            "page_age_s": round(self.paged_mono - self.opened_mono, 3),
            "presses": None,
            "opened_mono": self.opened_mono,
            "eta_first_s": self.eta_first_s,
            "eta_ack_s": self.eta_ack_s,
            "eta_last_s": self.eta_last_s,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], now_mono: float, now_wall: float, bridge: Bridge | None = None) -> Call:
        """Rebuild a call after a restart.

        On the same boot the monotonic clock goes on, so the stored ``opened_mono`` is exact whatever
        the wall clock did meanwhile (a Pi without a real-time clock steps it by NTP after boot).
        Across a reboot ``bridge`` (the hub's last heartbeat) gives how long the call had waited;
        only the downtime itself is read from the wall clock, and never counted negative."""
        opened_mono = _restored_mono(row, now_mono, now_wall, bridge)

        def mono(seconds: float | None) -> float | None:
            return None if seconds is None else opened_mono + seconds

        return cls(
            id=row["id"],
            device=row["device"],
            zone=row["zone"],
            reason=row["reason"],
            opened_mono=opened_mono,
            opened_wall=row["opened_ts"],
            lang=row.get("lang"),
            text=row.get("text"),
            pressed_at=row.get("pressed_at"),
            status=row["status"],
            tier=row.get("current_tier") or row["tier"],
            max_tier=row["tier"],
            staff=row["staff"],
            targets=json.loads(row.get("targets") or "[]"),
            paged=json.loads(row.get("paged") or "[]"),
            declined=json.loads(row.get("declined") or "[]"),
            paged_mono=opened_mono + (row.get("page_age_s") or 0.0),
            acked_mono=mono(row["time_to_ack_s"]),
            greeted_mono=mono(row["time_to_greet_s"]),
            closed_mono=mono(row.get("time_to_close_s")),
            repages=row.get("repages") or 0,
            repeat_presses=row["repeat_presses"] or 0,
            greeted_at_device=None if row["greeted_at_device"] is None else bool(row["greeted_at_device"]),
            greeted_by=row.get("greeted_by"),
            feedback_score=row["feedback_score"],
            outcome=row.get("outcome"),
            nobody_on_shift=bool(row.get("nobody_on_shift")),
            presses=set(json.loads(row.get("presses") or "[]")),
            eta_first_s=row.get("eta_first_s"),
            eta_ack_s=row.get("eta_ack_s"),
            eta_last_s=row.get("eta_last_s"),
        )
