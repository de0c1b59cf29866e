"""The report's own reading of the config gives what the full config gives, and refuses what it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from broker.contract.config import load_config
from broker.contract.settings import ConfigError, load_report_settings, parse_report_settings
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("which", ["example", "tests"])
def test_the_report_settings_equal_the_full_config(which, tmp_path):
    path = ROOT / "staffcall.example.toml" if which == "example" else write_config(tmp_path / "s.toml", port=1883)
    full, light = load_config(path), load_report_settings(str(path))
    assert light.timezone == full.store.timezone
    assert light.target_greet_s == full.store.target_greet_s
    assert light.database_path == full.database.path
    assert light.staff_names == {s.id: s.name for s in full.staff}
    assert light.language == full.store.language


def test_defaults_and_relative_paths_follow_the_full_config(tmp_path):
    path = tmp_path / "min.toml"
    path.write_text('[store]\nid = "s1"\nname = "S"\n', encoding="utf-8")
    full, light = load_config(path), load_report_settings(str(path))
    assert (light.timezone, light.target_greet_s, light.database_path, light.language) == (
        full.store.timezone,
        full.store.target_greet_s,
        full.database.path,
        full.store.language,
    )


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ("[database]\npath = 'x.db'\n", "[store]"),
        ("[store]\nid = 's'\nname = 'S'\ntimezone = 'Mars/Olympus'\n", "[store] timezone"),
        ("[store]\nid = 's'\nname = 'S'\ntarget_greet_s = 0\n", "[store] target_greet_s"),
        ("[store]\nid = 's'\nname = 'S'\ntarget_greet_s = 'soon'\n", "[store] target_greet_s"),
        ("[store]\nid = 's'\nname = 'S'\n[[staff]]\nname = 'Anna'\n", "[[staff]] #1"),
        ("[store]\nid = 's'\nname = 'S'\nlanguage = 3\n", "[store] language"),
        ("[store\n", "not valid TOML"),
    ],
)
def test_a_wrong_setting_is_named_with_the_fix(toml, where):
    with pytest.raises(ConfigError, match=re.escape(where)):
        parse_report_settings(toml, "/etc/staffcall")
    if where != "[store] timezone":  # the full config leaves the zone to the parts that use it
        with pytest.raises(ConfigError):
            from broker.contract.config import parse_config

            parse_config(toml)
