"""Who gets paged: the roster of staff presence and the routing rule.

Page ONE colleague first, because a broadcast lets everyone think someone else will
go.  Prefer an on-shift colleague of the call's zone with the fewest open calls, then
the one paged longest ago; fall back to anyone on shift; with nobody on shift, the
managers.

Example::

    >>> from broker.contract.config import Staff
    >>> r = CallRouter([Staff("anna", "Anna", zones=["toys"]), Staff("ben", "Ben")])
    >>> r.set_presence("anna", "on_shift"); r.set_presence("ben", "on_shift")
    >>> r.choose("toys", exclude=set(), load={})
    'anna'
    >>> r.choose("toys", exclude={"anna"}, load={})
    'ben'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from broker.contract.config import Staff

UNKNOWN = "off"


class CallRouter:
    def __init__(self, staff: Iterable[Staff]) -> None:
        self.staff = {s.id: s for s in staff}
        self.presence: dict[str, str] = {}
        self.last_paged: dict[str, float] = {}
        self._on_shift: list[str] | None = None
        self._in_zone: dict[str, list[str]] = {}
        """Who is on shift (all, per zone), kept until presence changes: routing asks on every page."""

    def set_presence(self, staff: str, status: str) -> None:
        if self.presence.get(staff) != status:
            self._on_shift = None
            self._in_zone.clear()
        self.presence[staff] = status

    def status(self, staff: str) -> str:
        return self.presence.get(staff, UNKNOWN)

    def on_shift(self) -> list[str]:
        if self._on_shift is None:
            self._on_shift = [s for s in self.staff if self.presence.get(s) == "on_shift"]
        return list(self._on_shift)

    def on_shift_in(self, zone: str) -> list[str]:
        got = self._in_zone.get(zone)
        if got is None:
            got = self._in_zone[zone] = [s for s in self.on_shift() if zone in self.staff[s].zones]
        return list(got)

    def managers(self) -> list[str]:
        return [s for s, cfg in self.staff.items() if cfg.manager]

    def paged(self, staff: str, now: float) -> None:
        self.last_paged[staff] = now

    def choose(self, zone: str, exclude: set[str], load: Mapping[str, int]) -> str | None:
        """One colleague to page, or None when every on-shift colleague is excluded."""
        for pool in (self.on_shift_in(zone), self.on_shift()):
            candidates = [s for s in pool if s not in exclude]
            if candidates:
                return min(candidates, key=lambda s: (load.get(s, 0), self.last_paged.get(s, float("-inf")), s))
        return None

    def everyone(self, exclude: set[str]) -> list[str]:
        """Tier 3: everyone on shift plus the managers, less those who declined."""
        targets = [s for s in self.on_shift() if s not in exclude]
        targets += [m for m in self.managers() if m not in targets and m not in exclude]
        return targets or self.managers()
