"""Staffing advice: colleagues needed per zone, local weekday and hour, from the store's own calls.

Two steps (docs/staffing.md).  Erlang C (``broker.core.erlang``) gives a first estimate per slot from
the arrival rate and the time a call keeps a colleague busy, aiming the queue wait at the promise less
the time a free colleague needs to reach the customer.  Then the slot's recorded hours are replayed
through the real dispatcher (``broker.core.replay``) with that many colleagues per zone, and the count
moves up until the simulated promise share reaches the target and down while it still does: the advice
is the smallest count the replay says keeps the promise, with cross-zone cover and escalation included.

A slot with fewer than ``MIN_CALLS`` calls gets no number: it says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from broker.contract.config import Config, Staff
from broker.core.behaviour import Empirical
from broker.core.erlang import agents_needed
from broker.core.pagetext import Texts
from broker.core.replay import Outcome, RecordedCall, Replay, Shift

MIN_CALLS = 12
"""Calls a slot needs over the period before it gets a number."""
MAX_EXTRA = 6
"""The replay never advises more than Erlang's estimate plus this."""
NEAR_MISS = 0.1
"""A zone this close below the target is tried with one more colleague; further below, with two more."""
SEARCH_CALLS = 150
"""Calls per zone a slot's search replays: enough dates of that hour to hold about this many (the rest is
left out: a promise share of 150 calls is known within a few points, and a long period stays fast)."""
ACTING = ("on_shift", "break")


@dataclass(frozen=True)
class Slot:
    zone: str
    weekday: int
    """0 = Monday."""
    hour: int


@dataclass
class Advice:
    """One zone's hour of the week: the load, who was there, who is needed."""

    zone: str
    weekday: int
    hour: int
    calls: int
    rate_per_h: float
    busy_s: float | None
    second_share: float | None
    """Share of calls that needed a second colleague (a decline or an escalation)."""
    on_shift: float
    """Colleagues of the zone on shift, averaged over these hours."""
    actual_share: float | None
    erlang: int | None
    needed: int | None
    """None: too few calls to say."""
    predicted_share: float | None
    short: bool = False
    """Even ``needed`` (Erlang's count plus ``MAX_EXTRA``) does not keep the promise: answer and walk times do."""
    replayed_calls: int = 0
    """Calls the replay's search used (a sample of the slot's dates when the period is long)."""

    @property
    def thin(self) -> bool:
        return self.needed is None

    @property
    def gap(self) -> float | None:
        """Colleagues missing (positive) or spare (negative)."""
        return None if self.needed is None else round(self.needed - self.on_shift, 1)


def slot_key(ts: float, tz: ZoneInfo) -> tuple[int, int]:
    local = datetime.fromtimestamp(ts, tz)
    return local.weekday(), local.hour


def promise_share(outcomes: Iterable[Outcome], target_s: float) -> float | None:
    """Greeted within ``target_s`` over every closed call (the report's "promise kept")."""
    n = kept = 0
    for o in outcomes:
        n += 1
        kept += o.greet_s is not None and o.greet_s <= target_s
    return kept / n if n else None


def on_shift_by_slot(
    shifts: Sequence[Shift], staff: dict[str, Staff], since: float, until: float, tz: ZoneInfo
) -> dict[Slot, float]:
    """Seconds each zone had colleagues on shift, per slot (time-weighted colleague-seconds)."""
    out: dict[Slot, float] = defaultdict(float)
    now: dict[str, tuple[str, float]] = {}
    for s in sorted(shifts, key=lambda s: s.at):
        was = now.get(s.staff)
        if was is not None and was[0] in ACTING:
            _add_interval(out, staff.get(s.staff), max(was[1], since), min(s.at, until), tz)
        now[s.staff] = (s.status, s.at)
    for who, (status, at) in now.items():
        if status in ACTING:
            _add_interval(out, staff.get(who), max(at, since), until, tz)
    return out


def _add_interval(out: dict[Slot, float], staff: Staff | None, start: float, end: float, tz: ZoneInfo) -> None:
    if staff is None or end <= start:
        return
    t = start
    while t < end:
        local = datetime.fromtimestamp(t, tz)
        next_hour = (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).timestamp()
        stop = min(end, next_hour)
        for zone in staff.zones:
            out[Slot(zone, local.weekday(), local.hour)] += stop - t
        t = stop


def hours_in_period(since: float, until: float, tz: ZoneInfo) -> dict[tuple[int, int], list[float]]:
    """(weekday, hour) -> the Unix start of each such local hour in [since, until)."""
    out: dict[tuple[int, int], list[float]] = defaultdict(list)
    t = datetime.fromtimestamp(since, tz).replace(minute=0, second=0, microsecond=0).timestamp()
    while t < until:
        local = datetime.fromtimestamp(t, tz)
        if t >= since:
            out[(local.weekday(), local.hour)].append(t)
        t += 3600
    return out


def sample_dates(calls: Sequence[RecordedCall], per_zone: int) -> list[RecordedCall]:
    """The calls of evenly spread dates (hours) among ``calls``, enough for about ``per_zone`` calls per zone.

    The median zone's calls per date set how many dates; every call of a date chosen is kept, so each
    replayed hour is whole."""
    zones: dict[str, int] = defaultdict(int)
    for c in calls:
        zones[c.zone] += 1
    chosen = choose_starts({c.opened - c.opened % 3600 for c in calls}, zones, per_zone)
    return [c for c in calls if c.opened - c.opened % 3600 in chosen]


def choose_starts(starts: set[float], zone_calls: dict[str, int], per_zone: int) -> set[float]:
    """Evenly spread hour starts among ``starts``, enough for about ``per_zone`` of the median zone's calls."""
    if not starts:
        return set()
    counts = sorted(zone_calls.values())
    per_date = counts[len(counts) // 2] / len(starts)
    keep = min(len(starts), max(1, -(-per_zone // max(1, int(per_date)))))
    ordered = sorted(starts)
    step = len(ordered) / keep
    return {ordered[int(i * step)] for i in range(keep)}


@dataclass
class SlotLoad:
    """One slot's recorded calls, summed as they are read (the calls themselves are not kept)."""

    calls: int = 0
    kept: int = 0
    second: int = 0
    busy_sum: float = 0.0
    busy_n: int = 0
    starts: set[float] = field(default_factory=set)
    """Unix starts of the hours that had calls (to sample whole hours for the replay)."""


class SlotLoads:
    """Per-slot sums of the period's outcomes, fed in time order (a long period is read in chunks)."""

    def __init__(self, tz: ZoneInfo, target_s: float) -> None:
        self.tz = tz
        self.target_s = target_s
        self.by: dict[Slot, SlotLoad] = defaultdict(SlotLoad)

    def add(self, o: Outcome, busy_s: float | None) -> None:
        wd, h = slot_key(o.opened, self.tz)
        load = self.by[Slot(o.zone, wd, h)]
        load.calls += 1
        load.kept += o.greet_s is not None and o.greet_s <= self.target_s
        load.second += o.second
        if busy_s is not None:
            load.busy_sum += busy_s
            load.busy_n += 1
        load.starts.add(o.opened - o.opened % 3600)


def plan_config(cfg: Config, counts: dict[str, int]) -> tuple[Config, list[str]]:
    """``cfg`` with ``counts[zone]`` planned colleagues per zone (managers kept, off shift) and their ids."""
    planned = [Staff(f"plan:{z}:{i}", f"{z} {i + 1}", zones=[z]) for z, n in sorted(counts.items()) for i in range(n)]
    managers = [s for s in cfg.staff if s.manager]
    return msgspec.structs.replace(cfg, staff=planned + managers), [s.id for s in planned]


class Advisor:
    """Advice for every slot of a period: Erlang C, then the replay's smallest count."""

    def __init__(
        self,
        cfg: Config,
        words: Texts,
        behaviour: Empirical,
        target_s: float | None = None,
        share: float = 0.9,
        seed: int = 1,
    ) -> None:
        self.cfg = cfg
        self.words = words
        self.behaviour = behaviour
        self.target_s = cfg.store.target_greet_s if target_s is None else target_s
        self.share = share
        self.seed = seed
        self.tz = ZoneInfo(cfg.store.timezone)

    def simulate_hour(self, calls: Sequence[RecordedCall], counts: dict[str, int]) -> dict[str, list[Outcome]]:
        """Replay one (weekday, hour)'s calls, each date on its own, with ``counts`` colleagues per zone."""
        cfg, ids = plan_config(self.cfg, counts)
        by_zone: dict[str, list[Outcome]] = defaultdict(list)
        by_start: dict[float, list[RecordedCall]] = defaultdict(list)
        for c in calls:
            by_start[c.opened - c.opened % 3600].append(c)
        for start, group in sorted(by_start.items()):
            replay = Replay(cfg, self.words, self.behaviour, seed=self.seed + int(start) // 3600)
            result = replay.run(group, [Shift(start - 1, s, "on_shift") for s in ids])
            for o in result.calls:
                by_zone[o.zone].append(o)
        return by_zone

    def _meets(self, outcomes: dict[str, list[Outcome]], zone: str) -> bool:
        got = promise_share(outcomes.get(zone, []), self.target_s)
        return got is None or got >= self.share

    def smallest(
        self, calls: Sequence[RecordedCall], start: dict[str, int]
    ) -> tuple[dict[str, int], dict[str, float], set[str]]:
        """The smallest count per zone whose replay keeps the promise, searched from Erlang's ``start``.

        Every replay tries a count for each zone still being searched at once (a replay runs every zone
        anyway): a zone that keeps the promise at Erlang's count steps down until it no longer does; one
        that misses it goes up by one after a near miss (``NEAR_MISS``), by two after a far one, up to
        ``MAX_EXTRA`` more, then bisects (fewer rounds than jumping to the cap: most slots need Erlang's
        count or one more).
        A zone short even then is returned in the third value (staffing alone does not keep that promise;
        answer and walk times do).
        The counts found are replayed together once more, since zones cover each other.
        """
        memo: dict[tuple[tuple[str, int], ...], dict[str, list[Outcome]]] = {}

        def run(counts: dict[str, int]) -> dict[str, list[Outcome]]:
            key = tuple(sorted(counts.items()))
            if key not in memo:
                memo[key] = self.simulate_hour(calls, counts)
            return memo[key]

        cap = {z: n + MAX_EXTRA for z, n in start.items()}
        fails: dict[str, int] = {z: -1 for z in start}
        """The largest count known to miss the promise (-1: none yet)."""
        keeps: dict[str, int | None] = {z: None for z in start}
        """The smallest count known to keep it (None: none yet)."""
        trial = dict(start)
        unreachable: set[str] = set()
        while True:
            sim = run(trial)
            for z, n in trial.items():
                if z in unreachable or (keeps[z] is not None and fails[z] + 1 == keeps[z]):
                    continue
                if self._meets(sim, z):
                    known = keeps[z]
                    keeps[z] = n if known is None else min(n, known)
                else:
                    fails[z] = max(fails[z], n)
                    if n >= cap[z]:
                        unreachable.add(z)
            nxt = dict(trial)
            moving = False
            for z in start:
                high, low = keeps[z], fails[z]
                if z in unreachable:
                    nxt[z] = cap[z]
                elif high is None:  # not kept yet: one more after a near miss, two more after a far one
                    got = promise_share(sim.get(z, []), self.target_s) or 0.0
                    step = 1 if got >= self.share - NEAR_MISS else 2
                    nxt[z], moving = min(cap[z], low + step), True
                elif low + 1 < high:
                    nxt[z] = high - 1 if low < 0 else (low + high) // 2
                    moving = True
                else:
                    nxt[z] = high
            if not moving:
                break
            trial = nxt
        counts = {z: (cap[z] if z in unreachable else keeps[z] or 0) for z in start}
        for _ in range(2):  # together, zones cover each other: confirm, and add one where it fell short
            sim = run(counts)
            short = [z for z in counts if z not in unreachable and not self._meets(sim, z) and counts[z] < cap[z]]
            if not short:
                break
            for z in short:
                counts[z] += 1
        sim = run(counts)
        shares = {z: promise_share(sim.get(z, []), self.target_s) for z in counts}
        return counts, {z: s for z, s in shares.items() if s is not None}, unreachable

    def advise(
        self,
        calls: Sequence[RecordedCall],
        actual: Sequence[Outcome],
        busy: dict[str, float],
        shifts: Sequence[Shift],
        since: float,
        until: float,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Advice]:
        """Advice per (zone, weekday, hour) with calls; ``busy`` = seconds busy per call id."""
        loads = SlotLoads(self.tz, self.target_s)
        for o in actual:
            loads.add(o, busy.get(o.id))

        def fetch(starts: set[float]) -> list[RecordedCall]:
            return [c for c in calls if c.opened - c.opened % 3600 in starts]

        return self.advise_loads(loads, fetch, shifts, since, until, progress)

    def advise_loads(
        self,
        loads: SlotLoads,
        fetch: Callable[[set[float]], Sequence[RecordedCall]],
        shifts: Sequence[Shift],
        since: float,
        until: float,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Advice]:
        """Advice from per-slot sums; ``fetch`` gives the recorded calls of chosen hours (opening order)."""
        hours = hours_in_period(since, until, self.tz)
        present = on_shift_by_slot(shifts, self.cfg.staff_by_id, since, until, self.tz)
        advice: list[Advice] = []
        week_hours = sorted({(s.weekday, s.hour) for s in loads.by})
        for i, (wd, h) in enumerate(week_hours):
            n_hours = max(1, len(hours.get((wd, h), [])))
            slots = {s: load for s, load in loads.by.items() if (s.weekday, s.hour) == (wd, h)}
            first: dict[str, int] = {}
            rows: dict[str, Advice] = {}
            for slot, load in slots.items():
                busy_s = load.busy_sum / load.busy_n if load.busy_n else self.behaviour.busy_s(slot.zone)
                rate = load.calls / n_hours
                thin = load.calls < MIN_CALLS
                erl = None
                if not thin:
                    aim = max(0.0, self.target_s - self.behaviour.reach_s(slot.zone))
                    erl = agents_needed(rate, busy_s, aim, self.share)
                    first[slot.zone] = erl
                rows[slot.zone] = Advice(
                    zone=slot.zone,
                    weekday=wd,
                    hour=h,
                    calls=load.calls,
                    rate_per_h=round(rate, 2),
                    busy_s=round(busy_s, 1),
                    second_share=round(load.second / load.calls, 3),
                    on_shift=round(present.get(slot, 0.0) / (3600 * n_hours), 2),
                    actual_share=load.kept / load.calls,
                    erlang=erl,
                    needed=None,
                    predicted_share=None,
                )
            if first:
                starts = set().union(*(slots[Slot(z, wd, h)].starts for z in first))
                chosen = choose_starts(starts, {z: slots[Slot(z, wd, h)].calls for z in first}, SEARCH_CALLS)
                mine = [c for c in fetch(chosen) if c.zone in first]
                counts, shares, short = self.smallest(mine, first)
                for zone, n in counts.items():
                    rows[zone].needed = n
                    rows[zone].predicted_share = shares.get(zone)
                    rows[zone].short = zone in short
                    rows[zone].replayed_calls = sum(c.zone == zone for c in mine)
            advice.extend(rows[z] for z in sorted(rows))
            if progress:
                progress(i + 1, len(week_hours))
        return advice
