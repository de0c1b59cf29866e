"""``staffcall <sub>`` imports only the part that registers ``<sub>``: the hub's process stays free of the rest.

A store's hub runs on a Pi that may have no Kivy, no GPIO library and no web stack; importing
them would also cost it start-up time and memory.  The check runs in a fresh interpreter, the
way ``staffcall hub`` starts.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from broker.cli import COMMANDS, build_parser

NOT_IN_THE_HUB = (
    "kivy",
    "gpiozero",
    "serial",
    "starlette",
    "uvicorn",
    "playwright",
    "kiosk",
    "staff_pager",
    "hardware",
    "broker.web",
    "broker.reports",
    "broker.demo",
)

HUB_TREE = """\
import sys
from broker.cli import main
try:
    main(["hub", "--help"])  # what `staffcall hub` parses with
except SystemExit:
    pass
import broker.hub.shell  # what `staffcall hub` then runs
print("\\n".join(sorted(sys.modules)))
"""


def test_the_hub_imports_none_of_the_other_parts():
    result = subprocess.run([sys.executable, "-c", HUB_TREE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    modules = result.stdout.split()
    assert "broker.hub.shell" in modules and "broker.core.dispatcher" in modules
    strays = [m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_IN_THE_HUB)]
    assert not strays, f"staffcall hub imports {strays}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_subcommand_is_registered_by_its_module_alone(command: str):
    sub = next(a for a in build_parser(command)._actions if a.dest == "command")
    assert command in sub.choices


def test_help_lists_every_subcommand_in_the_tables_order():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
