"""An honest estimate of when a colleague will greet the customer.

"Anna is on her way, about 1 minute" only helps if it is true, so the estimate comes
from what this store has just done: the median of the last greetings in the zone
(store-wide while a zone has too few), stretched by the queue when more customers
wait than colleagues are on shift.  Rounded up to 15 s, never below 15 s.

Example::

    >>> e = EtaEstimator(default_s=60)
    >>> e.estimate("toys", waited_s=0, acknowledged=False, queue_ahead=0, on_shift=1)
    60
    >>> for s in (20, 40, 30): e.greeted("toys", open_to_greet_s=s, ack_to_greet_s=s / 2)
    >>> e.estimate("toys", waited_s=10, acknowledged=False, queue_ahead=0, on_shift=1)
    30
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from statistics import median

WINDOW = 20
MIN_SAMPLES = 3
STEP_S = 15


class EtaEstimator:
    def __init__(self, default_s: float) -> None:
        self.default_s = default_s
        self._greet: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=WINDOW))
        self._walk: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=WINDOW))

    def greeted(self, zone: str, open_to_greet_s: float, ack_to_greet_s: float | None) -> None:
        for key in (zone, "*"):
            self._greet[key].append(open_to_greet_s)
            if ack_to_greet_s is not None:
                self._walk[key].append(ack_to_greet_s)

    def _typical(self, table: dict[str, deque[float]], zone: str, default: float) -> float:
        for key in (zone, "*"):
            samples = table.get(key)
            if samples and len(samples) >= MIN_SAMPLES:
                return median(samples)
        return default

    def estimate(self, zone: str, waited_s: float, acknowledged: bool, queue_ahead: int, on_shift: int) -> int:
        """Seconds from now until the customer is expected to be greeted."""
        if acknowledged:
            remaining = self._typical(self._walk, zone, self.default_s / 2)
        else:
            typical = self._typical(self._greet, zone, self.default_s)
            backlog = queue_ahead / max(on_shift, 1)
            remaining = typical * (1 + backlog) - waited_s
            if remaining < STEP_S:
                # Past the estimate: promise no less than the time a colleague needs to walk over.
                remaining = max(self._typical(self._walk, zone, self.default_s / 2), STEP_S)
        return max(STEP_S, math.ceil(remaining / STEP_S) * STEP_S)
