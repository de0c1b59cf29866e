"""Abuse limits for QR calls: one new call per phone per window, a looser cap per address.

Pure (the clock is passed in), so the rules are tested without a server.  Memory stays
bounded: entries older than the window are dropped on every check.

Example::

    >>> lim = CallLimiter(every_s=120, per_ip=2)
    >>> lim.check("phone-a", "10.0.0.5", now=0.0)
    >>> lim.note("phone-a", "10.0.0.5", now=0.0)
    >>> lim.check("phone-a", "10.0.0.5", now=60.0)
    60
    >>> lim.check("phone-a", "10.0.0.5", now=120.0) is None
    True
"""

from __future__ import annotations

import math
from collections import deque


class CallLimiter:
    def __init__(self, every_s: float = 120.0, per_ip: int = 10) -> None:
        self.every_s = every_s
        self.per_ip = per_ip
        self.last_by_phone: dict[str, float] = {}
        self.by_ip: dict[str, deque[float]] = {}

    def _expire(self, now: float) -> None:
        cutoff = now - self.every_s
        for phone in [p for p, t in self.last_by_phone.items() if t <= cutoff]:
            del self.last_by_phone[phone]
        for ip in list(self.by_ip):
            q = self.by_ip[ip]
            while q and q[0] <= cutoff:
                q.popleft()
            if not q:
                del self.by_ip[ip]

    def check(self, phone: str, ip: str, now: float) -> int | None:
        """None when a new call is allowed, else the seconds to wait (rounded up)."""
        self._expire(now)
        waits = []
        last = self.last_by_phone.get(phone)
        if last is not None:
            waits.append(last + self.every_s - now)
        q = self.by_ip.get(ip)
        if q is not None and len(q) >= self.per_ip:
            waits.append(q[0] + self.every_s - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def note(self, phone: str, ip: str, now: float) -> None:
        """Count a call that went out."""
        self.last_by_phone[phone] = now
        self.by_ip.setdefault(ip, deque()).append(now)
