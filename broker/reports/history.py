"""The store's history for staffing and what-if replays, read from the event log.

One pass over the period's calls, its one-person pages, declines and presence changes gives
what the replay needs: the calls to press again (``RecordedCall``), what really happened to them
(``Outcome``), who was on shift when (``Shift``), and how each colleague answered, walked and
served (``PageAnswer``, ``Visit``, for ``broker.core.behaviour.Empirical``).

A page counts towards a colleague's answers only when it reached them free (not between an
acknowledgement and a close of theirs): a busy colleague's silence is the queue, which the replay
models itself, not their habit.  A page they left unanswered is recorded with how long it stayed
theirs (until someone else took the call, it closed, or they went for another): a censored answer
time, not a "let pass" (``broker.core.behaviour.answer_table``).  Durations come from the hub's
monotonic clock (``opened_mono``, ``events.mono``); a pair from two hub processes (a restart
between) is dropped, not guessed.

A long period is read in chunks (``iter_history``, a week each): each chunk's answers are judged with
the calls and pages of ``CONTEXT_S`` either side, so memory holds one chunk, not the period.  Calls in
one chunk are also read on their own (``iter_calls``, ``calls_in_hours``) for the replays.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from broker.contract.clock import iso, parse_iso
from broker.core.behaviour import Empirical, PageAnswer, Visit
from broker.core.replay import Outcome, RecordedCall, Shift

SINGLE_PAGES = ("call", "next")
"""Page kinds sent to one colleague: the ones that show how that colleague answers."""
MAX_ANSWER_S = 3600.0
CHUNK_S = 7 * 86400.0
"""A long period is read a week at a time."""
CONTEXT_S = 6 * 3600.0
"""Calls and pages this long before and after a chunk are read too, to judge its pages (busy colleagues, a
page left for another call).  Only a colleague busy on one call for longer than this, across a chunk's edge,
is judged differently from a read of the whole period."""


@dataclass
class History:
    calls: list[RecordedCall] = field(default_factory=list)
    actual: list[Outcome] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    busy: dict[str, float] = field(default_factory=dict)
    """Seconds each call kept its colleague busy (acknowledged, or paged, to closed)."""
    answers: list[PageAnswer] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def behaviour(self) -> Empirical:
        return Empirical(self.answers, self.visits)


_CALLS = """
SELECT id, device, zone, reason, status, opened_ts, opened_mono, time_to_ack_s, time_to_greet_s,
       time_to_close_s, staff, greeted_by, escalated, tier, declines, outcome, opened_at
FROM calls WHERE opened_at >= ? AND opened_at < ? AND status IN ('resolved', 'cancelled', 'unattended')
ORDER BY opened_at
"""


def read_history(conn: sqlite3.Connection, since: float, until: float) -> History:
    """Everything the staffing advice and the replay need about [since, until) (Unix times), at once."""
    h = _read_span(conn, since, until, since, until)
    h.shifts = read_shifts(conn, since, until)
    return h


def iter_history(conn: sqlite3.Connection, since: float, until: float, chunk_s: float = CHUNK_S) -> Iterator[History]:
    """[since, until) as Histories of ``chunk_s`` each, in time order (no shifts: ``read_shifts``)."""
    a = since
    while a < until:
        b = min(until, a + chunk_s)
        yield _read_span(conn, a, b, max(since, a - CONTEXT_S), min(until, b + CONTEXT_S))
        a = b


def read_behaviour(
    conn: sqlite3.Connection, since: float, until: float, each: Callable[[History], None] | None = None
) -> Empirical:
    """The colleagues' behaviour over [since, until), read a chunk at a time; ``each`` sees every chunk."""
    behaviour = Empirical()
    for chunk in iter_history(conn, since, until):
        for a in chunk.answers:
            behaviour.add_answer(a)
        for v in chunk.visits:
            behaviour.add_visit(v)
        if each is not None:
            each(chunk)
    return behaviour


def _recorded(row: tuple) -> RecordedCall:
    cid, device, zone, reason, status, opened, _m, _a, greet, close = row[:10]
    gave_up = close if status == "cancelled" and greet is None else None
    return RecordedCall(cid, device, zone or "", reason, opened, gave_up)


def iter_calls(conn: sqlite3.Connection, since: float, until: float) -> Iterator[RecordedCall]:
    """The calls of [since, until) in opening order, read as they are used (a replay of a month)."""
    for row in conn.execute(_CALLS, (iso(since), iso(until))):
        if row[5] is not None:
            yield _recorded(row)


def calls_in_hours(conn: sqlite3.Connection, starts: Iterable[float]) -> list[RecordedCall]:
    """The calls opened in the hours starting at ``starts`` (Unix), in opening order."""
    out: list[RecordedCall] = []
    for start in sorted(set(starts)):
        out.extend(c for c in iter_calls(conn, start, start + 3600) if c.opened - c.opened % 3600 == start)
    return out


def _read_span(conn: sqlite3.Connection, since: float, until: float, lo: float, hi: float) -> History:
    """The history of calls opened in [since, until), judged with the calls and pages of [lo, hi) around."""
    h = History()
    calls: dict[str, tuple] = {}
    intervals: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    first, last = iso(since), iso(until)
    for row in conn.execute(_CALLS, (iso(lo), iso(hi))):
        (cid, device, zone, reason, status, opened, mono, ack, greet, close, staff, greeted_by, esc, tier, dec, out) = (
            row[:16]
        )
        if opened is None:
            continue
        calls[cid] = row
        who = greeted_by or staff
        if not first <= row[16] < last:  # context: only its busy span counts
            if who and close is not None and (ack is not None or greet is not None) and mono is not None:
                intervals[who].append((mono + (ack if ack is not None else greet), mono + close, cid))
            continue
        h.calls.append(_recorded(row))
        h.actual.append(
            Outcome(
                cid,
                zone or "",
                opened,
                status,
                ack,
                greet,
                bool(esc),
                greeted_by or staff,
                (tier or 1) >= 2 or bool(dec),
            )
        )
        if who and close is not None and (ack is not None or greet is not None):
            start = ack if ack is not None else greet
            h.busy[cid] = max(0.0, close - start)
            if mono is not None:
                intervals[who].append((mono + start, mono + close, cid))
            walk = None if ack is None or greet is None else greet - ack
            auto = bool(out) and str(out).startswith("auto-closed")
            serve = None if greet is None or status != "resolved" or auto else close - greet
            h.visits.append(Visit(who, zone or "", walk, serve))
    again: dict[tuple[str, str], float] = {}
    pages = _first_pages(conn, calls, lo, hi, again)
    for who, spans in intervals.items():
        # Busy from the page they went for, not only from their acknowledgement: while deciding to go,
        # a colleague lets other pages pass because they are taken, not out of habit.
        intervals[who] = sorted((min(s, pages.get((cid, who), (s, ""))[0]), e, cid) for s, e, cid in spans)
    mine = {c.id for c in h.calls}
    _answers(h, calls, {k: v for k, v in pages.items() if k[0] in mine}, again, intervals, _declines(conn, lo, hi))
    return h


def _busy_at(spans: list[tuple[float, float, str]], at: float, call_id: str) -> bool:
    i = bisect.bisect_right(spans, (at, float("inf"), ""))
    # An acknowledgement lasts far less than a day: the few spans before ``at`` are enough to look at.
    return any(s <= at < e and cid != call_id for s, e, cid in spans[max(0, i - 8) : i])


def _first_pages(
    conn: sqlite3.Connection, calls: dict[str, tuple], since: float, until: float, again: dict[tuple[str, str], float]
) -> dict[tuple[str, str], tuple[float, str]]:
    """(call, colleague) -> (monotonic time, kind) of the first page that colleague got for the call.

    ``again`` is filled with the time of their second page for it: a new page is a new chance to answer,
    so the first one's answer time is censored there."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    for call_id, staff, mono, payload in conn.execute(
        "SELECT call_id, staff, mono, payload FROM events WHERE kind = 'page' AND ts >= ? AND ts < ? ORDER BY id",
        (iso(since), iso(until + 3600)),
    ):
        if call_id not in calls or not staff or mono is None:
            continue
        if (call_id, staff) in out:
            if (call_id, staff) not in again:
                again[(call_id, staff)] = mono
            continue
        try:
            kind = json.loads(payload).get("kind")
        except (TypeError, ValueError, AttributeError):
            continue
        out[(call_id, staff)] = (mono, kind if isinstance(kind, str) else "")
    return out


def _declines(conn: sqlite3.Connection, since: float, until: float) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for call_id, staff, mono in conn.execute(
        "SELECT call_id, staff, mono FROM events WHERE kind = 'declined' AND ts >= ? AND ts < ?",
        (iso(since), iso(until + 3600)),
    ):
        out.setdefault((call_id, staff), mono)
    return out


def _answers(
    h: History,
    calls: dict[str, tuple],
    pages: dict[tuple[str, str], tuple[float, str]],
    again: dict[tuple[str, str], float],
    intervals: dict[str, list[tuple[float, float, str]]],
    declined: dict[tuple[str, str], float],
) -> None:
    for (call_id, staff), (mono, kind) in pages.items():
        spans = intervals.get(staff, [])
        if kind not in SINGLE_PAGES or _busy_at(spans, mono, call_id):
            continue
        row = calls[call_id]
        opened_mono, ack, greet, who, zone = row[6], row[7], row[8], row[11] or row[10], row[2] or ""
        repaged = again.get((call_id, staff), float("inf"))
        if (call_id, staff) in declined and declined[(call_id, staff)] <= repaged:
            delay = declined[(call_id, staff)] - mono
            h.answers.append(PageAnswer(staff, zone, "decline", delay if 0 <= delay < MAX_ANSWER_S else None))
            continue
        answered = ack if ack is not None else greet
        if who == staff and answered is not None and opened_mono is not None:
            delay = opened_mono + answered - mono
            if 0 <= delay < MAX_ANSWER_S and mono + delay <= repaged:
                h.answers.append(PageAnswer(staff, zone, "ack", delay))
                continue
        open_for = _open_for(row, mono, spans, call_id)
        if repaged < float("inf"):
            open_for = min(repaged - mono, open_for if open_for is not None else float("inf"))
        h.answers.append(PageAnswer(staff, zone, "pass", open_for))


def _open_for(row: tuple, mono: float, spans: list[tuple[float, float, str]], call_id: str) -> float | None:
    """How long an unanswered page stayed theirs to answer: until someone else took the call, it closed,
    or they went for another call (None: it never stopped waiting for them while the log says).  A page
    answered only after a later page to them is censored at that later page (the caller's business)."""
    opened_mono, ack, greet, close = row[6], row[7], row[8], row[9]
    ends: list[float] = []
    if opened_mono is not None:
        taken = ack if ack is not None else greet
        for rel in (taken, close):
            if rel is not None:
                ends.append(opened_mono + rel)
    i = bisect.bisect_right(spans, (mono, float("inf"), ""))
    for s, _e, cid in spans[i : i + 4]:
        if cid != call_id:
            ends.append(s)
            break
    if not ends:
        return None
    return max(0.0, min(ends) - mono)


def read_shifts(conn: sqlite3.Connection, since: float, until: float) -> list[Shift]:
    """Presence changes in [since, until), led by each colleague's presence as the period began."""
    out: list[Shift] = []
    for staff, payload in conn.execute(
        "SELECT staff, payload FROM events WHERE id IN "
        "(SELECT max(id) FROM events WHERE kind = 'presence' AND ts < ? GROUP BY staff)",
        (iso(since),),
    ):
        status = _status(payload)
        if staff and status:
            out.append(Shift(since, staff, status))
    for staff, ts, payload in conn.execute(
        "SELECT staff, ts, payload FROM events WHERE kind = 'presence' AND ts >= ? AND ts < ? ORDER BY id",
        (iso(since), iso(until)),
    ):
        status = _status(payload)
        if staff and status:
            out.append(Shift(parse_iso(ts), staff, status))
    return out


def _status(payload: str | None) -> str | None:
    try:
        status = json.loads(payload or "{}").get("status")
    except (ValueError, AttributeError):
        return None
    return status if isinstance(status, str) else None
