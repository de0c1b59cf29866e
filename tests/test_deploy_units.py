"""The systemd units in deploy/ are valid, and each starts a ``staffcall`` subcommand that exists.

``systemd-analyze verify`` parses a unit the way systemd will on the Pi; it only warns about
a misspelt setting, so any output fails the test.  The installed program path
(/opt/staffcall/venv/bin/staffcall) does not exist here, so a copy of each unit points
ExecStart at /bin/true for the check, and the command line itself is run with ``--help``.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy").rglob("*.service"))
INSTALLED = "/opt/staffcall/venv/bin/staffcall"


def exec_start(unit: Path) -> list[str]:
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_every_part_has_a_unit():
    assert {u.name for u in UNITS} >= {
        "staffcall-hub.service",
        "staffcall-web.service",
        "staffcall-buttons.service",
        "staffcall-pager-gateway.service",
        "staffcall-kiosk.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_valid(unit: Path, tmp_path: Path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is missing: sudo apt-get install systemd (deploy/install-deps.sh test)")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(f"ExecStart={INSTALLED}", "ExecStart=/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_runs_a_real_subcommand(unit: Path):
    argv = exec_start(unit)
    if argv[0] == "/usr/sbin/nats-server":  # the chain's cluster nodes run Debian's nats-server itself
        assert argv[1:3] == ["-c", "/etc/staffcall-chain/%i.conf"]
        return
    assert argv[0] == INSTALLED, "units run the program the install scripts put in /opt/staffcall/venv"
    args = [a for a in argv[1:] if a != "--"]
    first_option = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    command = args[:first_option]  # "hub", or "broker run": a subcommand's own options are in its own help
    result = subprocess.run(
        [sys.executable, "-m", "broker.cli", *command, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    options = {a.split("=")[0] for a in args[1:] if a.startswith("--")}
    missing = [o for o in options if o not in result.stdout]
    assert not missing, f"{unit.name}: {' '.join(command)} has no {missing}"
