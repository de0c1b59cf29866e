"""What the webhooks tell: events derived from the hub's ``state/{id}`` and ``summary``, and their bodies.

Pure functions, no I/O: the integration (``webhooks.py``) feeds them what the broker delivered and
what it remembered, and stores what they return.  The protocol carries no event names, only each
call's latest state, so an event is a *change* between two states of one call:

    >>> seen = Seen(status="waiting", tier=1)
    >>> call_events(None, state("waiting", 1))
    ['call.opened']
    >>> call_events(seen, state("waiting", 3)), call_events(seen, state("greeted", 1))
    (['call.escalated'], ['call.greeted'])
    >>> call_events(seen, state("waiting", 1))   # a redelivery or a repeat press: nothing new
    []

Signatures follow the Standard Webhooks spec (https://www.standardwebhooks.com/):

    >>> sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
    ...      b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import msgspec

from broker.contract.i18n import Catalog
from broker.contract.protocol import StateMsg

OPEN = ("waiting", "acknowledged", "greeted")
CLOSING = {"resolved": "call.resolved", "cancelled": "call.cancelled", "unattended": "call.unattended"}


@dataclass(frozen=True)
class Seen:
    """What the webhooks last saw of one call (kept in the outbox's database across restarts)."""

    status: str
    tier: int


@dataclass(frozen=True)
class Event:
    """One thing to tell the receivers: ``type`` (e.g. ``call.opened``), ``key`` orders it (a call id)."""

    type: str
    key: str
    data: dict[str, Any]


def state(status: str, tier: int, call_id: str = "c1") -> StateMsg:
    """A minimal state, for examples and tests."""
    at = "2026-11-25T09:30:00.000Z"
    return StateMsg(id=call_id, device="kiosk-1", zone="z", status=status, tier=tier, opened_at=at, updated_at=at)


def call_events(before: Seen | None, st: StateMsg) -> list[str]:
    """The event types the change from ``before`` (None: never seen) to ``st`` means, in order.

    A call first seen closed (the integrations were down while it was open) gets only its closing
    event; ``acknowledged`` is told each time someone takes the call (also after a decline).
    """
    out: list[str] = []
    if st.status in OPEN:
        if before is None:
            out.append("call.opened")
        elif before.status not in OPEN:
            return []  # a late or replayed open state of a call already closed
        elif st.tier > before.tier:
            out.append("call.escalated")
        if st.status == "acknowledged" and (before is None or before.status != "acknowledged"):
            out.append("call.acknowledged")
        if st.status == "greeted" and (before is None or before.status != "greeted"):
            out.append("call.greeted")
        return out
    closing = CLOSING.get(st.status)
    if closing is not None and (before is None or before.status != st.status):
        out.append(closing)
    return out


class SummaryMsg(msgspec.Struct, forbid_unknown_fields=False):
    """The part of ``summary`` the feedback event needs."""

    day: str
    feedback_count: int = 0
    feedback_avg: float | None = None


def feedback_event(before: tuple[str, int] | None, summary: SummaryMsg) -> Event | None:
    """A ``store.feedback`` event when the day's feedback count grew since ``before`` ((day, count)).

    The protocol tells no call's feedback (docs/integrations.md proposes an addition), only the
    day's count and average, so the event says how many new answers came and the new average.

    >>> feedback_event(("2026-11-25", 2), SummaryMsg("2026-11-25", 3, 3.5)).data
    {'day': '2026-11-25', 'new': 1, 'feedback_count': 3, 'feedback_avg': 3.5}
    >>> feedback_event(None, SummaryMsg("2026-11-25", 3, 3.5)) is None   # first sight: a baseline
    True
    """
    if before is None:
        return None
    day, count = before
    new = summary.feedback_count - (count if day == summary.day else 0)
    if new <= 0:
        return None
    data = {"day": summary.day, "new": new, "feedback_count": summary.feedback_count}
    data["feedback_avg"] = summary.feedback_avg
    return Event("store.feedback", f"feedback:{summary.day}", data)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard_body(event: Event, timestamp: str) -> bytes:
    """The Standard Webhooks JSON: ``{"type", "timestamp", "data"}``."""
    return json.dumps({"type": event.type, "timestamp": timestamp, "data": event.data}, ensure_ascii=False).encode()


def card_text(event: Event, catalog: Catalog, place: str) -> str:
    """The one line a chat channel shows, from the catalogs (``webhook.<type>``)."""
    d = event.data
    values = {
        "place": place,
        "reason": _reason(catalog, d.get("reason") or ""),
        "staff": d.get("staff_name") or d.get("staff") or "",
        "tier": d.get("tier", ""),
        "waited": _minutes(d.get("waited_s") or 0),
        "new": d.get("new", ""),
        "avg": d.get("feedback_avg") if d.get("feedback_avg") is not None else "-",
    }
    return catalog.t(f"webhook.{event.type}", **values)


def card_body(fmt: str, text: str) -> bytes:
    """A Slack incoming-webhook message or a Teams connector card holding ``text``."""
    if fmt == "slack":
        return json.dumps({"text": text}, ensure_ascii=False).encode()
    card = {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": text, "text": text}
    return json.dumps(card, ensure_ascii=False).encode()


def _reason(catalog: Catalog, reason: str) -> str:
    """The catalog's words for a reason key; a store's own key shows as it is."""
    text = catalog.t(f"reason.{reason}") if reason else ""
    return reason if text == f"reason.{reason}" else text


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"
