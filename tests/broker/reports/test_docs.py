"""The documented Datasette canned queries run against the real schema."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

METADATA = Path(__file__).resolve().parents[3] / "docs" / "datasette-metadata.yml"


def test_canned_queries_run(log):
    log.call("2026-03-02 10:00:00", time_to_ack_s=3.0, time_to_greet_s=20.0, greeted_by="anna", feedback_score=4)
    log.call("2026-03-02 11:00:00", "unattended", time_to_close_s=600.0)
    log.event("declined", "2026-03-02 10:00:01", staff="ben", call_id="c1", payload='{"reason": "busy"}')
    queries = yaml.safe_load(METADATA.read_text())["databases"]["staffcall"]["queries"]
    params = {"since": "2026-03-01", "until": "2026-03-31", "target": 60, "call_id": "c1"}
    results = {name: log.conn.execute(q["sql"], params).fetchall() for name, q in queries.items()}
    assert results["calls_by_day"] == [("2026-03-02", 2, 1, 20.0, 20.0, 50.0, 0, 1)]
    assert results["median_greet_by_day"] == [("2026-03-02", 1, 20.0, 20.0)]
    assert results["declines"] == [("ben", "busy", 1)]
    assert [r[0] for r in results["unattended_and_gave_up"]] == ["c2"]
