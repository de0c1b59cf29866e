"""Shared pieces of the fault tests: a store config, the hub as a process, a cuttable link, the figures."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlite_utils

from broker.mosquitto.runner import free_port

FIGURES_ENV = "STAFFCALL_FAULT_FIGURES"
"""When set, each fault test appends one JSON line of figures to this file (python -m tests.faults.report)."""


def record(
    test: str,
    load: str,
    faults: str,
    inputs: int,
    lost: int,
    duplicates: int,
    note: str = "",
    phantom: int | str = "n/a",
    deaf: float | str = "n/a",
) -> None:
    """Print what the test did and counted; keep it for docs/reliability.md when asked to.

    ``phantom``: calls opened that no customer made.  ``deaf``: the longest time, in seconds, from a real
    call's publish to its first page while the fault was on ("n/a" where the test cannot measure it)."""
    deaf_text = f"{deaf:.2f} s" if isinstance(deaf, int | float) else deaf
    row = {"test": test, "load": load, "faults": faults, "inputs": inputs, "lost": lost, "duplicates": duplicates}
    row.update(phantom=phantom, deaf=deaf_text, note=note)
    print(
        f"\n[fault] {test}: {load}; injected {faults}; {inputs} inputs; lost {lost}; duplicates {duplicates}; "
        f"phantom {phantom}; deaf {deaf_text}. {note}"
    )
    out = os.environ.get(FIGURES_ENV)
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def write_store(path: Path, port: int, devices: list[tuple[str, str]], ack: float = 1, esc: float = 30) -> Path:
    """A store with anna, ben and chloe on the floor and the given (id, kind) devices."""
    lines = [
        '[store]\nid = "s1"\nname = "Fault test"\n',
        f"[broker]\nport = {port}\nkeepalive_s = 5\n",
        f'[database]\npath = "{path.parent / "staffcall.db"}"\n',
        f"[timers]\nack_timeout_s = {ack}\nescalate_after_s = {esc}\nunattended_after_s = 600\n",
    ]
    for s in ("anna", "ben", "chloe"):
        lines.append(f'[[staff]]\nid = "{s}"\nname = "{s.title()}"\nzones = ["floor"]\n')
    for ident, kind in devices:
        lines.append(f'[[devices]]\nid = "{ident}"\nkind = "{kind}"\nzone = "floor"\n')
    path.write_text("\n".join(lines))
    return path


def start_hub(
    config: Path, log: Path | None = None, prefix: list[str] = (), env: dict | None = None
) -> subprocess.Popen:
    """The hub as the service manager runs it: its own process.  ``log`` keeps its output (appended, so a
    restart adds to it); ``prefix`` runs it under another program (``faketime``)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen(
            [*prefix, sys.executable, "-m", "broker.cli", "hub", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            env=env,
        )
    finally:
        if log:
            out.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait(pred, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


def rows(db: Path, sql: str, params=()) -> list[dict]:
    if not db.exists():
        return []
    # Closed at once, not whenever the garbage collector gets to it: closing the last connection
    # checkpoints and deletes the WAL, which the power-cut test needs to find as the killed hub left it.
    conn = sqlite3.connect(db)
    try:
        return list(sqlite_utils.Database(conn).query(sql, params))
    finally:
        conn.close()


def presses(db: Path) -> tuple[list[str], list[str]]:
    """(call ids, repeat-press ids) recorded by the hub; together they are every press it took."""
    calls = [r["id"] for r in rows(db, "select id from calls")]
    repeats = [
        json.loads(r["payload"])["press_id"] for r in rows(db, "select payload from events where kind = 'repeat_press'")
    ]
    return calls, repeats


def lost_and_duplicates(sent: list[str], db: Path) -> tuple[int, int]:
    calls, repeats = presses(db)
    seen = calls + repeats
    return len(set(sent) - set(seen)), len(seen) - len(set(seen))


class CuttableLink:
    """A TCP relay in front of the broker: ``cut()`` drops every connection at once (no MQTT DISCONNECT,
    like a Wi-Fi drop) and refuses new ones until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.up = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                conn.close()
                continue
            with self.lock:
                self.pairs.append((conn, upstream))
            threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.server.close()
