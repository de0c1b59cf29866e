"""How colleagues answer pages, walk and serve: drawn from the store's own history.

The replay (``broker.core.replay``) asks a ``Behaviour`` three things: how a colleague answers a page
(acknowledge, decline or let it pass, and after how long), how long they take from acknowledging to
greeting (the walk), and from greeting to resolving (the service).  ``Empirical`` answers by drawing
from what this store recorded: per colleague when they have at least ``MIN_SAMPLES`` observations,
else per zone, else the whole store (a new colleague, or one in a plan, behaves like their zone).
Empirical distributions, not fitted curves: a store's walk times are lumpy (the back room is far)
and a resample keeps that.

Example::

    >>> import random
    >>> b = Empirical([PageAnswer("anna", "toys", "ack", 12.0)] * 30, [Visit("anna", "toys", 20.0, 90.0)])
    >>> b.respond(random.Random(1), "anna", "toys"), b.walk_s(random.Random(1), "new", "toys")
    (('ack', 12.0), 20.0)
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

MIN_SAMPLES = 20
"""Observations a colleague (or zone) needs before their own distribution is used."""
DEFAULT_ACK_S = 20.0
DEFAULT_WALK_S = 40.0
DEFAULT_SERVE_S = 180.0
"""Used only for a store with no history at all."""

ANSWERS = ("ack", "decline", "pass")


class Behaviour(Protocol):
    def respond(self, rng: random.Random, staff: str, zone: str) -> tuple[str, float]:
        """A page reached ``staff`` while free: ``("ack" | "decline" | "pass", seconds until they answer)``."""
        ...

    def walk_s(self, rng: random.Random, staff: str, zone: str) -> float: ...

    def serve_s(self, rng: random.Random, staff: str, zone: str) -> float: ...


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """A one-person page that reached a free colleague, and what they did with it."""

    staff: str
    zone: str
    answer: str
    """``ack``, ``decline`` or ``pass`` (neither before the call moved on)."""
    delay_s: float | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """One call a colleague took: acknowledged to greeted, greeted to resolved."""

    staff: str
    zone: str
    walk_s: float | None
    serve_s: float | None


class FixedBehaviour:
    """Everyone the same, no chance: for examples and exact tests."""

    def __init__(self, ack_s: float = DEFAULT_ACK_S, walk_s: float = DEFAULT_WALK_S, serve_s: float = DEFAULT_SERVE_S):
        self.ack_s, self.walk, self.serve = ack_s, walk_s, serve_s

    def respond(self, rng: random.Random, staff: str, zone: str) -> tuple[str, float]:
        return "ack", self.ack_s

    def walk_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return self.walk

    def serve_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return self.serve


class _Pool:
    """Samples per colleague, per zone and for the store; a draw uses the most specific with enough."""

    def __init__(self) -> None:
        self.by: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, staff: str, zone: str, value: float) -> None:
        for key in (("staff", staff), ("zone", zone), ("store", "")):
            self.by[key].append(value)

    def samples(self, staff: str, zone: str) -> list[float]:
        for key in (("staff", staff), ("zone", zone)):
            got = self.by.get(key)
            if got and len(got) >= MIN_SAMPLES:
                return got
        return self.by.get(("store", ""), [])

    def draw(self, rng: random.Random, staff: str, zone: str, default: float) -> float:
        got = self.samples(staff, zone)
        return got[int(rng.random() * len(got))] if got else default


class Empirical:
    """Behaviour resampled from the store's history (``PageAnswer``s and ``Visit``s)."""

    def __init__(self, answers: Iterable[PageAnswer], visits: Iterable[Visit]) -> None:
        self.answers: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.ack = _Pool()
        self.decline = _Pool()
        self.walk = _Pool()
        self.serve = _Pool()
        for a in answers:
            if a.answer not in ANSWERS:
                continue
            for key in (("staff", a.staff), ("zone", a.zone), ("store", "")):
                self.answers[key].append(a.answer)
            if a.delay_s is not None and a.delay_s >= 0:
                (self.ack if a.answer == "ack" else self.decline).add(a.staff, a.zone, a.delay_s)
        for v in visits:
            if v.walk_s is not None and v.walk_s >= 0:
                self.walk.add(v.staff, v.zone, v.walk_s)
            if v.serve_s is not None and v.serve_s >= 0:
                self.serve.add(v.staff, v.zone, v.serve_s)

    def _answers(self, staff: str, zone: str) -> list[str]:
        for key in (("staff", staff), ("zone", zone)):
            got = self.answers.get(key)
            if got and len(got) >= MIN_SAMPLES:
                return got
        return self.answers.get(("store", ""), ["ack"])

    def respond(self, rng: random.Random, staff: str, zone: str) -> tuple[str, float]:
        answers = self._answers(staff, zone)
        answer = answers[int(rng.random() * len(answers))]
        if answer == "ack":
            return answer, self.ack.draw(rng, staff, zone, DEFAULT_ACK_S)
        if answer == "decline":
            return answer, self.decline.draw(rng, staff, zone, DEFAULT_ACK_S)
        return answer, 0.0

    def walk_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return self.walk.draw(rng, staff, zone, DEFAULT_WALK_S)

    def serve_s(self, rng: random.Random, staff: str, zone: str) -> float:
        return self.serve.draw(rng, staff, zone, DEFAULT_SERVE_S)

    def busy_s(self, zone: str) -> float:
        """Mean time a call keeps a colleague of ``zone`` busy (answer, walk and serve)."""
        parts = (self.ack.samples("", zone), self.walk.samples("", zone), self.serve.samples("", zone))
        defaults = (DEFAULT_ACK_S, DEFAULT_WALK_S, DEFAULT_SERVE_S)
        return sum(sum(p) / len(p) if p else d for p, d in zip(parts, defaults, strict=True))

    def reach_s(self, zone: str) -> float:
        """Mean time from page to greeting once a colleague is free (answer and walk)."""
        parts = (self.ack.samples("", zone), self.walk.samples("", zone))
        defaults = (DEFAULT_ACK_S, DEFAULT_WALK_S)
        return sum(sum(p) / len(p) if p else d for p, d in zip(parts, defaults, strict=True))
