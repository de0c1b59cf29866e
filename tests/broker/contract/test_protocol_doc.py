"""docs/protocol.md's example session, replayed with the plain mosquitto clients on a real hub."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import msgspec
import pytest
import sqlite_utils

from broker.contract.config import parse_config
from broker.contract.protocol import StateMsg
from broker.hub.shell import Hub

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


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


@pytest.mark.skipif(not shutil.which("mosquitto_pub"), reason="needs mosquitto-clients")
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


def documented_state_fields() -> tuple[list[str], dict[str, object]]:
    """The state section's "Required fields" and "Optional fields" sentences: names, and what a missing one means."""
    section = DOC.read_text().split("### `state/{id}`", 1)[1].split("\n### ", 1)[0]
    paragraph = " ".join(section.split("Required fields:", 1)[1].split("\n\n", 1)[0].split())
    required_part, optional_part = paragraph.split("Optional fields", 1)
    required = re.findall(r"`(\w+)`", required_part)
    optional: dict[str, object] = {}
    for names, meaning in re.findall(r"((?:`\w+`,? ?)+)\(missing means (\w+)\)", optional_part):
        for name in re.findall(r"`(\w+)`", names):
            optional[name] = json.loads(meaning)
    return required, optional


def test_state_fields_required_and_optional_agree_with_the_struct():
    required, optional = documented_state_fields()
    fields = {f.name: f for f in msgspec.structs.fields(StateMsg)}
    assert set(required) | set(optional) == set(fields), "docs/protocol.md and StateMsg name different fields"
    assert sorted(required) == sorted(n for n, f in fields.items() if f.required)
    assert optional == {n: f.default for n, f in fields.items() if not f.required}
    example = json.loads(re.search(r"### `state/\{id\}`.*?```json\n(.*?)```", DOC.read_text(), re.S).group(1))
    assert list(example) == list(fields), "the documented example lists every field, in the wire's order"


def test_the_smallest_documented_state_decodes_as_not_known():
    from broker.contract.protocol import decode

    required, optional = documented_state_fields()
    values = {"tier": 1}
    minimal = {name: values.get(name, "k1-0001") for name in required}
    state = decode(StateMsg, json.dumps(minimal).encode())
    assert {name: getattr(state, name) for name in optional} == optional


def test_every_reader_of_states_takes_the_smallest_one():
    """The staff pager, the staff web app and the board read a state with only the required fields."""
    from broker.callpoint.pager import PagerCore
    from broker.contract.protocol import decode
    from broker.web.live import LiveState
    from broker.web.staffdesk import StaffDesk
    from tests.conftest import store_config

    required, _ = documented_state_fields()
    minimal = {name: "k1-0001" for name in required} | {
        "device": "kiosk-1",
        "zone": "electronics",
        "status": "waiting",
        "tier": 3,
        "updated_at": "2026-11-25T09:30:00.211Z",
    }
    payload = json.dumps(minimal).encode()
    pager = PagerCore("anna")
    pager.on_state(decode(StateMsg, payload), 10.0)
    assert [row.id for row in pager.open_calls(12.0)] == ["k1-0001"]
    desk = StaffDesk()
    desk.session("anna", 10.0)
    desk.on_state(decode(StateMsg, payload), 10.0)
    assert "k1-0001" in json.dumps(desk.view("anna", "Anna", 12.0, []))
    live = LiveState("s1")
    assert live.apply("staffcall/s1/state/k1-0001", payload)
    assert [c["id"] for c in live.board(store_config(), 1764063000.0)["calls"]] == ["k1-0001"]
