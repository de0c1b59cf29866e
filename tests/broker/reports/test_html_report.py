"""The HTML report rendered by a real headless Chromium: charts drawn, self-contained, A4-printable."""

from __future__ import annotations

import os
import re
from datetime import date

from broker.reports.html import render
from broker.reports.metrics import Metrics, period
from tests.broker.conftest import TZ, local_ts

NOW = local_ts("2026-03-08 20:00:00")


def week_of_calls(log) -> None:
    waits = [12.0, 25.0, 48.0, 75.0, 130.0, 40.0, 33.0]
    for day in range(2, 9):
        for i, hour in enumerate((9, 11, 11, 14, 17, 17, 17)):
            log.call(
                f"2026-03-{day:02d} {hour:02d}:{10 + i:02d}:00",
                time_to_ack_s=5.0 + i,
                time_to_greet_s=waits[(day + i) % 7] * (1.5 if day == 7 else 1),
                greeted_by=("anna", "ben", "chloe")[i % 3],
                feedback_score=(4, 3, 4)[i % 3],
                eta_first_s=(45.0, 60.0, 90.0)[i % 3],
            )
        log.call(f"2026-03-{day:02d} 12:00:00", "cancelled", time_to_close_s=70.0)
    log.call("2026-03-06 18:00:00", "unattended", time_to_close_s=600.0, escalated=True)


def test_html_report_in_chromium(log, page, tmp_path):
    week_of_calls(log)
    m = Metrics(log.conn, TZ, 60, staff_names={"anna": "Anna", "ben": "Ben", "chloe": "Chloe"})
    report = m.report(period("range", TZ, NOW, since=date(2026, 3, 2), until=date(2026, 3, 8)), "weekday", NOW)
    html = render(report)
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not load anything from the network"
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    assert [u for u in requests if not u.startswith("file:")] == []
    assert page.inner_text("#kpi-calls") == "57"
    assert page.locator("svg.chart").count() == 4
    waits = [12.0, 25.0, 48.0, 75.0, 130.0, 40.0, 33.0]
    kept = sum(
        waits[(day + i) % 7] * (1.5 if day == 7 else 1) <= (45.0, 60.0, 90.0)[i % 3]
        for day in range(2, 9)
        for i in range(7)
    )
    assert page.inner_text("#kpi-promises") == f"{round(100 * kept / 49)}%"
    # one bar per time shown (45 s, 60 s, 90 s buckets), under the dashed "greeted at the time shown" line
    assert page.locator("svg[aria-label='Time shown vs greeting'] rect").count() == 3
    assert page.locator("#calibration tr").count() == 4
    # 7 x 24 heatmap cells, 10 distribution bars, one bar per day of the trend
    assert page.locator("svg[aria-label='Calls by weekday and hour'] rect").count() == 7 * 24
    assert page.locator("svg[aria-label='Wait-time distribution'] rect").count() == 10
    assert page.locator("svg[aria-label='Trend by day'] rect").count() == 7
    assert "Shout-outs" in page.inner_text("body") and "Anna" in page.inner_text("body")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3, f"the printed report should fit a few A4 pages, got {pages}"
    if os.environ.get("STAFFCALL_KEEP_SCREENSHOTS"):
        keep = os.environ["STAFFCALL_KEEP_SCREENSHOTS"]
        os.makedirs(keep, exist_ok=True)
        shot.rename(os.path.join(keep, "report.png"))
        (tmp_path / "r.pdf").write_bytes(pdf)


def test_empty_report_renders(log, page, tmp_path):
    m = Metrics(log.conn, TZ, 60)
    path = tmp_path / "empty.html"
    path.write_text(render(m.report(period("today", TZ, NOW), None, NOW)), encoding="utf-8")
    page.goto(path.as_uri())
    assert "No calls in this period." in page.inner_text("body")
