"""``staffcall pager-gateway`` as a store runs it: a process, a config file, SIGTERM to stop."""

from __future__ import annotations

import signal
import subprocess
import sys

from broker.cli import build_parser
from tests.conftest import write_config
from tests.staff_pager.gateway.conftest import GATEWAY_TOML


def test_help_has_an_example():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert "Example: staffcall pager-gateway" in sub.choices["pager-gateway"].description


def test_gateway_process_pages_and_stops_cleanly(broker, tmp_path, adapter, espa_sim, listener):
    path = write_config(tmp_path / "staffcall.toml", port=broker.port)
    text = path.read_text().replace('id = "anna"\n', 'id = "anna"\npager = "espa:1234"\n')
    path.write_text(text + GATEWAY_TOML.format(port=adapter.path, protocol="espa", outage=5))
    proc = subprocess.Popen([sys.executable, "-m", "broker.cli", "pager-gateway", "--config", str(path)])
    try:
        t = "staffcall/s1"
        listener.wait_for(lambda m: m.topic == f"{t}/gateway/status" and m.json["state"] == "ready", timeout=10)
        listener.publish(f"{t}/page/anna", {**_page(), "id": "p1"})
        assert espa_sim.wait_received(1)[0].startswith(b"\x011\x021\x1f1234\x1e2\x1fKiosk")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        listener.wait_for(lambda m: m.topic == f"{t}/gateway/status" and m.json["state"] == "offline")
    finally:
        proc.kill()


def test_no_pager_staff_is_a_clear_error(broker, tmp_path):
    path = write_config(tmp_path / "staffcall.toml", port=broker.port)
    out = subprocess.run(
        [sys.executable, "-m", "broker.cli", "pager-gateway", "--config", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 2 and 'pager = "espa:...' in out.stdout


def _page() -> dict:
    return {
        "device": "kiosk-1",
        "zone": "electronics",
        "reason": "product",
        "tier": 1,
        "opened_at": "2024-05-01T10:00:00+02:00",
        "text": "Kiosk by the TVs (electronics): product, 0:00",
    }
