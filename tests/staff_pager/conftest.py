"""Fixtures for the pager tests: a config file on disk for subprocesses, a line reader for their output."""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]


OUTCOMES = ["helped", "sale", "sent to another department"]


@pytest.fixture
def config_file(broker, tmp_path) -> Path:
    path = write_config(tmp_path / "staffcall.toml", port=broker.port, db=str(tmp_path / "unused.db"))
    with path.open("a") as f:
        f.write(f"\n[pager]\noutcomes = {OUTCOMES!r}\n".replace("'", '"'))
    return path


def hub_outcome(hub, call_id: str, timeout: float = 10.0) -> str | None:
    """``calls.outcome`` in the hub's own database, once the hub has written the closed call."""
    deadline = time.monotonic() + timeout
    while True:
        hub.settle()
        with contextlib.closing(sqlite3.connect(hub.cfg.database.path)) as db:
            row = db.execute("select status, outcome from calls where id = ?", (call_id,)).fetchone()
        if row is not None and row[0] == "resolved":
            return row[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"call {call_id!r} is not resolved in the hub's database: {row}")
        time.sleep(0.05)


class Proc:
    """A subprocess whose stdout is read line by line in a thread, so a test can wait on a line."""

    def __init__(self, args: list[str], env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            cwd=ROOT, env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_line(self, pred, timeout: float = 10.0, start: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if pred(line):
                    return line
            if self.proc.poll() is not None and not any(pred(x) for x in self.lines[start:]):
                break
            time.sleep(0.02)
        tail = "\n".join(self.lines[-30:])
        raise AssertionError(f"no matching line within {timeout}s (exit {self.proc.poll()}); output:\n{tail}")

    def close(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)  # every line read before the test looks at them
        return self.proc.returncode


@pytest.fixture
def spawn():
    procs: list[Proc] = []

    def start(*args: str, env: dict | None = None) -> Proc:
        proc = Proc([sys.executable, *args], env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.close()


@pytest.fixture(scope="session")
def xvfb():
    from kiosk.xvfb import Xvfb

    server = Xvfb("480x800")
    yield server
    server.stop()


@pytest.fixture
def app(config_file, xvfb, tmp_path):
    """The real staff app in a subprocess on the private X display, remote-controlled by touch events."""
    from staff_pager.uidriver import PagerProcess

    remote = PagerProcess(config_file, xvfb.display, tmp_path / "kivy", "--lang", "en")
    yield remote
    remote.close()
