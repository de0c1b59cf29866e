"""docs/protocol.md's example session, replayed with the plain mosquitto clients on a real hub."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from broker.config import parse_config
from broker.hub import Hub

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
pytestmark = pytest.mark.skipif(not shutil.which("mosquitto_pub"), reason="needs mosquitto-clients")


def example() -> tuple[str, list[tuple[str, list[tuple[str, dict]]]]]:
    """The doc's config and its steps: each mosquitto_pub line with the messages it must cause."""
    text = DOC.read_text()
    section = text.split("## Example session", 1)[1]
    config = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    steps: list[tuple[str, list[tuple[str, dict]]]] = []
    for line in blocks[-1].splitlines():
        if line.startswith("mosquitto_pub"):
            steps.append((line, []))
        elif line.startswith("# expect: "):
            topic, payload = line[len("# expect: ") :].split(" ", 1)
            steps[-1][1].append((topic, json.loads(payload)))
    return config, steps


def contains(actual: dict, expected: dict) -> bool:
    return all(
        contains(actual.get(k) or {}, v) if isinstance(v, dict) else actual.get(k) == v for k, v in expected.items()
    )


def test_example_session_replays(broker, tmp_path):
    config_text, steps = example()
    assert len(steps) >= 8
    cfg = parse_config(config_text.replace("port = 1883", f"port = {broker.port}"))
    cfg.database.path = str(tmp_path / "staffcall.db")
    hub = Hub(cfg)
    hub.start()
    sub = subprocess.Popen(
        ["mosquitto_sub", "-p", str(broker.port), "-v", "-t", "staffcall/s1/#"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in sub.stdout), daemon=True)
    reader.start()
    try:
        assert hub.ready.wait(10)
        for command, expectations in steps:
            cmd = command.replace("-p 1883", f"-p {broker.port}")
            subprocess.run(cmd, shell=True, check=True, timeout=10)
            hub.settle(quiet_s=0.1)
            for topic, expected in expectations:
                deadline = time.monotonic() + 5
                while True:
                    found = any(
                        line.startswith(topic + " ") and contains(json.loads(line.split(" ", 1)[1]), expected)
                        for line in lines
                    )
                    if found:
                        break
                    assert time.monotonic() < deadline, f"after {command!r}: no {topic} {expected}; saw {lines[-8:]}"
                    time.sleep(0.02)
    finally:
        sub.kill()
        hub.stop()
    db = sqlite_utils.Database(cfg.database.path)
    row = db["calls"].get("k1-0001")
    assert (row["status"], row["staff"], row["repeat_presses"], row["feedback_score"]) == ("resolved", "ben", 1, 4)
    assert row["greeted_at_device"] == 1 and row["outcome"] == "helped"
    assert [r["reason"] for r in db["rejected"].rows] == ["invalid payload: Expected `str`, got `int` - at `$.id`"]
