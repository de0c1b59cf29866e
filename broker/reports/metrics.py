"""Response-time figures from the hub's event log, computed in SQLite.

Everything here reads the ``calls`` and ``events`` tables written by
``broker.hub.eventlog`` and returns plain dataclasses; ``staffcall report``, the live
board and the tests all call this module.  Nothing reads a clock: the caller
passes ``now``, so "today" is testable.

Why SQL and not Python: a busy store logs a million calls a year.  Every figure is
an aggregate or a window-function query, so SQLite streams the rows (sorting on
disk if it must) and Python only ever holds one row per group: memory stays flat
in the number of calls (see ``bench/report.py``).

Local time: periods and groupings (hour, day, weekday) use the store's time zone
(``[store] timezone``).  SQLite knows no time zones, so for each period we list the
zone's UTC-offset changes (DST) inside it and add the right offset with a ``CASE``
expression: exact, and still one pass over the rows.

Percentiles (median, p90) use linear interpolation between the closest ranks,
Hyndman & Fan type 7: the same as numpy's default, Excel's ``PERCENTILE.INC`` and
``statistics.quantiles(method="inclusive")``.  For sorted values x[0..n-1] the
p-quantile is ``x[k] + f * (x[k+1] - x[k])`` with ``h = (n-1) * p``, ``k = floor(h)``,
``f = h - k``; so the median of 10 s and 20 s is 15 s, and one call's median is its
own wait.  Groups with no values give ``None``, never 0.

Example::

    >>> import sqlite3
    >>> from broker.hub.eventlog import connect, create_schema
    >>> db = connect(":memory:"); create_schema(db)
    >>> _ = db["calls"].insert({"id": "c1", "device": "k1", "zone": "toys", "status": "resolved",
    ...     "opened_at": "2026-03-02T09:00:00.000Z", "opened_ts": 1772442000.0, "time_to_greet_s": 42.0})
    >>> m = Metrics(db.conn, timezone="Europe/Stockholm", target_greet_s=60)
    >>> p = period("today", "Europe/Stockholm", now=1772445600.0)
    >>> m.figures(p).greet_median, m.figures(p).within_target_share
    (42.0, 1.0)
"""

from __future__ import annotations

import math
import sqlite3
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from broker.contract.clock import iso
from broker.hub.reportcells import (
    ARRAYS,
    COUNTERS,
    REPORT_INDEXES,
    ROW_SQL,
    Cell,
    LocalDays,
    build_cells,
    cell_columns,
    cell_from_row,
    kept_ready,
    kth,
    live_days,
    month_end,
    month_of,
)
from broker.hub.reportcells import rebuild as rebuild_cells


def warn(text: str) -> None:
    """A warning on stderr for whoever runs the report (no ``logging``: the day report must start quickly)."""
    print(f"staffcall report: {text}", file=sys.stderr)


GROUPINGS = ("hour", "day", "weekday", "zone", "device", "staff", "reason", "outcome")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OPEN = ("waiting", "acknowledged", "greeted")
DISTRIBUTION_EDGES = (0, 30, 60, 90, 120, 180, 300, 600)
"""Greeting-time buckets in seconds: 0-30, 30-60, ..., 600+."""
TREND_ARRAYS = ("greet", "waiting")
"""What the day-by-day trend reads of the kept times: its ack, gave-up and past-promise figures stay None."""
SHOUTOUT_MIN_CALLS = 3
"""Greetings a colleague needs in the period to be ranked (one lucky call proves little)."""
SHOUTOUT_MIN_FACES = 2


# --- periods -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open span [start_ts, end_ts) of unix time, named in the store's local time."""

    label: str
    start_ts: float
    end_ts: float
    timezone: str

    @property
    def start_iso(self) -> str:
        return iso(self.start_ts)

    @property
    def end_iso(self) -> str:
        return iso(self.end_ts)


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def period(
    kind: str = "today", timezone: str = "UTC", now: float = 0.0, since: date | None = None, until: date | None = None
) -> Period:
    """The period a report covers, in local days of ``timezone``.

    ``today``, ``yesterday``, ``week`` (Monday to Sunday of this week), ``month`` (this
    calendar month) or ``range`` (``since`` to ``until``, both local dates, inclusive;
    ``until`` defaults to today).
    """
    tz = ZoneInfo(timezone)
    today = datetime.fromtimestamp(now, tz).date()
    if kind == "today":
        first, last, label = today, today, f"today {today.isoformat()}"
    elif kind == "yesterday":
        first = last = today - timedelta(days=1)
        label = f"yesterday {first.isoformat()}"
    elif kind == "week":
        first = today - timedelta(days=today.weekday())
        last = first + timedelta(days=6)
        label = f"week {today.isocalendar().year}-W{today.isocalendar().week:02d}"
    elif kind == "month":
        first = today.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        label = f"month {first:%Y-%m}"
    elif kind == "range":
        if since is None:
            raise ValueError("a range needs a start date (--since YYYY-MM-DD)")
        first, last = since, until or today
        if last < first:
            raise ValueError(f"--until {last} is before --since {first}; swap them")
        label = f"{first.isoformat()} to {last.isoformat()}"
    else:
        raise ValueError(f"unknown period {kind!r}; use today, yesterday, week, month or range")
    return Period(label, _midnight(first, tz), _midnight(last + timedelta(days=1), tz), timezone)


def offset_changes(timezone: str, start: float, end: float) -> tuple[int, list[tuple[float, int]]]:
    """The UTC offset (seconds) at ``start`` and each (unix time, new offset) change before ``end``.

    Scans day by day and bisects to the second: time zones change offset at most a few
    times a year, always more than a day apart.
    """
    tz = ZoneInfo(timezone)

    def off(t: float) -> int:
        return int(datetime.fromtimestamp(t, tz).utcoffset().total_seconds())

    first = off(start)
    changes: list[tuple[float, int]] = []
    t, current = start, first
    while t < end:
        nxt = min(t + 86400, end)
        if off(nxt) != current:
            lo, hi = t, nxt  # off(lo) == current, off(hi) != current
            while hi - lo > 1:
                mid = math.floor((lo + hi) / 2)
                if off(mid) == current:
                    lo = mid
                else:
                    hi = mid
            current = off(hi)
            changes.append((hi, current))
        t = nxt
    return first, changes


def local_ts_sql(p: Period, column: str = "opened_ts") -> str:
    """A SQL expression turning unix ``column`` into local 'unix' seconds for strftime()."""
    first, changes = offset_changes(p.timezone, p.start_ts, p.end_ts)
    if not changes:
        return f"({column} + {first})"
    whens = []
    current = first
    for at, new in changes:
        whens.append(f"WHEN {column} < {at!r} THEN {current}")
        current = new
    return f"({column} + CASE {' '.join(whens)} ELSE {current} END)"


# --- results -------------------------------------------------------------------------


@dataclass
class Figures:
    """The figures of one group of calls (all calls, one hour, one colleague...)."""

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
    """Greeted within ``target_greet_s`` / calls that are closed or already past the target."""
    unattended: int = 0
    cancelled: int = 0
    """Cancelled before anyone greeted them: the customer gave up."""
    cancelled_wait_median: float | None = None
    cancelled_wait_max: float | None = None
    repeat_presses: int = 0
    escalations: int = 0
    feedback_avg: float | None = None
    feedback_count: int = 0
    declines: int = 0
    promised: int = 0
    """Calls judged against the greeting first promised to the customer: greeted, or left after it."""
    promises_kept: int = 0
    promises_kept_share: float | None = None
    """Greeted within the time first shown (``eta_first_s``) / ``promised``."""
    past_promise_median: float | None = None
    """Greeted minus promised, seconds (negative: early); of greeted calls that were promised a time."""
    past_promise_p90: float | None = None


@dataclass
class Calibration:
    """Calls first promised a greeting within [promise_s, promise_s + step): what they got."""

    promise_s: int
    promised: int
    kept_share: float | None
    greet_median: float | None
    greet_p90: float | None


@dataclass
class Heatmap:
    """Calls and median greeting time by local weekday (rows, Monday first) and hour (columns)."""

    calls: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    greet_median: list[list[float | None]] = field(default_factory=lambda: [[None] * 24 for _ in range(7)])


@dataclass
class ShoutOut:
    staff: str
    name: str
    value: float
    calls: int


@dataclass
class Report:
    period: Period
    by: str | None
    target_greet_s: float
    total: Figures
    groups: list[Figures]
    staff: list[Figures]
    fastest: list[ShoutOut]
    happiest: list[ShoutOut]
    heatmap: Heatmap
    distribution: list[tuple[str, int]]
    trend: list[Figures]
    staff_names: dict[str, str] = field(default_factory=dict)
    calibration: list[Calibration] = field(default_factory=list)
    beat_promise: list[ShoutOut] = field(default_factory=list)
    """Colleagues who greet before the time the customer was shown (median seconds early)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the queries ---------------------------------------------------------------------


def ensure_indexes(conn: sqlite3.Connection) -> None:
    """Create the report indexes missing from an older event log (the hub creates them in new ones).

    Only when missing: the hub is the event log's one writer, so a report normally writes nothing.
    A read-only or busy database only costs speed.
    """
    have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    for name, target in REPORT_INDEXES.items():
        if name in have:
            continue
        try:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
            conn.commit()
        except sqlite3.OperationalError as exc:
            warn(f"could not create index {name} ({exc}); reports will be slower")


def ensure_kept(
    conn: sqlite3.Connection, timezone: str, progress: Callable[[int, int], None] | None = None, force: bool = False
) -> bool:
    """Build the kept report cells of an event log that has none (or has them for another zone or version).

    Returns True when it built them.  A read-only or busy log is left as it is: reports then
    compute every day from the call rows, exact but slower.
    """
    if kept_ready(conn, timezone) and not force:
        return False
    try:
        rebuild_cells(conn, timezone, time.time(), progress)
    except sqlite3.OperationalError as exc:
        warn(f"could not build the kept report data ({exc}); reports will be slower")
        return False
    return True


def _only(c: Cell, arrays: tuple[str, ...]) -> Cell:
    """``c`` with only the ``arrays`` named (the others empty), as ``cell_columns`` reads a kept cell."""
    light = Cell(*(getattr(c, name) for name in COUNTERS))
    for name in arrays:
        setattr(light, name, getattr(c, name))
    return light


def _quantiles(arrays: list[array], ps: Iterable[float]) -> list[float | None]:
    """Type-7 quantiles of the union of sorted ``arrays`` (exact: the k-th values, interpolated)."""
    n = sum(len(a) for a in arrays)
    if not n:
        return [None for _ in ps]
    out: list[float | None] = []
    for q in ps:
        h = (n - 1) * q
        k = math.floor(h + 1e-9)  # guard against (n-1)*q landing a hair below an integer
        frac = max(0.0, h - k)
        lo = hi = kth(arrays, k)
        if frac > 0 and k + 1 < n:
            # The next value: lo again when more than k + 1 values are <= lo, else the least value above it.
            at = [bisect_right(a, lo) for a in arrays]
            if sum(at) < k + 2:
                hi = min(a[i] for a, i in zip(arrays, at, strict=True) if i < len(a))
        out.append(_r(lo + frac * (hi - lo), 3))
    return out


def _taker() -> str:
    """Who took a call: who greeted it, else who acknowledged it (never a colleague only paged)."""
    return "coalesce(greeted_by, CASE WHEN time_to_ack_s IS NOT NULL THEN staff END, '(nobody)')"


def _label(by: str | None, g: Any) -> str:
    if by == "weekday":
        return WEEKDAYS[g]
    if by == "hour":
        return f"{g:02d}:00"
    if by == "day":
        return (date(1970, 1, 1) + timedelta(days=g)).isoformat()
    return str(g)


def _same(day: int, key: Any) -> Any:
    return key


def _same_key(key: Any) -> Any:
    return key


_DAY_VIEWS: dict[str, tuple[str, Callable[[int, Any], Any]]] = {
    "all": ("all", lambda day, key: "all"),
    "day": ("all", lambda day, key: day),
    "weekday": ("all", lambda day, key: (day + 3) % 7),  # 1970-01-01 was a Thursday; Monday = 0
    "hour": ("hour", _same),
    "wdhour": ("hour", lambda day, key: ((day + 3) % 7, key)),
}
"""View -> (day-grain dim, group key of a day cell)."""
_MONTH_VIEWS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "all": ("all", _same_key),
    "weekday": ("weekday", _same_key),
    "hour": ("wdhour", lambda key: key % 24),
    "wdhour": ("wdhour", lambda key: divmod(key, 24)),
}
"""View -> (month-grain dim, group key of a month cell); ``day`` has no month grain."""


def _runs(days: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive days as (first, last) runs: one range query each."""
    runs: list[tuple[int, int]] = []
    for d in days:
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


class Metrics:
    """Figures over one event log.

    ``conn`` is any sqlite3 connection to the hub's database (reads only, apart from
    creating missing indexes once).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        timezone: str = "UTC",
        target_greet_s: float = 60.0,
        staff_names: dict[str, str] | None = None,
        create_indexes: bool = True,
    ) -> None:
        self.conn = conn
        self.timezone = timezone
        self.target = float(target_greet_s)
        self.names = staff_names or {}
        self._cache: dict[tuple[Period, str], list[tuple[Any, Cell]]] | None = None
        self._live_dims: set[str] | None = None
        """Groupings the live days' cells are built for (None: all); a report sets the ones it shows."""
        if create_indexes:
            ensure_indexes(conn)
            ensure_kept(conn, timezone)
            ensure_indexes(conn)  # an index on a column the upgrade just added

    # --- building blocks -----------------------------------------------------------

    def _key(self, by: str | None, p: Period) -> str:
        if by is None:
            return "'all'"
        local = local_ts_sql(p)
        # Integer arithmetic on local seconds: several times faster than strftime() per row.
        return {
            "hour": f"(cast({local} / 3600 AS int) % 24)",
            "day": f"cast({local} / 86400 AS int)",
            "weekday": f"((cast({local} / 86400 AS int) + 3) % 7)",  # 1970-01-01 was a Thursday; Monday = 0
            "zone": "coalesce(zone, '(none)')",
            "device": "coalesce(device, '(none)')",
            "staff": _taker(),
            "reason": "coalesce(reason, '(none)')",
            "outcome": "coalesce(outcome, '(none)')",  # what staff picked at Resolved ([web] outcomes)
        }[by]

    def quantiles(
        self,
        key: str,
        value: str,
        p: Period,
        ps: Iterable[float],
        where: str = "",
        counts: dict[Any, int] | None = None,
    ) -> dict[Any, list[float | None]]:
        """Type-7 quantiles ``ps`` of ``value`` per ``key`` group, by ordered streaming.

        With each group's count known, the ranks each quantile needs are known; one
        ``ORDER BY key, value`` pass then keeps only those values, so Python holds two
        numbers per quantile per group whatever the number of calls.  (Faster than
        ``row_number() OVER (PARTITION BY ...)`` in SQLite, which makes two window passes.)
        """
        ps = list(ps)
        base = f"FROM calls WHERE opened_ts >= ? AND opened_ts < ? AND {value} IS NOT NULL {where}"
        args = (p.start_ts, p.end_ts)
        if counts is None:
            counts = dict(self.conn.execute(f"SELECT {key} AS g, count(*) {base} GROUP BY g", args).fetchall())
        # For each group: the ranks to keep, and for each quantile (k, fraction).
        plans: dict[Any, list[tuple[int, float]]] = {}
        wanted: dict[Any, set[int]] = {}
        for g, n in counts.items():
            if not n:
                continue
            plan = []
            for q in ps:
                h = (n - 1) * q
                k = math.floor(h + 1e-9)  # guard against (n-1)*q landing a hair below an integer
                frac = max(0.0, h - k)
                plan.append((k, frac))
            plans[g] = plan
            wanted[g] = {k for k, f in plan} | {k + 1 for k, f in plan if f > 0}
        kept: dict[Any, dict[int, float]] = {g: {} for g in plans}
        current, i, need, store = object(), 0, set(), {}
        for g, v in self.conn.execute(f"SELECT {key} AS g, {value} AS v {base} ORDER BY g, v", args):
            if g != current:
                current, i = g, 0
                need, store = wanted.get(g, set()), kept.setdefault(g, {})
            if i in need:
                store[i] = v
            i += 1
        out: dict[Any, list[float | None]] = {}
        for g, plan in plans.items():
            vals = kept[g]
            res: list[float | None] = []
            for k, frac in plan:
                lo = vals.get(k)
                if lo is None:  # the log changed between the two queries: rank k no longer exists
                    res.append(None)
                    continue
                hi = vals.get(k + 1, lo)
                res.append(_r(lo + frac * (hi - lo), 3))
            out[g] = res
        return out

    def _declines_by_staff(self, p: Period) -> dict[str, int]:
        """Calls of the period each colleague declined (the ``declined`` JSON list of each call).

        Read from ``calls`` rather than the ``declined`` events so it stays on the covering
        index; an index on events(kind, ts) would cost ~40 bytes for every event logged.
        """
        sql = (
            "SELECT j.value, count(*) FROM calls, json_each(calls.declined) AS j "
            "WHERE opened_ts >= ? AND opened_ts < ? AND declines > 0 GROUP BY j.value"
        )
        return dict(self.conn.execute(sql, (p.start_ts, p.end_ts)).fetchall())

    # --- figures ---------------------------------------------------------------------

    # --- kept cells (broker.hub.reportcells) -------------------------------------------

    def _cells(self, p: Period, view: str, arrays: tuple[str, ...] = ARRAYS) -> list[tuple[Any, Cell]]:
        """(group key, cell) of ``view`` over the period, from the coarsest kept grain that is exact.

        Views: ``all``, ``day``, ``weekday``, ``hour``, ``wdhour`` (key (weekday, hour)), ``declined``
        and the plain groupings.  Whole months come from ``report_month_cells`` when none of their
        sealed days was written since; other days from ``report_cells``; live days from the rows.
        Kept cells carry only ``arrays`` (the others empty): a view that needs fewer reads less.
        """
        cache_key = (p, view, arrays)
        if self._cache is not None and cache_key in self._cache:
            return self._cache[cache_key]
        days = LocalDays(self.timezone)
        first, last = days.day_hour(p.start_ts)[0], days.day_hour(p.end_ts - 1)[0]
        live, kept = self._live_days(first, last)
        dim, day_key = _DAY_VIEWS.get(view, (view, _same))
        out: list[tuple[Any, Cell]] = []
        months = self._usable_months(first, last, live) if kept and view != "day" else []
        if months:
            mdim, month_key = _MONTH_VIEWS.get(view, (view, _same_key))
            columns = cell_columns("month", arrays)
            sql = f"SELECT {columns} FROM report_month_cells WHERE dim = ? AND month >= ? AND month <= ?"
            wanted = set(months)
            for row in self.conn.execute(sql, (mdim, months[0], months[-1])):
                if row[0] in wanted:
                    out.append((month_key(row[2]), cell_from_row(row[3:])))
        covered = {d for m in months for d in range(m, month_end(m))}
        if kept:
            sql = f"SELECT {cell_columns('day', arrays)} FROM report_cells WHERE dim = ? AND day >= ? AND day <= ?"
            for lo, hi in _runs(d for d in range(first, last + 1) if d not in covered and d not in live):
                for row in self.conn.execute(sql, (dim, lo, hi)):
                    out.append((day_key(row[0], row[2]), cell_from_row(row[3:])))
        full = set(arrays) >= set(ARRAYS)
        for day, d, key, c in self._live_cells(p, live, days):
            if d == dim:
                # The same times as a kept cell read for this view, so a day gives one answer, sealed or live.
                out.append((day_key(day, key), c if full else _only(c, arrays)))
        if self._cache is not None:
            self._cache[cache_key] = out
        return out

    def _live_cells(self, p: Period, live: set[int], days: LocalDays) -> list[tuple[int, str, Any, Cell]]:
        """Cells of the live days computed from the call rows (once per report, shared by every view)."""
        cache_key = (p, "(live)")
        if self._cache is not None and cache_key in self._cache:
            return self._cache[cache_key]  # type: ignore[return-value]
        out: list[tuple[int, str, Any, Cell]] = []
        if live:
            lo, hi = max(p.start_ts, (min(live) - 1) * 86400.0), min(p.end_ts, (max(live) + 2) * 86400.0)
            rows = self.conn.execute(ROW_SQL + " WHERE opened_ts >= ? AND opened_ts < ?", (lo, hi))
            out = [
                (day, dim, key, c)
                for (day, dim, key), c in build_cells(rows, self.timezone, days, self._live_dims).items()
                if day in live
            ]
        if self._cache is not None:
            self._cache[cache_key] = out  # type: ignore[assignment]
        return out

    def _live_days(self, first: int, last: int) -> tuple[set[int], bool]:
        """Local days to compute from the call rows (today, or written since sealed), and whether cells are kept."""
        if not kept_ready(self.conn, self.timezone):
            return set(range(first, last + 1)), False
        return live_days(self.conn, self.timezone, first, last), True

    def _usable_months(self, first: int, last: int, live: set[int]) -> list[int]:
        """Months wholly inside [first, last] whose kept merge is exact: none of their live days was sealed before.

        A live day never sealed (today) is simply not in the month's merge; one sealed and written since
        is, with its old figures: that month is read day by day until the hub seals the day again.
        """
        months = []
        m = month_of(first)
        if m < first:
            m = month_end(m)
        while month_end(m) - 1 <= last:
            months.append(m)
            m = month_end(m)
        stale = set()
        if live and months:
            marks = ", ".join("?" * len(live))
            sql = f"SELECT DISTINCT day FROM report_cells WHERE dim = 'all' AND day IN ({marks})"
            stale = {month_of(d) for (d,) in self.conn.execute(sql, sorted(live))}
        return [m for m in months if m not in stale]

    def _grouped(self, p: Period, by: str | None, arrays: tuple[str, ...] = ARRAYS) -> dict[Any, list[Cell]]:
        groups: dict[Any, list[Cell]] = {}
        for g, c in self._cells(p, by or "all", arrays):
            groups.setdefault(g, []).append(c)
        return groups

    def _figures(self, label: str, cells: list[Cell], now_ts: float, declines: int | None = None) -> Figures:
        t = Cell()
        for c in cells:
            for name in COUNTERS:
                setattr(t, name, getattr(t, name) + getattr(c, name))
        ack = [c.ack for c in cells if len(c.ack)]
        greet = [c.greet for c in cells if len(c.greet)]
        gave_up = [c.gave_up for c in cells if len(c.gave_up)]
        greeted = sum(len(a) for a in greet)
        within = sum(bisect_right(a, self.target) for a in greet)
        waiting = [ts for c in cells for ts in c.waiting]
        judged = t.calls - len(waiting) + sum(1 for ts in waiting if now_ts - ts > self.target)
        ack_q, greet_q, gave_q = _quantiles(ack, (0.5, 0.9)), _quantiles(greet, (0.5, 0.9)), _quantiles(gave_up, (0.5,))
        past_q = _quantiles([c.excess for c in cells if len(c.excess)], (0.5, 0.9))
        return Figures(
            key=label,
            calls=t.calls,
            open=t.open,
            greeted=greeted,
            ack_median=ack_q[0],
            ack_p90=ack_q[1],
            ack_max=_r(max(a[-1] for a in ack), 3) if ack else None,
            greet_median=greet_q[0],
            greet_p90=greet_q[1],
            greet_max=_r(max(a[-1] for a in greet), 3) if greet else None,
            within_target=within,
            within_target_share=_r(within / judged, 4) if judged else None,
            unattended=t.unattended,
            cancelled=t.cancelled,
            cancelled_wait_median=gave_q[0],
            cancelled_wait_max=_r(max(a[-1] for a in gave_up), 3) if gave_up else None,
            repeat_presses=t.repeat_presses,
            escalations=t.escalations,
            feedback_avg=_r(t.feedback_sum / t.feedback_count, 2) if t.feedback_count else None,
            feedback_count=t.feedback_count,
            declines=t.declines if declines is None else declines,
            promised=t.promised,
            promises_kept=t.kept,
            promises_kept_share=_r(t.kept / t.promised, 4) if t.promised else None,
            past_promise_median=past_q[0],
            past_promise_p90=past_q[1],
        )

    # --- figures ---------------------------------------------------------------------

    def groups(
        self, p: Period, by: str | None = None, now: float | None = None, arrays: tuple[str, ...] = ARRAYS
    ) -> list[Figures]:
        """Figures per group of ``by`` (one group "all" when None), ordered by key.

        ``now`` (unix time) lets calls still open count against the promise once they
        have waited past it; without it open calls are left out of the share.  ``arrays``
        limits the times read (the others' figures are None): the day trend reads greetings only.
        """
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
        now_ts = -1.0 if now is None else float(now)
        groups = self._grouped(p, by, arrays)
        declines: dict[str, int] | None = None
        if by == "staff":
            declines = {}
            for key, c in self._cells(p, "declined", ()):
                declines[key] = declines.get(key, 0) + c.declines
        out = []
        for g in sorted(groups):
            dec = declines.get(g, 0) if declines is not None else None
            out.append(self._figures(_label(by, g), groups[g], now_ts, dec))
        if declines is not None:
            # Colleagues who only declined in this period still show, with their declines.
            seen = {f.key for f in out}
            out.extend(Figures(key=s, declines=n) for s, n in sorted(declines.items()) if s not in seen and n)
        return out

    def figures(self, p: Period, now: float | None = None) -> Figures:
        """All calls of the period as one group (zeros and Nones when there were none)."""
        rows = self.groups(p, None, now)
        return rows[0] if rows else Figures(key="all")

    def heatmap(self, p: Period) -> Heatmap:
        """Calls and median greeting time by weekday x hour: where the customers are."""
        hm = Heatmap()
        cells: dict[tuple[int, int], list[Cell]] = {}
        for wd_hour, c in self._cells(p, "wdhour", ("greet",)):
            cells.setdefault(wd_hour, []).append(c)
        for (wd, hour), cs in cells.items():
            hm.calls[wd][hour] = sum(c.calls for c in cs)
            hm.greet_median[wd][hour] = _quantiles([c.greet for c in cs if len(c.greet)], (0.5,))[0]
        return hm

    def distribution(self, p: Period) -> list[tuple[str, int]]:
        """How long greeted customers waited (buckets of DISTRIBUTION_EDGES), then those who gave up or were left."""
        edges = DISTRIBUTION_EDGES
        labels = [f"{a}-{b}s" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}s+"]
        cells = [c for _, c in self._cells(p, "all")]
        below = [sum(bisect_left(c.greet, b) for c in cells) for b in edges[1:]]
        greeted = sum(len(c.greet) for c in cells)
        counts = [below[0]] + [b - a for a, b in zip(below, below[1:], strict=False)] + [greeted - below[-1]]
        counts += [sum(c.cancelled for c in cells), sum(c.left for c in cells)]
        return list(zip([*labels, "gave up", "unattended"], counts, strict=True))

    def calibration(self, p: Period) -> list[Calibration]:
        """Shown vs actual: per bucket of the greeting first promised, how often it held and what came."""
        groups: dict[int, list[Cell]] = {}
        for key, c in self._cells(p, "promise", ("greet",)):
            groups.setdefault(int(key), []).append(c)
        out = []
        for key in sorted(groups):
            cs = groups[key]
            promised, kept = sum(c.promised for c in cs), sum(c.kept for c in cs)
            q = _quantiles([c.greet for c in cs if len(c.greet)], (0.5, 0.9))
            out.append(Calibration(key, promised, _r(kept / promised, 4) if promised else None, q[0], q[1]))
        return out

    def beat_promise(self, staff: list[Figures], top: int = 3) -> list[ShoutOut]:
        """Colleagues whose median greeting came before the time the customer was shown (value: seconds early)."""
        people = [
            f
            for f in staff
            if f.key != "(nobody)"
            and f.promised >= SHOUTOUT_MIN_CALLS
            and f.past_promise_median is not None
            and f.past_promise_median < 0
        ]
        people.sort(key=lambda f: (f.past_promise_median, -f.promised, f.key))
        return [
            ShoutOut(f.key, self.names.get(f.key, f.key), -(f.past_promise_median or 0.0), f.promised)
            for f in people[:top]
        ]

    def shoutouts(self, staff: list[Figures], top: int = 3) -> tuple[list[ShoutOut], list[ShoutOut]]:
        """The fastest greeters (median) and the happiest faces (average) among colleagues with enough calls.

        Only what is worth celebrating: a median greeting within the promise, faces on the happy side (>= 3).
        """
        people = [f for f in staff if f.key != "(nobody)"]
        fast = sorted(
            (
                f
                for f in people
                if f.greeted >= SHOUTOUT_MIN_CALLS and f.greet_median is not None and f.greet_median <= self.target
            ),
            key=lambda f: (f.greet_median, -f.greeted, f.key),
        )
        happy = sorted(
            (f for f in people if f.feedback_count >= SHOUTOUT_MIN_FACES and (f.feedback_avg or 0) >= 3),
            key=lambda f: (-f.feedback_avg, -f.feedback_count, f.key),
        )

        def shout(f: Figures, value: float, n: int) -> ShoutOut:
            return ShoutOut(f.key, self.names.get(f.key, f.key), value, n)

        return (
            [shout(f, f.greet_median, f.greeted) for f in fast[:top]],
            [shout(f, f.feedback_avg, f.feedback_count) for f in happy[:top]],
        )

    def report(self, p: Period, by: str | None = None, now: float | None = None) -> Report:
        """Everything ``staffcall report`` shows for one period."""
        self._cache = {}  # one read of each grouping's cells for the whole report
        # The live cells are built once for the whole report: only for the groupings it shows.
        self._live_dims = {
            "all",
            "hour",
            "staff",
            "declined",
            "promise",
            _DAY_VIEWS.get(by or "all", (by or "all",))[0],
        }
        try:
            return self._report(p, by, now)
        finally:
            self._cache = None
            self._live_dims = None

    def _report(self, p: Period, by: str | None, now: float | None) -> Report:
        staff = self.groups(p, "staff", now)
        fastest, happiest = self.shoutouts(staff)
        return Report(
            period=p,
            by=by,
            target_greet_s=self.target,
            total=self.figures(p, now),
            groups=self.groups(p, by, now) if by else [],
            staff=staff,
            fastest=fastest,
            happiest=happiest,
            heatmap=self.heatmap(p),
            distribution=self.distribution(p),
            # Per day: calls, greetings and the promise (all a trend shows), not every time of the year again.
            trend=self.groups(p, "day", now, TREND_ARRAYS),
            staff_names=dict(self.names),
            calibration=self.calibration(p),
            beat_promise=self.beat_promise(staff),
        )


def open_metrics(
    path: str,
    timezone: str,
    target_greet_s: float,
    staff_names: dict[str, str] | None = None,
    create_indexes: bool = True,
    rebuild: bool = False,
) -> Metrics:
    """Open the hub's database file for reports; raise FileNotFoundError with the fix when it is missing."""
    import os

    if path != ":memory:" and not os.path.exists(path):
        raise FileNotFoundError(
            f"no event log at {path}; check [database] path in the config, or run the hub once to create it"
        )
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    if create_indexes:
        _upgrade_with_progress(conn, timezone, rebuild)
    return Metrics(conn, timezone, target_greet_s, staff_names, create_indexes)


def _upgrade_with_progress(conn: sqlite3.Connection, timezone: str, force: bool) -> None:
    """Build the kept cells of an older log (or again, ``--rebuild``), with a progress bar on stderr."""
    if kept_ready(conn, timezone) and not force:
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Preparing report data from the event log", total=None)
        ensure_kept(conn, timezone, lambda done, total: bar.update(task, completed=done, total=total), force=True)
