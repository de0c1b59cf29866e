"""Report data kept ready: each local day's calls summed per grouping, with their times kept sorted.

Why: a year's report over a million calls cannot afford to sort a million values per
figure.  A *cell* holds one (local day, grouping, key) of calls: exact counters, and the
exact ack / greet / gave-up times as sorted arrays of doubles.  Counts, shares and
averages are sums of cells; a percentile is the k-th value of a few sorted arrays
(``kth``), found by bisection without merging them.  Nothing is rounded, so every figure
is exactly what a pass over the calls would give (``broker.reports.metrics`` checks it).

Who writes: triggers on ``calls`` (made by ``create_schema``) mark the UTC quarter hour of
every written call in ``report_stale`` in the writer's own transaction, whoever the writer is.
The hub's event log seals the marked days before today, and each day once it has ended, in the
same transaction as the call rows (``seal_dirty``); a report reads sealed cells and computes
the other days (today, or a day written since) from the call rows.  The cells are derived:
``rebuild`` makes them again from ``calls``.

Example::

    >>> cells = build_cells([(1772442000.0, "resolved", 12.0, 42.0, 300.0, "toys", "k1", None, None,
    ...     "anna", "anna", 3, 0, 0, 0, None, 60.0)], "Europe/Stockholm")
    >>> c = cells[(20514, "staff", "anna")]
    >>> c.calls, list(c.greet)
    (1, [42.0])
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

OPEN = ("waiting", "acknowledged", "greeted")
DIMS = ("all", "hour", "zone", "device", "staff", "reason", "outcome", "declined", "promise")
"""Groupings kept per day; weekday, day and weekday x hour are days (and hours) regrouped.  ``promise``: the
greeting first promised (``eta_first_s``) in PROMISE_STEP_S buckets, for the calibration (shown vs actual)."""
MONTH_DIMS = ("all", "weekday", "wdhour", "zone", "device", "staff", "reason", "outcome", "declined", "promise")
"""Groupings kept per month: a month has no days left, so weekday and weekday x hour (key wd * 24 + hour) are kept."""
KEPT_VERSION = "4"
"""Bumped when the kept data changes shape: a log kept with another version is rebuilt on open."""
_EPOCH = date(1970, 1, 1)
PROMISE_STEP_S = 15
"""Width of the calibration's buckets of promised greeting times."""

ROW_COLUMNS = (
    "opened_ts",
    "status",
    "time_to_ack_s",
    "time_to_greet_s",
    "time_to_close_s",
    "zone",
    "device",
    "reason",
    "outcome",
    "greeted_by",
    "staff",
    "feedback_score",
    "repeat_presses",
    "escalated",
    "declines",
    "declined",
    "eta_first_s",
)
"""What the report cells are built from: the columns of ``ROW_SQL``, in order; the report index covers them."""
ROW_SQL = f"SELECT {', '.join(ROW_COLUMNS)} FROM calls"

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS report_cells (day INTEGER NOT NULL, dim TEXT NOT NULL, key NOT NULL, "
    "calls INTEGER, open INTEGER, unattended INTEGER, left INTEGER, cancelled INTEGER, repeat_presses INTEGER, "
    "escalations INTEGER, feedback_sum INTEGER, feedback_count INTEGER, declines INTEGER, promised INTEGER, "
    "kept INTEGER, waiting BLOB, ack BLOB, greet BLOB, gave_up BLOB, excess BLOB, "
    "PRIMARY KEY (dim, day, key)) WITHOUT ROWID",
    # The month grain: each local month's sealed day cells merged (``seal_months``), keyed by its first day.
    "CREATE TABLE IF NOT EXISTS report_month_cells (month INTEGER NOT NULL, dim TEXT NOT NULL, key NOT NULL, "
    "calls INTEGER, open INTEGER, unattended INTEGER, left INTEGER, cancelled INTEGER, repeat_presses INTEGER, "
    "escalations INTEGER, feedback_sum INTEGER, feedback_count INTEGER, declines INTEGER, promised INTEGER, "
    "kept INTEGER, waiting BLOB, ack BLOB, greet BLOB, gave_up BLOB, excess BLOB, "
    "PRIMARY KEY (dim, month, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS report_stale (quarter INTEGER PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS report_meta (key TEXT PRIMARY KEY, value TEXT)",
    # The first kept data marked whole UTC days, which overlap two local days: gone, with its triggers.
    *(f"DROP TRIGGER IF EXISTS report_dirty_{op}" for op in ("insert", "update", "delete")),
    "DROP TABLE IF EXISTS report_dirty",
    # Any write to a call marks its UTC quarter hour, in the writer's transaction: kept cells can never
    # silently lag.  A quarter hour lies in one local day (zones are offset by whole quarter hours).
    # (Not INSERT OR IGNORE: inside a trigger the outer statement's conflict rule wins, and the hub upserts.)
    *(
        f"CREATE TRIGGER IF NOT EXISTS report_stale_{op.lower()} AFTER {op} ON calls BEGIN "
        + "".join(
            f"INSERT INTO report_stale SELECT CAST({row}.opened_ts / 900 AS INTEGER) WHERE NOT EXISTS "
            f"(SELECT 1 FROM report_stale WHERE quarter = CAST({row}.opened_ts / 900 AS INTEGER)); "
            for row in rows
        )
        + "END"
        for op, rows in (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",)))
    ),
]


REPORT_INDEX = "idx_calls_report_" + format(zlib.crc32(",".join(ROW_COLUMNS).encode()), "08x")
"""Covering: every column of ``ROW_SQL``, in opened_ts order, so the day report reads this narrow index and
never the wide rows (JSON lists, free text) of the table.  Named by its columns, so a column added to
``ROW_COLUMNS`` makes a new index and the hub drops the one it replaces (``stale_report_indexes``)."""
REPORT_INDEXES = {REPORT_INDEX: f"calls({', '.join(ROW_COLUMNS)})"}
"""Indexes for ``broker.reports.metrics``; the hub makes them (``create_schema``) as the event log's one writer.

Here, not in ``eventlog``, so a report need not import sqlite-utils for one constant."""


def stale_report_indexes(conn: sqlite3.Connection) -> list[str]:
    """Report indexes an older version made that ``REPORT_INDEXES`` replaces (the writer drops them)."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_calls_report%'")
    return [name for (name,) in rows if name not in REPORT_INDEXES]


def create_report_schema(conn: sqlite3.Connection) -> None:
    for sql in SCHEMA:
        conn.execute(sql)


@dataclass
class Cell:
    """One (local day, grouping, key) of calls: exact counters and sorted times."""

    calls: int = 0
    open: int = 0
    unattended: int = 0
    left: int = 0
    """Unattended and never greeted: the distribution's "unattended" bar."""
    cancelled: int = 0
    repeat_presses: int = 0
    escalations: int = 0
    feedback_sum: int = 0
    feedback_count: int = 0
    declines: int = 0
    promised: int = 0
    """Calls judged against the first promise (``eta_first_s``): greeted, or closed ungreeted after it."""
    kept: int = 0
    """Of those, greeted within it."""
    waiting: array = field(default_factory=lambda: array("d"))
    """opened_ts of open calls nobody greeted yet: they count against the promise once past it."""
    ack: array = field(default_factory=lambda: array("d"))
    greet: array = field(default_factory=lambda: array("d"))
    gave_up: array = field(default_factory=lambda: array("d"))
    excess: array = field(default_factory=lambda: array("d"))
    """Greeted minus promised (s) of greeted calls with a promise: negative is early."""

    def add(self, other: Cell) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ARRAYS:
            getattr(self, name).extend(getattr(other, name))


COUNTERS = (
    "calls",
    "open",
    "unattended",
    "left",
    "cancelled",
    "repeat_presses",
    "escalations",
    "feedback_sum",
    "feedback_count",
    "declines",
    "promised",
    "kept",
)
ARRAYS = ("waiting", "ack", "greet", "gave_up", "excess")


class LocalDays:
    """Unix time -> (local day number, local hour), caching each UTC hour's offset (zones change on the hour)."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._offsets: dict[int, int] = {}

    def offset(self, ts: float) -> int:
        # Zones change offset on a quarter hour at most: cache per 15 minutes of UTC.
        q = int(ts // 900)
        off = self._offsets.get(q)
        if off is None:
            utc_off = datetime.fromtimestamp(ts, self.tz).utcoffset()
            off = int(utc_off.total_seconds()) if utc_off is not None else 0
            self._offsets[q] = off
        return off

    def day_hour(self, ts: float) -> tuple[int, int]:
        local = ts + self.offset(ts)
        return int(local // 86400), int(local // 3600) % 24


def _taker(greeted_by: Any, ack: Any, staff: Any) -> str:
    """Who took a call: who greeted it, else who acknowledged it (never a colleague only paged)."""
    if greeted_by is not None:
        return str(greeted_by)
    if ack is not None and staff is not None:
        return str(staff)
    return "(nobody)"


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, (bytes, str)):
        try:
            return None if x is None else float(x)
        except ValueError:
            return None
    return float(x)


def build_cells(
    rows: Iterable[Sequence[Any]], timezone: str, days: LocalDays | None = None, dims: Collection[str] | None = None
) -> dict[tuple, Cell]:
    """Cells of ``rows`` (columns of ``ROW_SQL``), arrays sorted; keyed (local day, dim, key).

    ``dims`` (default: all, as sealing needs) limits the groupings built: a report of today
    builds only the ones it shows, on every run.  Each row is reduced once to the facts a cell
    sums and listed under each of its keys; each cell then sums its columns at C speed
    (``zip``/``sum``), which halves the day report's time over updating every cell row by row.
    """
    days = days or LocalDays(timezone)
    offsets = days._offsets
    want = {d: dims is None or d in dims for d in ("all", "hour", "zone", "device", "staff", "reason", "outcome")}
    w_all, w_hour, w_zone, w_device, w_staff, w_reason, w_outcome = want.values()
    want_declined = dims is None or "declined" in dims
    want_promise = dims is None or "promise" in dims
    facts: dict[tuple, list[tuple]] = {}
    declined_by: dict[tuple, int] = {}
    # The hub writes floats, ints and NULLs; anything else (a hand-edited row) goes through _num.
    for (
        opened,
        status,
        ack,
        greet,
        close,
        zone,
        device,
        reason,
        outcome,
        greeted_by,
        staff,
        fb,
        rep,
        esc,
        dec,
        declined,
        promise,
    ) in rows:
        if opened.__class__ is not float:
            opened = _num(opened)
            if opened is None:
                continue  # a row without a time belongs to no period (the SQL reports skip it too)
        off = offsets.get(int(opened // 900))
        local = opened + (days.offset(opened) if off is None else off)
        day, hour = int(local // 86400), int(local // 3600) % 24
        if ack is not None and ack.__class__ is not float:
            ack = _num(ack)
        if greet is not None and greet.__class__ is not float:
            greet = _num(greet)
        if close is not None and close.__class__ is not float:
            close = _num(close)
        is_open, cancelled, unattended = status in OPEN, status == "cancelled", status == "unattended"
        not_greeted = greet is None
        gave_up = not_greeted and cancelled
        if dec.__class__ is not int:
            dec = int(_num(dec) or 0)
        if fb is not None:
            fb = _num(fb)
        if promise is not None and promise.__class__ is not float:
            promise = _num(promise)
        # Judged against the first promise: greeted (kept or not), or closed ungreeted after it (broken).
        # A customer who cancelled before the time shown, or still waits, is not judged.
        judged, kept, excess = False, False, None
        if promise is not None:
            if greet is not None:
                judged, kept, excess = True, greet <= promise, greet - promise
            else:
                judged = close is not None and close > promise
        fact = (  # the columns summed below, by position
            is_open,
            opened if is_open and not_greeted else None,  # waiting
            ack,
            greet,
            gave_up,  # cancelled (never greeted)
            close if gave_up else None,  # gave_up
            unattended,
            unattended and not_greeted,  # left
            rep if rep.__class__ is int else int(_num(rep) or 0),
            esc if esc.__class__ is int else int(_num(esc) or 0),
            0 if fb is None else int(fb),
            fb is not None,
            dec,
            judged,  # promised
            kept,
            excess,  # greeted - promised
        )
        if w_all:
            facts.setdefault((day, "all", "all"), []).append(fact)
        if w_hour:
            facts.setdefault((day, "hour", hour), []).append(fact)
        if w_zone:
            facts.setdefault((day, "zone", "(none)" if zone is None else zone), []).append(fact)
        if w_device:
            facts.setdefault((day, "device", "(none)" if device is None else device), []).append(fact)
        if w_staff:
            facts.setdefault((day, "staff", _taker(greeted_by, ack, staff)), []).append(fact)
        if w_reason:
            facts.setdefault((day, "reason", "(none)" if reason is None else reason), []).append(fact)
        if w_outcome:
            facts.setdefault((day, "outcome", "(none)" if outcome is None else outcome), []).append(fact)
        if judged and want_promise and promise is not None:
            facts.setdefault((day, "promise", int(promise // PROMISE_STEP_S) * PROMISE_STEP_S), []).append(fact)
        if dec > 0 and declined and want_declined:
            try:
                who = json.loads(declined)
            except (TypeError, ValueError):
                who = []
            for s in who if isinstance(who, list) else []:
                declined_by[(day, "declined", str(s))] = declined_by.get((day, "declined", str(s)), 0) + 1
    cells: dict[tuple, Cell] = {}
    for k, listed in facts.items():
        col = list(zip(*listed, strict=True))
        if k[1] == "promise":  # the calibration reads its counts and greetings only: nothing else to store
            cells[k] = Cell(calls=len(listed), promised=sum(col[13]), kept=sum(col[14]), greet=_sorted(col[3]))
            continue
        cells[k] = Cell(
            calls=len(listed),
            open=sum(col[0]),
            unattended=sum(col[6]),
            left=sum(col[7]),
            cancelled=sum(col[4]),
            repeat_presses=sum(col[8]),
            escalations=sum(col[9]),
            feedback_sum=sum(col[10]),
            feedback_count=sum(col[11]),
            declines=sum(col[12]),
            promised=sum(col[13]),
            kept=sum(col[14]),
            waiting=_sorted(col[1]),
            ack=_sorted(col[2]),
            greet=_sorted(col[3]),
            gave_up=_sorted(col[5]),
            excess=_sorted(col[15]),
        )
    # "declined" is a grouping of its own (by who declined), never one of a row's keys above.
    cells.update((k, Cell(declines=n)) for k, n in declined_by.items())
    return cells


def _sorted(values: tuple[float | None, ...]) -> array:
    return array("d", sorted([v for v in values if v is not None]))


# --- storage -------------------------------------------------------------------------------


def _to_row(day: int, dim: str, key: Any, c: Cell) -> tuple:
    return (day, dim, key, *(getattr(c, n) for n in COUNTERS), *(getattr(c, n).tobytes() for n in ARRAYS))


def cell_from_row(row: Sequence[Any]) -> Cell:
    """A Cell from the columns after (day, dim, key) of ``report_cells`` (``cell_columns``: an array not
    read comes as NULL and stays empty)."""
    c = Cell(*row[: len(COUNTERS)])
    for name, blob in zip(ARRAYS, row[len(COUNTERS) :], strict=True):
        if blob:
            a = array("d")
            a.frombytes(blob)
            setattr(c, name, a)
    return c


def cell_columns(grain: str, arrays: Collection[str] = ARRAYS) -> str:
    """The SELECT list of a cells table (``grain``: ``day`` or ``month``), reading only the ``arrays`` wanted.

    The arrays are most of what a cell weighs (a year's greetings are 8 MB per grouping): a view
    that shows only counts and median greetings (the heatmap, the calibration) reads only those.
    """
    return ", ".join([grain, "dim", "key", *COUNTERS, *(a if a in arrays else "NULL" for a in ARRAYS)])


_INSERT = f"INSERT OR REPLACE INTO report_cells VALUES ({', '.join('?' * (3 + len(COUNTERS) + len(ARRAYS)))})"
_INSERT_MONTH = _INSERT.replace("report_cells", "report_month_cells")


def seal_days(conn: sqlite3.Connection, timezone: str, local_days: Iterable[int], days: LocalDays | None = None) -> int:
    """Compute and store the cells of ``local_days`` from ``calls`` (caller commits).  Returns calls read."""
    days = days or LocalDays(timezone)
    n = 0
    for d in sorted(set(local_days)):
        # The local day d spans [d*86400 - offset, ...): read a margin around it and keep the day's own rows.
        lo, hi = (d - 1) * 86400, (d + 2) * 86400
        rows = [
            r
            for r in conn.execute(ROW_SQL + " WHERE opened_ts >= ? AND opened_ts < ?", (lo, hi))
            if days.day_hour(float(r[0]))[0] == d
        ]
        n += len(rows)
        conn.execute("DELETE FROM report_cells WHERE day = ?", (d,))
        conn.executemany(
            _INSERT, [_to_row(d, dim, key, c) for (_, dim, key), c in build_cells(rows, timezone, days).items()]
        )
    return n


def today_local(timezone: str, now: float) -> int:
    return LocalDays(timezone).day_hour(now)[0]


def month_of(day: int) -> int:
    """The first local day (day number) of the month that holds local day ``day``."""
    return ((_EPOCH + timedelta(days=day)).replace(day=1) - _EPOCH).days


def month_end(month: int) -> int:
    """The first local day of the month after the one starting on local day ``month``."""
    return month_of(month + 31)


def merge_month(day_cells: Iterable[tuple[int, str, Any, Cell]]) -> dict[tuple[str, Any], Cell]:
    """Month cells (dim, key) of a month's day cells (day, dim, key, cell): counters summed, arrays merged sorted."""
    out: dict[tuple[str, Any], Cell] = {}

    def into(dim: str, key: Any, c: Cell) -> None:
        m = out.get((dim, key))
        if m is None:
            m = out[(dim, key)] = Cell()
        m.add(c)

    for day, dim, key, c in day_cells:
        if dim == "all":
            into("all", key, c)
            into("weekday", (day + 3) % 7, c)  # 1970-01-01 was a Thursday; Monday = 0
        elif dim == "hour":
            into("wdhour", ((day + 3) % 7) * 24 + int(key), c)
        else:
            into(dim, key, c)
    for c in out.values():
        for name in ARRAYS:
            setattr(c, name, array("d", sorted(getattr(c, name))))  # runs of sorted days: timsort merges them
    return out


def seal_months(conn: sqlite3.Connection, months: Iterable[int]) -> None:
    """Merge the sealed day cells of each month (first days) into ``report_month_cells`` (caller commits)."""
    dims = ", ".join("?" * len(DIMS))
    for m in sorted(set(months)):
        rows = conn.execute(
            f"SELECT * FROM report_cells WHERE dim IN ({dims}) AND day >= ? AND day < ?", (*DIMS, m, month_end(m))
        )
        merged = merge_month((r[0], r[1], r[2], cell_from_row(r[3:])) for r in rows)
        conn.execute("DELETE FROM report_month_cells WHERE month = ?", (m,))
        conn.executemany(_INSERT_MONTH, [_to_row(m, dim, key, c) for (dim, key), c in merged.items()])


def kept_ready(conn: sqlite3.Connection, timezone: str) -> bool:
    """Whether the kept data is built, for this zone and in this version (else reports read the rows)."""
    try:
        meta = dict(conn.execute("SELECT key, value FROM report_meta WHERE key IN ('timezone', 'version')"))
    except sqlite3.OperationalError:  # a log older than kept data (opened read-only, or not upgraded yet)
        return False
    return meta.get("timezone") == timezone and meta.get("version") == KEPT_VERSION


def seal_dirty(conn: sqlite3.Connection, timezone: str, now: float) -> list[int]:
    """Seal the local days marked dirty that ended before today, and their months (caller's transaction).

    Today stays live.  A month is merged again from its day cells whenever one of its days is sealed:
    once a night for yesterday's month (a few hundred milliseconds at a busy store's 90,000 calls a month).
    """
    if not kept_ready(conn, timezone):
        return []  # not built yet (or for another zone): ``rebuild`` first; reports read live meanwhile
    days = LocalDays(timezone)
    today = days.day_hour(now)[0]
    through = sealed_through(conn, today - 1)
    (oldest,) = conn.execute("SELECT min(quarter) FROM report_stale").fetchone()
    if through >= today - 1 and (oldest is None or days.day_hour(oldest * 900.0)[0] >= today):
        return []  # the usual commit: only today was written, and today stays live; nothing to do
    stale = {days.day_hour(q * 900.0)[0] for (q,) in conn.execute("SELECT quarter FROM report_stale")}
    ready = {d for d in stale if d < today} | set(range(through + 1, today))
    seal_days(conn, timezone, ready, days)
    seal_months(conn, {month_of(d) for d in ready})
    # Every marked day before today is sealed now, and days after ``sealed_through`` are read live.
    conn.execute("DELETE FROM report_stale")
    conn.execute("INSERT OR REPLACE INTO report_meta VALUES ('sealed_through', ?)", (str(max(through, today - 1)),))
    return sorted(ready)


def sealed_through(conn: sqlite3.Connection, default: int) -> int:
    """The last local day sealed in order (later days are live until the hub seals them after they end)."""
    row = conn.execute("SELECT value FROM report_meta WHERE key = 'sealed_through'").fetchone()
    return default if row is None else int(row[0])


def live_days(conn: sqlite3.Connection, timezone: str, first: int, last: int) -> set[int]:
    """Local days in [first, last] a report reads from the rows: after ``sealed_through``, or written since."""
    days = LocalDays(timezone)
    through = sealed_through(conn, first - 1)
    live = set(range(max(first, through + 1), last + 1))
    for (q,) in conn.execute("SELECT quarter FROM report_stale"):
        d = days.day_hour(q * 900.0)[0]
        if first <= d <= last:
            live.add(d)
    return live


def rebuild(
    conn: sqlite3.Connection, timezone: str, now: float, progress: Callable[[int, int], None] | None = None
) -> int:
    """Make every cell again from ``calls`` (the kept data is derived, never the only copy).  Returns days sealed."""
    with conn:
        # The cells' shape may have changed since they were kept (``KEPT_VERSION``): made anew.
        conn.execute("DROP TABLE IF EXISTS report_cells")
        conn.execute("DROP TABLE IF EXISTS report_month_cells")
        create_report_schema(conn)
    derive_promises(conn)
    days = LocalDays(timezone)
    first, last = conn.execute("SELECT min(opened_ts), max(opened_ts) FROM calls").fetchone()
    today = days.day_hour(now)[0]
    with conn:
        conn.execute("DELETE FROM report_stale")
        conn.execute("DELETE FROM report_meta")
    if first is None:
        todo: list[int] = []
    else:
        todo = list(range(days.day_hour(float(first))[0], min(days.day_hour(float(last))[0], today - 1) + 1))
    months = sorted({month_of(d) for d in todo})
    done, total = 0, len(todo) + len(months)
    for i in range(0, len(todo), 7):
        week = todo[i : i + 7]
        with conn:
            seal_days(conn, timezone, week, days)
        done += len(week)
        if progress:
            progress(done, total)
    for m in months:
        with conn:
            seal_months(conn, [m])
        done += 1
        if progress:
            progress(done, total)
    with conn:
        # Days after it (today, and later ones) are read live from the rows.
        conn.execute("INSERT OR REPLACE INTO report_meta VALUES ('sealed_through', ?)", (str(today - 1),))
        conn.execute("INSERT OR REPLACE INTO report_meta VALUES ('timezone', ?)", (timezone,))
        conn.execute("INSERT OR REPLACE INTO report_meta VALUES ('version', ?)", (KEPT_VERSION,))
    return len(todo)


def derive_promises(conn: sqlite3.Connection) -> int:
    """Fill ``eta_first_s``, ``eta_ack_s`` and ``eta_last_s`` of calls logged before the calls carried them.

    Read from the logged ``state`` events (the payloads the customer's device received): the
    first with an ``eta_s``, the first while acknowledged, the last.  A promise is the greeting
    time it stood for, counted from the opening: the hub's monotonic time of the event since the
    call's ``opened_mono`` (else the payload's whole-second ``waited_s``) plus its ``eta_s``.
    Returns the calls filled in.  Idempotent: calls that carry a promise are left alone.
    """
    have = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    with conn:  # a log the hub has not opened since the calls carried them (the hub adds them too)
        for name in ("eta_first_s", "eta_ack_s", "eta_last_s"):
            if name not in have:
                conn.execute(f"ALTER TABLE calls ADD COLUMN {name} FLOAT")
    sql = (
        "SELECT e.call_id, e.mono - c.opened_mono, json_extract(e.payload, '$.waited_s'), "
        "json_extract(e.payload, '$.eta_s'), json_extract(e.payload, '$.status') "
        "FROM events AS e JOIN calls AS c ON c.id = e.call_id "
        "WHERE e.kind = 'state' AND c.eta_first_s IS NULL AND json_valid(e.payload) "
        "AND json_extract(e.payload, '$.eta_s') IS NOT NULL ORDER BY e.call_id, e.id"
    )
    updates: list[tuple[float, float | None, float, str]] = []
    current: str | None = None
    first = ack = last = None

    def done() -> None:
        if current is not None and first is not None and last is not None:
            updates.append((first, ack, last, current))

    for call_id, since_open, waited, eta, status in conn.execute(sql):
        w, e = _num(waited), _num(eta)
        if e is None or w is None:
            continue
        m = _num(since_open)
        # The monotonic difference is exact on the same boot; across a restart it means nothing.
        at = m if m is not None and w <= m < w + 1 else w
        promise = round(at + e, 3)
        if call_id != current:
            done()
            current, first, ack = call_id, promise, None
        if status == "acknowledged" and ack is None:
            ack = promise
        last = promise
    done()
    with conn:
        conn.executemany("UPDATE calls SET eta_first_s = ?, eta_ack_s = ?, eta_last_s = ? WHERE id = ?", updates)
    return len(updates)


# --- reading -------------------------------------------------------------------------------


def kth(arrays: Sequence[array], k: int) -> float:
    """The k-th smallest value (0-based) of the union of sorted ``arrays``, without merging them.

    Each step takes the middle of the widest remaining range as a pivot and counts what lies
    at or below it in every array (bisection): ranges halve, so a year of days costs a few
    thousand bisections, not a sort of a million values.
    """
    arrays = [a for a in arrays if len(a)]
    if len(arrays) == 1:
        return arrays[0][k]
    lo = [0] * len(arrays)
    hi = [len(a) for a in arrays]
    while True:
        widths = [h - low for h, low in zip(hi, lo, strict=True)]
        widest = max(widths)
        j = widths.index(widest)
        if widest == 0:
            raise IndexError(k)
        pivot = arrays[j][(lo[j] + hi[j]) // 2]
        below = [bisect_right(a, pivot, lo[i], hi[i]) for i, a in enumerate(arrays)]
        strictly = [bisect_left(a, pivot, lo[i], hi[i]) for i, a in enumerate(arrays)]
        n_strict = sum(strictly)
        n_below = sum(below)
        if n_strict <= k < n_below:
            return pivot
        if k < n_strict:
            hi = strictly
        else:
            lo = below
