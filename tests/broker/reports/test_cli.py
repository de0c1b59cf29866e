"""``staffcall report`` end to end: the real CLI over a real event log, in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from broker.cli import build_parser, main
from tests.conftest import write_config


@pytest.fixture
def store(tmp_path, log):
    cfg = write_config(tmp_path / "staffcall.toml", port=1883, db=log.path)
    # Today in the store's zone, whatever day the test runs: greeted 20 s and 80 s, one gave up.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    log.call(f"{today} 00:00:01", time_to_ack_s=5.0, time_to_greet_s=20.0, greeted_by="anna", feedback_score=4)
    log.call(f"{today} 00:00:02", time_to_ack_s=9.0, time_to_greet_s=80.0, greeted_by="ben", zone="toys")
    log.call(f"{today} 00:00:03", "cancelled", time_to_close_s=30.0)
    return cfg


def run(capsys, *args) -> str:
    assert main(["report", *args]) == 0
    return capsys.readouterr().out


def test_json_has_the_figures(store, capsys):
    data = json.loads(run(capsys, "-c", str(store), "--json", "--by", "zone"))
    assert data["total"]["calls"] == 3 and data["total"]["greet_median"] == 50
    assert data["total"]["cancelled"] == 1 and data["total"]["within_target_share"] == round(1 / 3, 4)
    assert [g["key"] for g in data["groups"]] == ["electronics", "toys"]
    assert data["period"]["label"].startswith("today") and data["heatmap"]["weekdays"][0] == "Mon"


def test_csv_one_row_per_group(store, capsys):
    rows = list(csv.DictReader(io.StringIO(run(capsys, "-c", str(store), "--csv", "--by", "staff"))))
    by = {r["key"]: r for r in rows}
    assert by["anna"]["greet_median"] == "20.0" and by["ben"]["greet_median"] == "80.0"
    assert by["(nobody)"]["calls"] == "1" and by["(nobody)"]["greet_median"] == ""


def test_terminal_table(store, capsys):
    out = run(capsys, "-c", str(store), "--today", "--lang", "en")
    assert "All calls" in out and "Anna" in out and "gave up after a median 30s" in out


def test_terminal_table_speaks_the_stores_language(store, capsys):
    """The store's config says sv: the table's words, the period and the weekdays are Swedish."""
    out = run(capsys, "-c", str(store), "--today", "--by", "weekday")
    assert "Personalanrop, idag " in out and "Alla anrop" in out and "gav upp efter en median på 30s" in out
    assert "Per veckodag" in out and "\nmån " in out and "All calls" not in out and "Mon" not in out


def test_html_page_speaks_the_stores_language(store, capsys, tmp_path):
    page = tmp_path / "r.html"
    assert main(["report", "-c", str(store), "--html", str(page)]) == 0
    sv = page.read_text(encoding="utf-8")
    assert '<html lang="sv">' in sv and "Hur länge kunderna väntade" in sv and "Löften hållna" in sv
    assert "How long customers waited" not in sv and "Median greeting" not in sv
    assert main(["report", "-c", str(store), "--html", str(page), "--lang", "en"]) == 0
    en = page.read_text(encoding="utf-8")
    assert '<html lang="en">' in en and "How long customers waited" in en and "Löften" not in en


def test_empty_period_and_bad_input(store, capsys, tmp_path):
    out = run(capsys, "-c", str(store), "--since", "2020-01-01", "--until", "2020-01-31", "--lang", "en")
    assert "No calls in this period." in out
    with pytest.raises(SystemExit, match="swap them"):
        main(["report", "-c", str(store), "--since", "2020-02-01", "--until", "2020-01-01"])
    with pytest.raises(SystemExit, match="no event log"):
        main(["report", "-c", str(store), "--db", str(tmp_path / "missing.db")])
    with pytest.raises(SystemExit):
        main(["report", "-c", str(store), "--by", "colour"])


def test_every_command_has_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("report", "board"):
        assert "Example:" in sub.choices[name].description
