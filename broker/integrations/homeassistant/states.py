"""Each call point's state for Home Assistant, from the hub's ``state/{id}`` messages: pure, clock injected.

The protocol tells about calls, Home Assistant wants one state per call point: is a call open there,
how long has its customer waited.  ``waited_s`` is the hub's count at ``updated_at``, so the wait is
counted on from when the state was seen (our monotonic clock); it is republished at most every
``every_s`` while it only grows, and at once when a call opens, is greeted or closes.

Example::

    >>> s = CallPointStates("s1", ["k1"], every_s=5)
    >>> [t for t, _ in s.due(now=0.0)]              # the first time: everything
    ['staffcall/s1/ha/device/k1', 'staffcall/s1/ha/store']
    >>> s.on_state("c1", b'{"id": "c1", "device": "k1", "zone": "z", "status": "waiting", "tier": 1,'
    ...            b' "opened_at": "x", "updated_at": "x", "waited_s": 3}', now=10.0)
    True
    >>> s.due(now=10.0)[0]
    ('staffcall/s1/ha/device/k1', b'{"open":true,"waiting_s":3,"status":"waiting","calls":1}')
    >>> s.due(now=12.0), len(s.due(now=15.0))     # the wait only grew: at most every 5 s
    ([], 2)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from broker.contract import protocol as p
from broker.integrations.homeassistant.entities import device_state_topic, store_state_topic

log = logging.getLogger(__name__)

WAITING = frozenset({"waiting", "acknowledged"})
"""A greeted customer no longer waits; the call stays open until it is resolved."""


@dataclass
class _OpenCall:
    device: str
    status: str
    waited_s: float
    seen_at: float

    def waiting_s(self, now: float) -> int:
        if self.status not in WAITING:
            return 0
        return int(self.waited_s + max(0.0, now - self.seen_at))


@dataclass
class _Sent:
    key: tuple
    wait: int
    at: float


def age_s(updated_at: str, wall_now: datetime) -> float:
    """Seconds since a state's ``updated_at`` (for a retained state seen after a restart); 0 if unreadable.

    >>> from datetime import UTC
    >>> age_s("2026-11-25T09:30:00.000Z", datetime(2026, 11, 25, 9, 30, 12, tzinfo=UTC))
    12.0
    >>> age_s("yesterday", datetime.now(UTC))
    0.0
    """
    try:
        then = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
        if then.tzinfo is None:
            return 0.0
        return max(0.0, min((wall_now - then).total_seconds(), 86_400.0))
    except ValueError:
        return 0.0


class CallPointStates:
    """The open calls of the configured call points, and what to publish about them when."""

    def __init__(self, store: str, devices: Iterable[str], every_s: float) -> None:
        self.store = store
        self.devices = list(devices)
        self.every_s = every_s
        self.calls: dict[str, _OpenCall] = {}
        self.sent: dict[str, _Sent] = {}

    def on_state(self, call_id: str, payload: bytes, now: float, age: float = 0.0) -> bool:
        """Take one ``state/{call_id}`` message (empty = the call is gone); False if it was not usable.

        ``age``: how old the state already was when seen (a retained one, after a restart)."""
        if not payload:
            self.calls.pop(call_id, None)
            return True
        try:
            msg = p.decode(p.StateMsg, payload)
        except p.ProtocolError as exc:
            log.warning("ignored state/%s: %s", call_id[:64], exc)
            return False
        if msg.device not in self.devices:
            self.calls.pop(call_id, None)
            return False
        if msg.status in p.OPEN_STATUSES:
            self.calls[call_id] = _OpenCall(msg.device, msg.status, max(0, msg.waited_s) + age, now)
        else:
            self.calls.pop(call_id, None)
        return True

    def _device(self, device: str, now: float) -> tuple[tuple, int, bytes]:
        calls = [c for c in self.calls.values() if c.device == device]
        wait = max((c.waiting_s(now) for c in calls), default=0)
        # The most advanced status of the device's calls says what a person sees: waiting beats greeted.
        statuses = {c.status for c in calls}
        status = next((s for s in ("waiting", "acknowledged", "greeted") if s in statuses), None)
        key = (bool(calls), status, len(calls))
        body = p.encode({"open": bool(calls), "waiting_s": wait, "status": status, "calls": len(calls)})
        return key, wait, body

    def _store(self, now: float) -> tuple[tuple, int, bytes]:
        waits = [c.waiting_s(now) for c in self.calls.values() if c.status in WAITING]
        longest = max(waits, default=0)
        return (len(waits),), longest, p.encode({"longest_wait_s": longest, "waiting": len(waits)})

    def due(self, now: float) -> list[tuple[str, bytes]]:
        """(topic, retained payload) to publish now: changed states at once, a growing wait every ``every_s``."""
        out: list[tuple[str, bytes]] = []
        targets = [(device_state_topic(self.store, d), self._device(d, now)) for d in self.devices]
        targets.append((store_state_topic(self.store), self._store(now)))
        for topic, (key, wait, body) in targets:
            last = self.sent.get(topic)
            if last is None or last.key != key or (wait != last.wait and now - last.at >= self.every_s):
                self.sent[topic] = _Sent(key, wait, now)
                out.append((topic, body))
        return out
