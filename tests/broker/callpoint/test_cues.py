"""Sound cues: which cue when, quiet hours, the config switches, and sox-made tones played by a command."""

from __future__ import annotations

import shutil
from datetime import datetime, time
from pathlib import Path

import pytest

from broker.callpoint.cues import (
    CueLogic,
    Cues,
    RecordingPlayer,
    SilentPlayer,
    ToneFilePlayer,
    cues_for,
    in_quiet_hours,
    parse_quiet_hours,
)
from broker.contract.config import parse_config
from tests.conftest import STORE_TOML

DEVICES = """
[kiosk]
sounds = true
quiet_hours = ["21:00", "07:00"]

[[devices]]
id = "fit-1"
kind = "button"
zone = "toys"
button_pin = 17
sounds = false
"""


def config():
    text = STORE_TOML.format(port=1883, db="x.db", ack=30, esc=90, greet=600, unatt=900) + DEVICES
    return parse_config(text)


def test_sent_then_coming_once_per_call():
    logic = CueLogic()
    assert logic.sent() == "sent"
    assert [logic.state("c1", s) for s in ("waiting", "acknowledged", "acknowledged", "greeted")] == [
        None,
        "coming",
        None,
        None,
    ]
    assert logic.state("c2", "acknowledged") == "coming", "the next call has its own cue"


@pytest.mark.parametrize(
    ("now", "quiet"), [("20:59", False), ("21:00", True), ("23:30", True), ("06:59", True), ("07:00", False)]
)
def test_quiet_hours_across_midnight(now, quiet):
    assert in_quiet_hours(time.fromisoformat(now), parse_quiet_hours(["21:00", "07:00"])) is quiet


def test_quiet_hours_within_a_day_and_never():
    span = parse_quiet_hours(["12:00", "13:00"])
    assert in_quiet_hours(time(12, 30), span) and not in_quiet_hours(time(13, 0), span)
    assert not in_quiet_hours(time(3, 0), parse_quiet_hours([]))


@pytest.mark.parametrize("bad", [["21:00"], ["21:00", "7 am"], ["a", "b", "c"]])
def test_bad_quiet_hours_are_refused(bad):
    with pytest.raises(ValueError):
        parse_quiet_hours(bad)


def test_no_cue_in_quiet_hours():
    player = RecordingPlayer()
    night = Cues(player, ["21:00", "07:00"], now=lambda: datetime(2026, 1, 1, 22, 0))
    night.call_sent()
    night.call_state("c1", "acknowledged")
    assert player.played == []


def test_config_store_wide_with_a_station_turned_off(tmp_path):
    cfg = config()
    assert cfg.kiosk.sounds and cfg.devices_by_id["fit-1"].sounds is False
    assert isinstance(cues_for(cfg, "fit-1", tmp_path).player, SilentPlayer)
    recording = RecordingPlayer()
    assert cues_for(cfg, "kiosk-1", tmp_path, recording).player is recording
    assert cues_for(cfg, "kiosk-1", tmp_path, recording).quiet == (time(21, 0), time(7, 0))


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox")
def test_tones_made_with_sox_and_played_by_the_command(tmp_path: Path):
    log = tmp_path / "played.txt"
    script = tmp_path / "fake-aplay"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(0o755)
    player = ToneFilePlayer(tmp_path / "tones", command=(str(script), "-q"))
    assert sorted(player.files) == ["coming", "sent"]
    assert all(f.stat().st_size > 1000 and f.read_bytes()[:4] == b"RIFF" for f in player.files.values())
    player.play("sent")
    deadline = datetime.now().timestamp() + 20
    while not log.exists() and datetime.now().timestamp() < deadline:
        time_sleep(0.05)
    assert log.read_text().split() == ["-q", str(player.files["sent"])]


def test_missing_programs_mean_silence_not_a_crash(tmp_path: Path):
    player = ToneFilePlayer(tmp_path / "tones", command=("no-such-player-here",))
    assert player.files == {}
    player.play("sent")


def time_sleep(s: float) -> None:
    import time as _time

    _time.sleep(s)
