"""``staffcall buttons --simulate`` as a user runs it: a process, keyboard commands on stdin, the real hub."""

from __future__ import annotations

import subprocess
import sys

from broker.cli import build_parser
from tests.buttons.conftest import STATIONS_TOML
from tests.conftest import STORE_TOML


def test_simulated_stations_call_and_greet_from_the_keyboard(broker, hub, listener, tmp_path):
    cfg = tmp_path / "staffcall.toml"
    text = STORE_TOML.format(port=broker.port, db=str(tmp_path / "x.db"), ack=30, esc=90, greet=120, unatt=600)
    cfg.write_text(text + STATIONS_TOML.format(outbox="outbox"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "buttons", "--config", str(cfg), "--simulate", "--only", "fit-1,fit-2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        listener.wait_for(lambda m: m.topic == "staffcall/s1/device/fit-2/status" and m.payload == b"online")
        proc.stdin.write("2\n")
        proc.stdin.flush()
        call = listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-2").json
        listener.state(call["id"], "waiting")
        proc.stdin.write("h2\n")
        proc.stdin.flush()
        assert listener.wait_for(lambda m: m.topic == "staffcall/s1/call/fit-2/greet").json == {"id": call["id"]}
        listener.state(call["id"], "greeted")
        proc.stdin.write("q\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "pressed fit-2" in out and "held fit-2" in out
    assert (tmp_path / "outbox" / "fit-2.outbox.db").exists(), "outbox_dir is relative to the config file"
    listener.wait_for(lambda m: m.topic == "staffcall/s1/device/fit-2/status" and m.payload == b"offline")


def test_buttons_help_has_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "Example: staffcall buttons" in sub.choices["buttons"].description
