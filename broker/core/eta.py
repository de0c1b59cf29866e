"""An estimate built to be kept: when will a colleague greet the customer?

"Anna is on her way, about 1 minute" only helps if it holds.  A median holds for one
customer in two, so the estimate is instead the ``kept_share`` quantile (``[store]
eta_kept_share``, 0.85 by default) of this store's own recent greeting times, learned per
zone and local hour of the day (a Saturday lunch rush is not a Tuesday morning).

It is a *conditional* quantile: a customer who has already waited 90 s is promised the
``kept_share`` quantile of the remaining time among recent calls that lasted longer than
90 s, so a long wait is told the truth instead of the same figure again.  Once a colleague
acknowledges, the estimate is their walk (acknowledgement to greeting), learned per
colleague and zone.  Thin windows fall back: zone x hour -> zone -> the store -> the
configured default.  When more customers wait ahead than colleagues are on shift the
estimate stretches with the queue.  Seconds are rounded to the nearest 5 s (never below
15 s): the customer reads words ("about 1 minute", ``broker/callpoint/progress.py``).

Pure: the caller passes the zone, the call's local hour and how long it has waited.

Example::

    >>> e = EtaEstimator(default_s=60, kept_share=0.8)
    >>> e.estimate("toys", hour=10, waited_s=0, acknowledged=False)
    60
    >>> for s in range(10, 110, 10): e.greeted("toys", 10, open_to_greet_s=s, ack_to_greet_s=s / 2, staff="anna")
    >>> e.estimate("toys", hour=10, waited_s=0, acknowledged=False)
    90
    >>> e.estimate("toys", hour=10, waited_s=60, acknowledged=False)  # longer than most: a colleague's walk
    45
    >>> e.estimate("toys", hour=10, waited_s=60, acknowledged=True, staff="anna", since_ack_s=0)
    45
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Hashable

WINDOW = 60
"""Greetings kept per window: about a week of one busy hour slot in one zone."""
MIN_SAMPLES = 8
"""Samples (longer than the wait so far) a window needs before its quantile is trusted."""
STEP_S = 5
"""Seconds are kept in 5 s steps: customers read words ("about 1 minute"), and a coarser step would
move the share kept by many points on a store whose greetings are all within a minute."""
MIN_S = 15


class _Window:
    """The last ``WINDOW`` samples, also kept sorted for the quantiles."""

    def __init__(self) -> None:
        self.recent: deque[float] = deque()
        self.ordered: list[float] = []

    def add(self, value: float) -> None:
        self.recent.append(value)
        insort(self.ordered, value)
        if len(self.recent) > WINDOW:
            old = self.recent.popleft()
            del self.ordered[bisect_right(self.ordered, old) - 1]

    def remaining(self, waited: float, share: float) -> float | None:
        """The ``share`` quantile of (sample - waited) over samples longer than ``waited``; None when too few."""
        start = bisect_right(self.ordered, waited) if waited > 0 else 0
        n = len(self.ordered) - start
        if n < MIN_SAMPLES:
            return None
        # The k-th of n samples is at or above a new call's time with odds k / (n + 1): the smallest k
        # whose odds reach ``share`` (a plain inverse CDF, k = share * n, keeps the promise a little less often).
        k = min(n - 1, max(0, math.ceil(share * (n + 1) - 1e-9) - 1))
        return self.ordered[start + k] - waited


class EtaEstimator:
    def __init__(self, default_s: float, kept_share: float = 0.85) -> None:
        self.default_s = default_s
        self.kept_share = kept_share
        self._greet: dict[Hashable, _Window] = {}
        self._walk: dict[Hashable, _Window] = {}

    @staticmethod
    def _add(table: dict[Hashable, _Window], keys: tuple[Hashable, ...], value: float) -> None:
        for key in keys:
            window = table.get(key)
            if window is None:
                window = table[key] = _Window()
            window.add(value)

    def greeted(
        self, zone: str, hour: int, open_to_greet_s: float, ack_to_greet_s: float | None, staff: str | None = None
    ) -> None:
        """Learn from one greeting; ``hour`` is the local hour the call opened in."""
        self._add(self._greet, (("zh", zone, hour), ("z", zone), "*"), max(0.0, open_to_greet_s))
        if ack_to_greet_s is not None:
            keys: tuple[Hashable, ...] = (("z", zone), "*")
            if staff:
                keys = (("sz", staff, zone), ("s", staff), *keys)
            self._add(self._walk, keys, max(0.0, ack_to_greet_s))

    def _remaining(self, table: dict[Hashable, _Window], keys: tuple[Hashable, ...], waited: float) -> float | None:
        for key in keys:
            window = table.get(key)
            if window is not None:
                left = window.remaining(waited, self.kept_share)
                if left is not None:
                    return left
        return None

    def _walk_s(self, zone: str, staff: str | None, since_ack_s: float) -> float:
        keys: tuple[Hashable, ...] = (("z", zone), "*")
        if staff:
            keys = (("sz", staff, zone), ("s", staff), *keys)
        left = self._remaining(self._walk, keys, since_ack_s)
        return self.default_s / 2 if left is None else left

    def estimate(
        self,
        zone: str,
        hour: int,
        waited_s: float,
        acknowledged: bool,
        staff: str | None = None,
        since_ack_s: float = 0.0,
        queue_ahead: int = 0,
        on_shift: int = 1,
    ) -> int:
        """Seconds from now until the customer is expected to be greeted (a multiple of 15 s, >= 15 s)."""
        if acknowledged:
            remaining = self._walk_s(zone, staff, max(0.0, since_ack_s))
        else:
            keys = (("zh", zone, hour), ("z", zone), "*")
            left = self._remaining(self._greet, keys, max(0.0, waited_s))
            if left is None:
                # Longer than (nearly) every recent call, or no history: the default, counted from now
                # once the wait is past it, and never less than a colleague's walk over.
                left = max(self.default_s - waited_s, self._walk_s(zone, None, 0.0))
            backlog = max(0, queue_ahead + 1 - max(on_shift, 1)) / max(on_shift, 1)
            remaining = left * (1 + backlog)
        return max(MIN_S, int(math.floor(remaining / STEP_S + 0.5)) * STEP_S)
