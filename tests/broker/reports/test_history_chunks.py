"""The history read a chunk at a time (memory flat) says what a read of the whole period says."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bench._staffstore import store_config, write_store
from broker.core.staffing import Advisor
from broker.hub.eventlog import connect
from broker.hub.words import page_words
from broker.reports.history import calls_in_hours, iter_calls, iter_history, read_history
from broker.reports.staffing import advise, figures


def test_chunks_and_streamed_advice_equal_the_whole_read(tmp_path):
    cfg = store_config(2, 2)
    write_store(tmp_path / "s.db", cfg, date(2026, 3, 2), 6, 8.0, seed=4)
    conn = connect(str(tmp_path / "s.db")).conn
    tz = ZoneInfo(cfg.store.timezone)
    since, until = datetime(2026, 3, 2, tzinfo=tz).timestamp(), datetime(2026, 3, 8, tzinfo=tz).timestamp()
    whole = read_history(conn, since, until)
    assert len(whole.calls) > 500
    chunks = list(iter_history(conn, since, until, chunk_s=5 * 3600.0))
    assert len(chunks) > 6
    assert [c for ch in chunks for c in ch.calls] == whole.calls == list(iter_calls(conn, since, until))
    assert [o for ch in chunks for o in ch.actual] == whole.actual
    assert [v for ch in chunks for v in ch.visits] == whole.visits
    assert {k: v for ch in chunks for k, v in ch.busy.items()} == whole.busy
    # A chunk's pages are judged with the calls around it: the same answers (in page order within a chunk).
    assert sorted(astuple(a) for ch in chunks for a in ch.answers) == sorted(astuple(a) for a in whole.answers)

    starts = {c.opened - c.opened % 3600 for c in whole.calls[100:300:40]}
    assert calls_in_hours(conn, starts) == [c for c in whole.calls if c.opened - c.opened % 3600 in starts]

    advisor = Advisor(cfg, page_words(cfg), whole.behaviour())
    in_memory = advisor.advise(whole.calls, whole.actual, whole.busy, whole.shifts, since, until)
    _, streamed = advise(cfg, conn, since, until, 0.9, None, 1)
    assert [r for r in streamed if r.needed is not None]
    assert streamed == in_memory

    assert figures(whole.actual, 60)["calls"] == len(whole.actual)
