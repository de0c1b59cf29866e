"""Clocks for the hub: durations on one monotonic clock, wall time only for labels.

The core never reads a clock itself; the shell passes ``now`` in.  Tests use
``FakeClock``; the demo uses ``ScaledClock`` to run a store's morning in a minute.

Example::

    >>> c = FakeClock(wall_start=0.0)
    >>> c.advance(30); c.now()
    30.0
    >>> iso(c.wall())
    '1970-01-01T00:00:30.000Z'
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds: the only source of durations."""

    def wall(self) -> float:
        """Unix time, for ``opened_at`` labels and reports by hour and day."""

    def real_seconds(self, seconds: float) -> float:
        """How long to really wait for ``seconds`` of this clock to pass."""


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def real_seconds(self, seconds: float) -> float:
        return seconds


class ScaledClock:
    """Runs ``speed`` times faster than real time (the demo's sped-up store)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    def wall(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0, wall_start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def real_seconds(self, seconds: float) -> float:
        return seconds


def iso(unix: float) -> str:
    """ISO-8601 UTC with milliseconds, the protocol's time format."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(unix * 1000) % 1000:03d}Z"


def parse_iso(text: str) -> float:
    """The protocol's time format back to Unix time (``iso``'s inverse); ValueError if it is not one.

    >>> parse_iso(iso(1_767_225_600.25))
    1767225600.25
    """
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
