"""The store report's figures across the chain: their definitions and the report's shapes.

The figures are summed from cells (``broker.chain.cells``: kept per store-month summaries, or the
raw rows where none is fresh); this module holds what a figure means, the report's dataclasses and
the rules over the summed rows (ranking, worse weeks, shout-outs, the distribution).

The figures mean what they mean in the store report (``broker.reports.metrics``), per record:

- calls: closed calls; ack and greet: ``time_to_ack_s`` / ``time_to_greet_s`` of the calls that
  have one, median and p90 by linear interpolation between ranks (type 7, the store report's
  definition; from the kept histograms: within 0.5 s, or 1 % above 50 s), max, rounded to ms;
- promise kept (``within_target_share``): greeted within the record's own ``target_greet_s``
  (the store's promise when the call was made) over calls judged (every closed call);
- gave up (``cancelled``): cancelled before anyone greeted, with the median and longest wait to
  the cancel; unattended: closed as unattended; escalations: calls escalated; repeat presses and
  declines summed; feedback: the faces' average (1-4) and count.

Example::

    >>> cond, params = where(Filters(region="north"))
    >>> cond, params
    ('TRUE AND region = $region', {'region': 'north'})
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

OPEN = ("waiting", "acknowledged", "greeted")
GROUPINGS = ("store", "region", "weekday", "hour")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DISTRIBUTION_EDGES = (0, 30, 60, 90, 120, 180, 300, 600)
"""Greeting-time buckets in seconds, as in the store report: 0-30, 30-60, ..., 600+."""
SHOUTOUT_MIN_CALLS = 3
"""As the store report: greetings a colleague needs in the period to be ranked."""
SHOUTOUT_MIN_FACES = 2
SHOUTOUT_TOP = 5
WORSE_BY = 0.05
"""A store's week got worse when its promise share fell by at least 5 points from the week before ..."""
WORSE_MIN_CALLS = 20
"""... and both weeks had at least 20 calls (a quiet week's share moves by chance)."""


@dataclass(frozen=True)
class Filters:
    """What a report covers: local dates (inclusive), one region, some stores; None: no limit."""

    since: date | None = None
    until: date | None = None
    region: str | None = None
    stores: tuple[str, ...] | None = None


@dataclass
class ChainFigures:
    """One group's figures: the store report's ``Figures`` fields, plus the stores and region it covers."""

    key: str
    calls: int = 0
    open: int = 0
    greeted: int = 0
    ack_median: float | None = None
    ack_p90: float | None = None
    ack_max: float | None = None
    greet_median: float | None = None
    greet_p90: float | None = None
    greet_max: float | None = None
    within_target: int = 0
    within_target_share: float | None = None
    unattended: int = 0
    cancelled: int = 0
    cancelled_wait_median: float | None = None
    cancelled_wait_max: float | None = None
    repeat_presses: int = 0
    escalations: int = 0
    feedback_avg: float | None = None
    feedback_count: int = 0
    declines: int = 0
    stores: int = 0
    region: str = ""


FIGURE_COLUMNS = [f.name for f in fields(ChainFigures)]


@dataclass
class ShoutOut:
    store: str
    staff: str
    name: str
    value: float
    calls: int


@dataclass
class WorseWeek:
    store: str
    region: str
    last_share: float
    this_share: float
    last_calls: int
    this_calls: int

    @property
    def drop(self) -> float:
        return round(self.last_share - self.this_share, 4)


@dataclass
class ChainReport:
    label: str
    filters: Filters
    by: str | None
    total: ChainFigures
    stores: list[ChainFigures]
    regions: list[ChainFigures]
    groups: list[ChainFigures]
    ranking: list[ChainFigures]
    fastest: list[ShoutOut]
    happiest: list[ShoutOut]
    worse: list[WorseWeek]
    weeks: tuple[str, str]
    """(last week's Monday, this week's Monday) the worse-week comparison used."""
    heatmap: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    heat_greet: list[list[float | None]] = field(default_factory=lambda: [[None] * 24 for _ in range(7)])
    distribution: list[tuple[str, int]] = field(default_factory=list)
    trend: list[ChainFigures] = field(default_factory=list)
    files: int = 0
    kept_months: int = 0
    """Months read from kept summaries (the rest from raw rows)."""
    day_months: int = 0
    """Months read (in part) from their day summaries, plus the files committed since, raw."""


# --- SQL ---------------------------------------------------------------------------------------------


def where(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and its parameters for ``filters``."""
    parts, params = ["TRUE"], {}
    if filters.since:
        parts.append("local_date >= $since")
        params["since"] = filters.since
    if filters.until:
        parts.append("local_date <= $until")
        params["until"] = filters.until
    if filters.region:
        parts.append("region = $region")
        params["region"] = filters.region
    if filters.stores:
        parts.append("store IN (SELECT unnest($stores))")
        params["stores"] = list(filters.stores)
    return " AND ".join(parts), params


# --- rows to figures -------------------------------------------------------------------------------------


def _r(x: float | None, digits: int) -> float | None:
    return None if x is None else round(float(x), digits)


def to_figures(key: str, row: dict[str, Any]) -> ChainFigures:
    ack_q, greet_q = row["ack_q"] or [None, None], row["greet_q"] or [None, None]
    judged = row["judged"]
    return ChainFigures(
        key=key,
        calls=row["calls"],
        open=row["open"],
        greeted=row["greeted"],
        ack_median=_r(ack_q[0], 3),
        ack_p90=_r(ack_q[1], 3),
        ack_max=_r(row["ack_max"], 3),
        greet_median=_r(greet_q[0], 3),
        greet_p90=_r(greet_q[1], 3),
        greet_max=_r(row["greet_max"], 3),
        within_target=row["within_target"],
        within_target_share=_r(row["within_target"] / judged, 4) if judged else None,
        unattended=row["unattended"],
        cancelled=row["cancelled"],
        cancelled_wait_median=_r(row["cancelled_wait_median"], 3),
        cancelled_wait_max=_r(row["cancelled_wait_max"], 3),
        repeat_presses=int(row["repeat_presses"]),
        escalations=row["escalations"],
        feedback_avg=_r(row["feedback_avg"], 2),
        feedback_count=row["feedback_count"],
        declines=int(row["declines"]),
        stores=row.get("stores", 1 if row.get("set") == "store" else 0),
        region=(row["region"] or "") if row.get("set") == "store" else "",
    )


def light_figures(key: str, row: dict[str, Any]) -> ChainFigures:
    """A trend or heatmap cell: calls, greeted, the median greeting and the faces."""
    return ChainFigures(
        key=key,
        calls=row["calls"],
        greeted=row["greeted"],
        greet_median=_r(row["greet_q"][0], 3) if row["greet_q"] else None,
        feedback_avg=_r(row["feedback_avg"], 2),
        feedback_count=row["feedback_count"],
    )


def rank(stores: list[ChainFigures]) -> list[ChainFigures]:
    """Best first: the promise share (higher), then the median greeting (quicker), then the store id."""
    return sorted(
        stores,
        key=lambda f: (
            -(f.within_target_share if f.within_target_share is not None else -1),
            f.greet_median if f.greet_median is not None else float("inf"),
            f.key,
        ),
    )


def shoutouts(staff_rows: list[dict[str, Any]]) -> tuple[list[ShoutOut], list[ShoutOut]]:
    """The store report's rules chain-wide: fastest median greeting within the promise, happiest faces (>= 3)."""
    people = [r for r in staff_rows if r["k_staff"]]
    fast = sorted(
        (r for r in people if r["greeted"] >= SHOUTOUT_MIN_CALLS and r["greet_q"] and r["greet_q"][0] <= r["target"]),
        key=lambda r: (r["greet_q"][0], -r["greeted"], r["k_store"], r["k_staff"]),
    )
    happy = sorted(
        (r for r in people if r["feedback_count"] >= SHOUTOUT_MIN_FACES and r["feedback_avg"] >= 3),
        key=lambda r: (-r["feedback_avg"], -r["feedback_count"], r["k_store"], r["k_staff"]),
    )

    def shout(r: dict[str, Any], value: float, n: int) -> ShoutOut:
        return ShoutOut(r["k_store"], r["k_staff"], r["staff_name"] or r["k_staff"], value, n)

    return (
        [shout(r, _r(r["greet_q"][0], 3) or 0.0, r["greeted"]) for r in fast[:SHOUTOUT_TOP]],
        [shout(r, _r(r["feedback_avg"], 2) or 0.0, r["feedback_count"]) for r in happy[:SHOUTOUT_TOP]],
    )


def worse_weeks(rows: list[dict[str, Any]]) -> list[WorseWeek]:
    """Stores whose promise share fell by ``WORSE_BY`` or more (both weeks ``WORSE_MIN_CALLS`` calls), worst first."""
    weeks: dict[str, dict[bool, dict[str, Any]]] = {}
    for r in rows:
        weeks.setdefault(r["store"], {})[bool(r["this_week"])] = r
    out = []
    for store, w in weeks.items():
        last, this = w.get(False), w.get(True)
        if not last or not this or min(last["calls"], this["calls"]) < WORSE_MIN_CALLS:
            continue
        if not last["judged"] or not this["judged"]:
            continue
        a, b = round(last["within"] / last["judged"], 4), round(this["within"] / this["judged"], 4)
        if a - b >= WORSE_BY - 1e-9:
            out.append(WorseWeek(store, this["region"] or "", a, b, last["calls"], this["calls"]))
    return sorted(out, key=lambda w: (-w.drop, w.store))


def distribution(total_row: dict[str, Any] | None) -> list[tuple[str, int]]:
    """Greeted calls by greeting-time bucket, then those who gave up and those left unattended."""
    edges = DISTRIBUTION_EDGES
    labels = [f"{a}-{b}s" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}s+"]
    if total_row is None:
        return [(label, 0) for label in [*labels, "gave up", "unattended"]]
    counts = [total_row[f"d{i}"] for i in range(len(labels))]
    return [*zip(labels, counts, strict=True), ("gave up", total_row["cancelled"]),
            ("unattended", total_row["unattended_left"])]  # fmt: skip


def group_label(by: str, value: Any) -> str:
    if by == "weekday":
        return WEEKDAYS[int(value)]
    if by == "hour":
        return f"{int(value):02d}:00"
    return str(value)
