"""How colleagues answer pages, walk and serve: drawn from the store's own history.

The replay (``broker.core.replay``) asks a ``Behaviour`` three things: how a colleague answers a page
(acknowledge, decline or let it pass, and after how long), how long they take from acknowledging to
greeting (the walk), and from greeting to resolving (the service).  ``Empirical`` answers by drawing
from what this store recorded: per colleague when they have at least ``MIN_SAMPLES`` observations,
else per zone, else the whole store (a new colleague, or one in a plan, behaves like their zone).
Empirical distributions, not fitted curves: a store's walk times are lumpy (the back room is far)
and a resample keeps that.

How a colleague answers is censored data: a page nobody answered before someone else took the call
(or the colleague went for another one) is not a "let pass", only "no answer within that long".
Counting it as a pass made slow colleagues look unwilling (37% passes seen where 5% were true).  The
answer table is a Kaplan-Meier estimate over the answer time (acknowledge and decline are the events,
an unanswered page is censored when the call stopped waiting for that colleague); the mass left after
the last answer seen is the let-pass share.  Written here (a dozen lines) rather than taken from
``lifelines``, which would bring pandas and scipy into the hub's core for one product-limit sum.

Example::

    >>> import random
    >>> b = Empirical([PageAnswer("anna", "toys", "ack", 12.0)] * 30, [Visit("anna", "toys", 20.0, 90.0)])
    >>> b.respond(random.Random(1), "anna", "toys"), b.walk_s(random.Random(1), "new", "toys")
    (('ack', 12.0), 20.0)
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
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
    """Seconds from the page to the answer.  For a ``pass``: how long the page stayed open to them without
    an answer (censored: they might have answered later); None, never answered while it was theirs."""


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
        # Plain doubles (8 bytes a sample, not a float object each): weeks of history stay small.
        self.by: dict[tuple[str, str], array[float]] = defaultdict(lambda: array("d"))
        self._chosen: dict[tuple[str, str], Sequence[float]] = {}
        """(colleague, zone) -> the samples their draws use (a replay draws millions of times)."""

    def add(self, staff: str, zone: str, value: float) -> None:
        self._chosen.clear()
        for key in (("staff", staff), ("zone", zone), ("store", "")):
            self.by[key].append(value)

    def samples(self, staff: str, zone: str) -> Sequence[float]:
        got = self._chosen.get((staff, zone))
        if got is None:
            got = self._chosen[(staff, zone)] = self._choose(staff, zone)
        return got

    def _choose(self, staff: str, zone: str) -> Sequence[float]:
        for key in (("staff", staff), ("zone", zone)):
            got = self.by.get(key)
            if got and len(got) >= MIN_SAMPLES:
                return got
        return self.by.get(("store", ""), array("d"))

    def draw(self, rng: random.Random, staff: str, zone: str, default: float) -> float:
        got = self.samples(staff, zone)
        return got[int(rng.random() * len(got))] if got else default


def answer_table(observed: Iterable[tuple[float, str]]) -> tuple[list[float], list[tuple[str, float]]]:
    """Kaplan-Meier over answer times: cumulative probabilities and their ``(answer, seconds)``.

    ``observed``: ``(seconds, answer)`` with answer ``ack`` or ``decline`` (an event) or ``pass`` (censored at
    ``seconds``; ``inf``: never answered).  A draw ``u`` below ``cum[-1]`` picks ``outcomes[bisect(cum, u)]``;
    above it, the colleague lets the page pass (the probability left after the last answer seen).
    """
    obs = sorted(observed, key=lambda o: (o[0], o[1] == "pass"))  # at a tie, events before censoring
    at_risk = len(obs)
    alive = 1.0
    cum: list[float] = []
    outcomes: list[tuple[str, float]] = []
    total = 0.0
    for seconds, answer in obs:
        if answer != "pass" and at_risk > 0:
            mass = alive / at_risk
            alive -= mass
            total += mass
            cum.append(total)
            outcomes.append((answer, seconds))
        at_risk -= 1
    if cum and alive < 1e-9:
        cum[-1] = 1.0  # nothing censored at the end: no let-pass share, whatever the rounding
    return cum, outcomes


class _Answers:
    """``(seconds, answer)`` pairs kept as an array of doubles and one byte each (weeks of pages stay small)."""

    def __init__(self) -> None:
        self.seconds: array[float] = array("d")
        self.codes = bytearray()

    def append(self, item: tuple[float, str]) -> None:
        self.seconds.append(item[0])
        self.codes.append(ANSWERS.index(item[1]))

    def __len__(self) -> int:
        return len(self.seconds)

    def __iter__(self) -> Iterator[tuple[float, str]]:
        return ((s, ANSWERS[c]) for s, c in zip(self.seconds, self.codes, strict=True))


class Empirical:
    """Behaviour resampled from the store's history (``PageAnswer``s and ``Visit``s).

    Built at once or fed as the history is read (``add_answer``, ``add_visit``): the log is read in
    chunks, and only these samples are kept."""

    def __init__(self, answers: Iterable[PageAnswer] = (), visits: Iterable[Visit] = ()) -> None:
        self.answers: dict[tuple[str, str], _Answers] = defaultdict(_Answers)
        self._tables: dict[tuple[str, str], tuple[list[float], list[tuple[str, float]]]] = {}
        self._for: dict[tuple[str, str], tuple[list[float], list[tuple[str, float]]]] = {}
        self.ack = _Pool()
        self.decline = _Pool()
        self.walk = _Pool()
        self.serve = _Pool()
        for a in answers:
            self.add_answer(a)
        for v in visits:
            self.add_visit(v)

    def add_answer(self, a: PageAnswer) -> None:
        if a.answer not in ANSWERS:
            return
        self._tables.clear()
        self._for.clear()
        if a.answer == "pass":
            seconds = float("inf") if a.delay_s is None else a.delay_s
        else:
            seconds = a.delay_s if a.delay_s is not None and a.delay_s >= 0 else DEFAULT_ACK_S
        for key in (("staff", a.staff), ("zone", a.zone), ("store", "")):
            self.answers[key].append((seconds, a.answer))
        if a.delay_s is not None and a.delay_s >= 0:
            (self.ack if a.answer == "ack" else self.decline).add(a.staff, a.zone, a.delay_s)

    def add_visit(self, v: Visit) -> None:
        if v.walk_s is not None and v.walk_s >= 0:
            self.walk.add(v.staff, v.zone, v.walk_s)
        if v.serve_s is not None and v.serve_s >= 0:
            self.serve.add(v.staff, v.zone, v.serve_s)

    def _table(self, staff: str, zone: str) -> tuple[list[float], list[tuple[str, float]]]:
        got = self._for.get((staff, zone))
        if got is None:
            got = self._for[(staff, zone)] = self._choose_table(staff, zone)
        return got

    def _choose_table(self, staff: str, zone: str) -> tuple[list[float], list[tuple[str, float]]]:
        key: tuple[str, str] = ("store", "")
        for k in (("staff", staff), ("zone", zone)):
            got = self.answers.get(k)
            if got and len(got) >= MIN_SAMPLES:
                key = k
                break
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = answer_table(self.answers.get(key, ()))
        return table

    def pass_share(self, staff: str, zone: str) -> float:
        """Probability that a page reaching ``staff`` free is let pass (never answered)."""
        cum, _ = self._table(staff, zone)
        return 1.0 - cum[-1] if cum else 0.0

    def respond(self, rng: random.Random, staff: str, zone: str) -> tuple[str, float]:
        cum, outcomes = self._table(staff, zone)
        if not cum:
            return ("ack", DEFAULT_ACK_S) if not self.answers else ("pass", 0.0)
        u = rng.random()
        if u >= cum[-1]:
            return "pass", 0.0
        return outcomes[bisect.bisect_right(cum, u)]

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
