"""The day report stays quick as a whole process: no heavy imports, live cells only for what it shows."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from broker.hub.reportcells import build_cells
from tests.conftest import write_config

ROW = (
    1772442000.0,
    "resolved",
    12.0,
    42.0,
    300.0,
    "toys",
    "k1",
    None,
    None,
    "anna",
    "anna",
    3,
    0,
    0,
    1,
    '["bo"]',
    90.0,
)


def test_day_report_imports_neither_rich_nor_logging(tmp_path, log):
    """``rich`` alone took most of the 0.1 s the day report has (issue 16); the table is plain text."""
    cfg = write_config(tmp_path / "staffcall.toml", port=1883, db=log.path)
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    log.call(f"{today} 00:00:01", time_to_ack_s=5.0, time_to_greet_s=20.0, greeted_by="anna", feedback_score=4)
    code = (
        "import sys\n"
        "from broker.cli import main\n"
        f"main(['report', '-c', {str(cfg)!r}, '--today', '--lang', 'en'])\n"
        "print('rich modules:', sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
        "print('logging' in sys.modules, 'sqlite_utils' in sys.modules, 'msgspec' in sys.modules)\n"
    )
    # The first run may prepare the kept report data once (a rich progress bar); every later run is the day path.
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "All calls" in out.stdout
    lines = out.stdout.splitlines()
    assert lines[-2] == "rich modules: []"
    # Nor logging (the report never logs), sqlite-utils (the hub's writer) or msgspec (the whole config's
    # validation: the report reads its four settings itself, broker/contract/settings.py).
    assert lines[-1] == "False False False"


def test_cells_for_some_groupings_equal_those_of_all():
    every = build_cells([ROW], "Europe/Stockholm")
    some = build_cells([ROW], "Europe/Stockholm", dims={"staff", "declined"})
    assert set(some) == {k for k in every if k[1] in ("staff", "declined")}
    for k, c in some.items():
        assert c == every[k]
