"""What the store's speakers should say, decided from the hub's ``state/{id}`` messages alone.

Pure: no sound, no MQTT, the clocks injected, so the rules are tested in microseconds.  The rules:

- a call still **waiting at tier 3** (everyone has been paged, nobody said "on my way") is announced,
  and so is an acknowledged call the hub escalates to tier 3 (the colleague never came);
- a call **closed unattended** is announced once;
- at most one announcement per call point per ``repeat_s`` (an unattended close is the last word
  about its call and is always said), nothing during quiet hours, nothing from a retained message
  (that is the past, replayed when the integrations start) nor from a state older than
  ``stale_after_s``;
- an announcement still in the queue is dropped when the call no longer needs it (greeted, or
  someone acknowledged) or it has become old news.

Example::

    >>> from broker.contract.config import parse_config
    >>> cfg = parse_config('[store]\\nid = "s1"\\nname = "S"\\n[[devices]]\\nid = "k1"\\nkind = "kiosk"\\n'
    ...     'zone = "paint"\\nlabel = "aisle 7"\\n[[zones]]\\nid = "paint"\\nnames = {sv = "Färg"}\\n')
    >>> from datetime import datetime, timezone
    >>> from broker.contract.i18n import Catalog
    >>> policy = AnnouncePolicy(cfg, "sv", Catalog(LOCALES, "sv").t, clock=lambda: 100.0,
    ...     wall=lambda: datetime(2026, 11, 25, 9, 31, tzinfo=timezone.utc))
    >>> state = (b'{"id": "c1", "device": "k1", "zone": "paint", "status": "waiting", "tier": 3,'
    ...     b' "opened_at": "2026-11-25T09:30:00.000Z", "updated_at": "2026-11-25T09:30:30.000Z"}')
    >>> policy.on_state("c1", state, retained=False).text
    'Kund väntar vid Färg, aisle 7.'
    >>> policy.on_state("c1", state, retained=False) is None   # within repeat_s of the last one
    True
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from broker.contract import protocol as p
from broker.contract.config import Config

log = logging.getLogger(__name__)

LOCALES = Path(__file__).parent / "locales"
"""The announcements' sv/en catalogs (``announce.*`` keys)."""
WAITING = "waiting"
UNATTENDED = "unattended"
MEMORY = 10_000
"""Calls (and call points) remembered; the oldest are forgotten first, so hostile ids cannot fill memory."""

Texts = Callable[..., str]


@dataclass(frozen=True)
class Announcement:
    """One thing to say: ``text`` in ``lang``, about one call at one call point."""

    kind: str
    call_id: str
    device: str
    lang: str
    text: str
    made_at: float
    """On the integration's monotonic clock: an announcement that waits too long is dropped."""


class QuietHours:
    """Local times between which nothing is said; the span may cross midnight (21:00-07:00).

    >>> q = QuietHours("21:00", "07:00", "Europe/Stockholm")
    >>> [q.quiet(datetime(2026, 1, 5, h, 0, tzinfo=UTC)) for h in (5, 6, 19, 20)]
    [True, False, False, True]
    >>> QuietHours("", "", "Europe/Stockholm").quiet(datetime(2026, 1, 5, 3, tzinfo=UTC))
    False
    """

    def __init__(self, start: str, end: str, timezone: str) -> None:
        self.start = _hhmm(start) if start else None
        self.end = _hhmm(end) if end else None
        self.tz = ZoneInfo(timezone)

    def quiet(self, wall: datetime) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        now = wall.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


def _hhmm(text: str) -> clock_time:
    hours, minutes = text.split(":")
    return clock_time(int(hours), int(minutes))


def place(cfg: Config, device: str, zone: str, lang: str, t: Texts) -> str:
    """How a person names the call point: "Färg, gång 7" (zone name when configured, the label else the id).

    Only the config's own words are spoken; from the message, just the (validated) device and zone ids.
    """
    dev = cfg.devices_by_id.get(device)
    point = dev.label if dev is not None and dev.label else device
    zone_id = dev.zone if dev is not None else zone
    zone_name = cfg.zone_name(zone_id, lang)
    if zone_id in cfg.zones_by_id and zone_name != zone_id:
        return t("announce.place", zone=zone_name, point=point)
    return point


class AnnouncePolicy:
    """Turns ``state/{id}`` messages into announcements; thread-safe (the queue asks ``still_due``)."""

    def __init__(
        self,
        cfg: Config,
        lang: str,
        texts: Texts,
        clock: Callable[[], float],
        wall: Callable[[], datetime],
    ) -> None:
        self.cfg, self.lang, self.t = cfg, lang, texts
        self.clock, self.wall = clock, wall
        a = cfg.announce
        self.repeat_s, self.stale_after_s = a.repeat_s, a.stale_after_s
        self.quiet_hours = QuietHours(a.quiet_from, a.quiet_until, cfg.store.timezone)
        self.calls: OrderedDict[str, _Seen] = OrderedDict()
        """call id -> the newest state seen of each open call."""
        self.said_at: OrderedDict[str, float] = OrderedDict()
        """call point -> when its last announcement was decided (monotonic)."""
        self.closed_said: OrderedDict[str, None] = OrderedDict()
        self.lock = threading.Lock()

    def on_state(self, call_id: str, payload: bytes, retained: bool) -> Announcement | None:
        """The announcement this message calls for, or None; bad messages are logged and ignored."""
        if not p.valid_id(call_id):
            log.warning("announce: ignored a state with a malformed call id")
            return None
        if not payload:
            with self.lock:
                self.calls.pop(call_id, None)  # the hub cleared the retained state: the call is gone
            return None
        state = _decode(payload)
        if state is None or state.id != call_id:
            log.warning("announce: ignored a malformed state on %s", call_id)
            return None
        with self.lock:
            return self._decide(state, retained)

    def _decide(self, state: p.StateMsg, retained: bool) -> Announcement | None:
        before = self.calls.get(state.id)
        if state.status in p.CLOSED_STATUSES:
            self.calls.pop(state.id, None)
            if state.status != UNATTENDED or state.id in self.closed_said:
                return None
            _remember(self.closed_said, state.id, None)
            return self._announce(UNATTENDED, state, retained, rate_limited=False)
        if state.status == WAITING:
            need = state.tier >= 3
        elif state.status == "acknowledged" and before is not None and before.status == "acknowledged":
            # Someone is on the way: quiet.  Unless the hub escalated a call acknowledged below tier 3
            # (the colleague never came; the hub keeps their name on it), which stays in need while its
            # states repeat, until someone else acknowledges.
            escalated = before.tier < 3 or (before.need and before.staff == state.staff)
            need = state.tier >= 3 and escalated
        else:
            need = False  # acknowledged from waiting, or greeted: the customer has someone
        _remember(self.calls, state.id, _Seen(state.status, state.tier, state.staff, need))
        return self._announce(WAITING, state, retained, rate_limited=True) if need else None

    def _announce(self, kind: str, state: p.StateMsg, retained: bool, rate_limited: bool) -> Announcement | None:
        if retained:
            return None  # replayed from before the integrations started: the past, not news
        wall = self.wall()
        updated = _parse_time(state.updated_at)
        if updated is None or (wall - updated).total_seconds() > self.stale_after_s:
            log.info("announce: %s of %s is old news (updated_at %s); not said", kind, state.id, state.updated_at)
            return None
        if self.quiet_hours.quiet(wall):
            log.info("announce: quiet hours; %s of %s not said", kind, state.id)
            return None
        now = self.clock()
        last = self.said_at.get(state.device)
        if rate_limited and last is not None and now - last < self.repeat_s:
            return None
        _remember(self.said_at, state.device, now)
        where = place(self.cfg, state.device, state.zone, self.lang, self.t)
        text = self.t(f"announce.{kind}", place=where)
        return Announcement(kind, state.id, state.device, self.lang, text, now)

    def still_due(self, a: Announcement) -> bool:
        """Just before it is said: is it still news, and does the call still need it?"""
        with self.lock:
            if self.clock() - a.made_at > self.stale_after_s or self.quiet_hours.quiet(self.wall()):
                return False
            if a.kind == UNATTENDED:
                return True
            seen = self.calls.get(a.call_id)
            return seen is not None and seen.need


@dataclass(frozen=True)
class _Seen:
    status: str
    tier: int
    staff: str | None
    need: bool
    """Whether this call needs announcing now (a queued announcement of it is still said)."""


def _remember(memory: OrderedDict, key: str, value) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > MEMORY:
        memory.popitem(last=False)


def _decode(payload: bytes) -> p.StateMsg | None:
    if len(payload) > p.MAX_PAYLOAD_BYTES:
        return None
    try:
        state = msgspec.json.decode(payload, type=p.StateMsg)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if not (p.valid_id(state.device) and p.valid_id(state.zone)):
        return None
    return state


def _parse_time(text: str) -> datetime | None:
    """The hub's ISO-8601 UTC times; None for anything else."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
