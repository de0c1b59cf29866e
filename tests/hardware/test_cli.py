"""``staffcall buttons --simulate`` as a user runs it: a process, keyboard commands on stdin, the real hub."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

from broker.cli import build_parser
from tests.conftest import STORE_TOML
from tests.hardware.conftest import STATIONS_TOML, wait_until


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


def test_keys_typed_fast_on_a_terminal_all_count_and_logs_keep_the_table_whole(store, tmp_path):
    """The real command in a real terminal (tmux), on the store's broker with the station's own login."""
    sock = f"staffcall-test-{os.getpid()}-{time.monotonic_ns()}"
    tmux = ["tmux", "-L", sock]
    command = shlex.join(
        [sys.executable, "-m", "broker.cli", "buttons", "--config", str(store.folder / "staffcall.toml")]
        + ["--simulate", "--only", "fit-1"]
    )
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "50", command], check=True, timeout=20)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True, timeout=20).stdout

    try:
        store.message(lambda t, b: t == "staffcall/s1/device/fit-1/status" and b == "online", timeout=20)
        wait_until(lambda: "staffcall buttons (simulated)" in screen(), timeout=20, what="the live table")
        subprocess.run([*tmux, "send-keys", "-l", "1"], check=True, timeout=20)
        call_id = store.message(lambda t, b: t == "staffcall/s1/call/fit-1")["id"]
        store.state(call_id, "waiting")
        wait_until(lambda: "│ waiting" in screen(), timeout=10, what="the waiting call in the table")
        subprocess.run([*tmux, "send-keys", "-l", "h1"], check=True, timeout=20)  # one write: "h" and "1"
        assert store.message(lambda t, b: t == "staffcall/s1/call/fit-1/greet") == {"id": call_id}
        store.state(call_id, "greeted")
        wait_until(lambda: "│ greeted" in screen(), timeout=10, what="the greeted call in the table")

        lines = screen().splitlines()
        titles = [i for i, line in enumerate(lines) if "staffcall buttons (simulated)" in line]
        logged = [i for i, line in enumerate(lines) if f"fit-1: call {call_id}" in line]
        assert len(titles) == 1, "\n".join(lines)
        assert logged and logged[-1] < titles[0], "log lines belong above the table:\n" + "\n".join(lines)
        shown = "\n".join(lines)
        assert not any("INFO" in line for line in lines[titles[0] :]), "a log line inside the table:\n" + shown
        subprocess.run([*tmux, "send-keys", "-l", "q"], check=True, timeout=20)
        store.message(lambda t, b: t == "staffcall/s1/device/fit-1/status" and b == "offline", timeout=20)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=20)
