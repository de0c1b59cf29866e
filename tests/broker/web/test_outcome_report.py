"""The resolve outcome staff pick on their phones shows in the reports (``--by outcome``)."""

from __future__ import annotations

from datetime import date

from broker.reports.metrics import Metrics, period
from tests.broker.conftest import Log


def test_figures_by_outcome(tmp_path):
    log = Log(str(tmp_path / "staffcall.db"))
    log.call("2026-03-02 10:00:00", outcome="sale", time_to_greet_s=30.0)
    log.call("2026-03-02 10:05:00", outcome="sale", time_to_greet_s=50.0)
    log.call("2026-03-02 10:10:00", outcome="helped", time_to_greet_s=20.0)
    log.call("2026-03-02 10:20:00", status="cancelled")
    m = Metrics(log.conn, "Europe/Stockholm", 60)
    groups = {
        g.key: g.calls
        for g in m.groups(
            period("range", "Europe/Stockholm", since=date(2026, 3, 2), until=date(2026, 3, 2)), "outcome"
        )
    }
    assert groups == {"(none)": 1, "helped": 1, "sale": 2}
