"""Today's figures: the store's ``summary`` and each colleague's ``shift``, from the calls of the local day.

Kept apart from the dispatcher so the dispatcher reads as the call state machine only.  The
dispatcher feeds it (``opened``, ``greeted``, ``closed``, ``feedback``); the shell asks for the
figures at most once a second, so their O(calls today) cost never sits on the call->page path.

A day is the store's local date (``[store] timezone``).  At midnight a new day starts from the
calls still open: a call opened yesterday and still waiting counts today too.

Example::

    >>> from zoneinfo import ZoneInfo
    >>> from broker.core.calls import Call
    >>> open_calls = {}
    >>> today = Today(ZoneInfo("UTC"), target_greet_s=60, open_calls=open_calls)
    >>> call = Call(id="c1", device="k1", zone="toys", reason=None, opened_mono=0.0, opened_wall=0.0)
    >>> today.opened(call, wall=0.0)
    >>> call.greeted_mono, call.greeted_by, call.status = 42.0, "anna", "greeted"
    >>> today.greeted(wall=42.0)
    >>> s = today.summary(wall=42.0)
    >>> s["day"], s["calls"], s["greeted_within_target"], s["median_greet_s"]
    ('1970-01-01', 1, 1, 42.0)
    >>> today.shift("anna", wall=42.0)["greeted"]
    1
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from broker.contract.clock import iso
from broker.core.calls import Call


class Today:
    """The calls of the store's local day, and the figures drawn from them.

    ``open_calls`` is the dispatcher's own mapping of open calls (read, never written): when the
    day rolls over, the new day starts from whatever is open at that moment.
    """

    def __init__(self, tz: ZoneInfo, target_greet_s: float, open_calls: Mapping[str, Call]) -> None:
        self.tz = tz
        self.target_greet_s = target_greet_s
        self._open = open_calls
        self.day: str | None = None
        self.calls: list[Call] = []

    # --- what the dispatcher feeds in ------------------------------------------------

    def opened(self, call: Call, wall: float) -> None:
        """A new call: count it today.  Call it before the call is open, or a new day counts it twice."""
        self.roll(wall)
        self.calls.append(call)

    def restored(self, call: Call) -> None:
        """A call rebuilt after a restart counts if it was opened on the current day (``roll`` first)."""
        if self.day_of(call.opened_wall) == self.day:
            self.calls.append(call)

    def greeted(self, wall: float) -> None:
        """A call of today was greeted (its call is still open: a new day keeps it)."""
        self.roll(wall)

    def closed(self, wall: float) -> None:
        """A call was closed (and is no longer open: a new day leaves it out)."""
        self.roll(wall)

    def feedback(self, wall: float) -> None:
        """A customer gave feedback on a call."""
        self.roll(wall)

    # --- the figures -----------------------------------------------------------------

    def summary(self, wall: float) -> dict[str, Any]:
        """The store's figures today (the retained ``summary``)."""
        self.roll(wall)
        calls = self.calls
        greet = [c.greeted_mono - c.opened_mono for c in calls if c.greeted_mono is not None]
        ack = [c.acked_mono - c.opened_mono for c in calls if c.acked_mono is not None]
        faces = [c.feedback_score for c in calls if c.feedback_score is not None]
        target = self.target_greet_s
        return {
            "day": self.day,
            "calls": len(calls),
            "open": sum(1 for c in calls if c.is_open),
            "greeted": len(greet),
            "greeted_within_target": sum(1 for s in greet if s <= target),
            "target_greet_s": target,
            "median_ack_s": round(median(ack), 1) if ack else None,
            "median_greet_s": round(median(greet), 1) if greet else None,
            "cancelled": sum(1 for c in calls if c.status == "cancelled"),
            "unattended": sum(1 for c in calls if c.status == "unattended"),
            "feedback_avg": round(sum(faces) / len(faces), 2) if faces else None,
            "feedback_count": len(faces),
            "updated_at": iso(wall),
        }

    def shift(self, staff: str, wall: float) -> dict[str, Any]:
        """One colleague's day, for "My shift" on their pager: recognition, not surveillance."""
        self.roll(wall)
        mine = [c for c in self.calls if (c.greeted_by or c.staff) == staff and c.status != "waiting"]
        greet = [c.greeted_mono - c.opened_mono for c in mine if c.greeted_mono is not None]
        faces = [c.feedback_score for c in mine if c.feedback_score is not None]
        target = self.target_greet_s
        return {
            "staff": staff,
            "day": self.day,
            "calls": len(mine),
            "greeted": len(greet),
            "greeted_within_target": sum(1 for s in greet if s <= target),
            "median_greet_s": round(median(greet), 1) if greet else None,
            "faces": {str(n): faces.count(n) for n in range(1, 5)},
            "feedback_avg": round(sum(faces) / len(faces), 2) if faces else None,
            "declines": sum(1 for c in self.calls if staff in c.declined),
            "updated_at": iso(wall),
        }

    # --- the local day -----------------------------------------------------------------

    def day_of(self, wall: float) -> str:
        """The store's local date of a Unix time, as ``YYYY-MM-DD``."""
        return datetime.fromtimestamp(wall, self.tz).date().isoformat()

    def roll(self, wall: float) -> None:
        """Start a new day if the local date has changed since the last call."""
        day = self.day_of(wall)
        if day != self.day:
            self.day = day
            self.calls = list(self._open.values())
