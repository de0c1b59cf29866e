"""Today's figures: the store's ``summary`` and each colleague's ``shift``, from the calls of the local day.

Kept apart from the dispatcher so the dispatcher reads as the call state machine only.  The
dispatcher feeds it (``opened``, ``greeted``, ``closed``, ``feedback``); the shell asks for the
figures once a second, all day.  So the figures are kept as calls close: a closed call's share is
final (only its feedback can still come, and ``feedback`` names the call), and goes into running
counters and sorted lists (exact medians by bisection); each ``summary`` / ``shift`` then looks at
the calls still open only.  Its cost follows the open calls, not the calls of the day.

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

from bisect import bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from broker.contract.clock import iso
from broker.core.calls import Call


def kth(big: list[float], small: list[float], k: int) -> float:
    """The k-th smallest (0-based) of two sorted lists together, by bisection over the smaller one."""
    if len(small) > len(big):
        big, small = small, big
    lo, hi = max(0, k + 1 - len(big)), min(len(small), k + 1)
    while True:
        j = (lo + hi) // 2  # taken from small; i from big, i + j = k + 1
        i = k + 1 - j
        if j < len(small) and i > 0 and big[i - 1] > small[j]:
            lo = j + 1
        elif j > 0 and i < len(big) and small[j - 1] > big[i]:
            hi = j - 1
        else:
            return max(big[i - 1] if i > 0 else float("-inf"), small[j - 1] if j > 0 else float("-inf"))


def median(big: list[float], small: list[float]) -> float | None:
    """The exact median of two sorted lists together (the mean of the middle two for an even count)."""
    n = len(big) + len(small)
    if not n:
        return None
    if n % 2:
        return kth(big, small, n // 2)
    return (kth(big, small, n // 2 - 1) + kth(big, small, n // 2)) / 2


@dataclass
class Tally:
    """Running figures of closed calls (the store's, or one colleague's): final, so only ever added to."""

    calls: int = 0
    greet: list[float] = field(default_factory=list)
    """Sorted greeting times (s)."""
    ack: list[float] = field(default_factory=list)
    cancelled: int = 0
    unattended: int = 0
    faces: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    """Count of each feedback score (index 0 unused)."""
    declines: int = 0
    promised: int = 0
    """Closed calls judged against the greeting first promised (``promise_judged``)."""
    kept: int = 0

    def face(self, score: int) -> None:
        if 0 <= score < len(self.faces):
            self.faces[score] += 1
        else:
            self.faces.extend([0] * (score + 1 - len(self.faces)))
            self.faces[score] += 1


def promise_judged(c: Call) -> tuple[bool, bool]:
    """(judged, kept) against the greeting first shown: greeted, or closed ungreeted after that time.

    The same rule as the reports (``broker.hub.reportcells``): a customer who cancelled before the
    time shown, or still waits, is not judged yet."""
    if c.eta_first_s is None:
        return False, False
    if c.greeted_mono is not None:
        return True, c.greeted_mono - c.opened_mono <= c.eta_first_s
    closed = c.closed_mono is not None and c.closed_mono - c.opened_mono > c.eta_first_s
    return closed, False


def _faces(counts: list[int], extra: list[int]) -> tuple[float | None, int]:
    n = sum(counts) + len(extra)
    total = sum(i * c for i, c in enumerate(counts)) + sum(extra)
    return (round(total / n, 2) if n else None), n


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
        self._start([])

    def _start(self, calls: list[Call]) -> None:
        self._pending: dict[str, Call] = {c.id: c for c in calls}
        """Calls of today not yet tallied: open ones, and those closed since the last figures."""
        self._store = Tally()
        self._staff: dict[str, Tally] = {}
        self._no_face: dict[str, str | None] = {}
        """Tallied calls still without feedback -> who took them: their face may still come."""

    # --- what the dispatcher feeds in ------------------------------------------------

    def opened(self, call: Call, wall: float) -> None:
        """A new call: count it today.  Call it before the call is open, or a new day counts it twice."""
        self.roll(wall)
        self._pending[call.id] = call

    def restored(self, call: Call) -> None:
        """A call rebuilt after a restart counts if it was opened on the current day (``roll`` first)."""
        if self.day_of(call.opened_wall) == self.day:
            self._pending[call.id] = call

    def greeted(self, wall: float) -> None:
        """A call of today was greeted (its call is still open: a new day keeps it)."""
        self.roll(wall)

    def closed(self, wall: float) -> None:
        """A call was closed (and is no longer open: a new day leaves it out)."""
        self.roll(wall)

    def feedback(self, wall: float, call: Call | None = None) -> None:
        """A customer gave feedback on ``call`` (tallied already if it closed before the last figures)."""
        self.roll(wall)
        if call is not None and call.id in self._no_face and call.feedback_score is not None:
            taker = self._no_face.pop(call.id)
            self._store.face(call.feedback_score)
            if taker is not None:
                self._tally_of(taker).face(call.feedback_score)

    # --- keeping the tallies -------------------------------------------------------------

    def _tally_of(self, staff: str) -> Tally:
        t = self._staff.get(staff)
        if t is None:
            t = self._staff[staff] = Tally()
        return t

    def _settle(self) -> list[Call]:
        """Tally the calls closed since the last figures; return those still open (the only ones read each time)."""
        still: list[Call] = []
        for cid, c in list(self._pending.items()):
            if c.is_open:
                still.append(c)
                continue
            del self._pending[cid]
            taker = c.greeted_by or c.staff
            tallies = [self._store] + ([self._tally_of(taker)] if taker else [])
            greet = None if c.greeted_mono is None else c.greeted_mono - c.opened_mono
            for t in tallies:
                t.calls += 1
                if greet is not None:
                    insort(t.greet, greet)
                if c.feedback_score is not None:
                    t.face(c.feedback_score)
            if c.acked_mono is not None:
                insort(self._store.ack, c.acked_mono - c.opened_mono)
            judged, kept = promise_judged(c)
            self._store.promised += judged
            self._store.kept += kept
            self._store.cancelled += c.status == "cancelled"
            self._store.unattended += c.status == "unattended"
            if c.feedback_score is None:
                self._no_face[cid] = taker
            for s in set(c.declined):
                self._tally_of(s).declines += 1
        return still

    # --- the figures -----------------------------------------------------------------

    def summary(self, wall: float) -> dict[str, Any]:
        """The store's figures today (the retained ``summary``)."""
        self.roll(wall)
        live = self._settle()
        t = self._store
        greet = sorted(c.greeted_mono - c.opened_mono for c in live if c.greeted_mono is not None)
        ack = sorted(c.acked_mono - c.opened_mono for c in live if c.acked_mono is not None)
        faces = [c.feedback_score for c in live if c.feedback_score is not None]
        target = self.target_greet_s
        med_ack, med_greet = median(t.ack, ack), median(t.greet, greet)
        feedback_avg, feedback_count = _faces(t.faces, faces)
        judged = [promise_judged(c) for c in live]
        return {
            "day": self.day,
            "calls": t.calls + len(live),
            "open": len(live),
            "greeted": len(t.greet) + len(greet),
            "greeted_within_target": bisect_right(t.greet, target) + bisect_right(greet, target),
            "target_greet_s": target,
            "median_ack_s": None if med_ack is None else round(med_ack, 1),
            "median_greet_s": None if med_greet is None else round(med_greet, 1),
            "cancelled": t.cancelled,
            "unattended": t.unattended,
            "feedback_avg": feedback_avg,
            "feedback_count": feedback_count,
            "promised": t.promised + sum(j for j, _ in judged),
            "promises_kept": t.kept + sum(k for _, k in judged),
            "updated_at": iso(wall),
        }

    def shift(self, staff: str, wall: float) -> dict[str, Any]:
        """One colleague's day, for "My shift" on their pager: recognition, not surveillance."""
        self.roll(wall)
        live = self._settle()
        t = self._staff.get(staff) or Tally()
        mine = [c for c in live if (c.greeted_by or c.staff) == staff and c.status != "waiting"]
        greet = sorted(c.greeted_mono - c.opened_mono for c in mine if c.greeted_mono is not None)
        faces = [c.feedback_score for c in mine if c.feedback_score is not None]
        target = self.target_greet_s
        med = median(t.greet, greet)
        feedback_avg, _ = _faces(t.faces, faces)
        return {
            "staff": staff,
            "day": self.day,
            "calls": t.calls + len(mine),
            "greeted": len(t.greet) + len(greet),
            "greeted_within_target": bisect_right(t.greet, target) + bisect_right(greet, target),
            "median_greet_s": None if med is None else round(med, 1),
            "faces": {str(n): (t.faces[n] if n < len(t.faces) else 0) + faces.count(n) for n in range(1, 5)},
            "feedback_avg": feedback_avg,
            "declines": t.declines + sum(1 for c in live if staff in c.declined),
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
            self._start(list(self._open.values()))
