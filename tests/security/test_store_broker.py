"""The generated broker as a store runs it: oversized packets, restarts, the account it runs as."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from broker.contract.config import load_config
from broker.contract.protocol import MAX_PAYLOAD_BYTES
from broker.mosquitto.setup import MAX_PACKET_BYTES, render_conf, start_store_broker
from tests.conftest import store_config
from tests.security.conftest import peer, write_secure_config

T = "staffcall/s1"


def test_conf_turns_nagle_off_bounds_packets_and_saves_on_changes(tmp_path):
    conf = render_conf(store_config(), tmp_path, tmp_path / "data").splitlines()
    assert "set_tcp_nodelay true" in conf
    assert f"max_packet_size {MAX_PACKET_BYTES}" in conf
    assert MAX_PAYLOAD_BYTES * 4 <= MAX_PACKET_BYTES <= 256 * 1024, "room for every valid message, no more"
    assert "autosave_on_changes true" in conf and "autosave_interval 1" in conf


def test_an_oversized_publish_from_a_device_login_reaches_nobody(secure):
    monitor = peer(secure.cfg, "monitor", [f"{T}/#"])
    kiosk = peer(secure.cfg, "device:kiosk-1")
    other = peer(secure.cfg, "device:kiosk-2")
    dropped = threading.Event()
    kiosk.client.on_disconnect = lambda *a: dropped.set()
    try:
        kiosk.client.publish(f"{T}/call/kiosk-1", b"x" * (2 * 1024 * 1024), qos=1)  # its own topic: the ACL allows it
        dropped.wait(20)  # the broker closes the connection (before the fix: no wait, it passes the 2 MiB on)
        kiosk.client.disconnect()  # no resend of the oversized message on reconnect
        other.publish(f"{T}/device/kiosk-2/status", "online")
        monitor.wait_for(lambda t, m: t == f"{T}/device/kiosk-2/status", timeout=20)
        sizes = [len(m) for t, m in monitor.messages]
        assert all(size <= MAX_PACKET_BYTES for size in sizes), f"an oversized message got through: {max(sizes)}"
        assert dropped.is_set(), "the broker kept a client that sent a 2 MiB packet"
    finally:
        for p in (monitor, kiosk, other):
            p.close()


def restart_keeps_retained_state(store_dir: Path, run_as: str | None) -> Path:
    """Start the generated broker, retain a presence, stop it (a save), start it again: the presence is back."""
    cfg = load_config(write_secure_config(store_dir, tls=False))
    setup, broker = start_store_broker(cfg, store_dir / "broker", log_file=store_dir / "mosquitto.log", run_as=run_as)
    try:
        anna = peer(cfg, "staff:anna")
        anna.publish(f"{T}/staff/anna/presence", '{"status": "on_shift"}', retain=True)
        anna.close()
        broker.stop()  # SIGTERM: Mosquitto saves its state on the way out
        broker.start(allow_embedded=False)
        board = peer(cfg, "board", [f"{T}/staff/+/presence"])
        try:
            _, payload = board.wait_for(lambda t, m: t == f"{T}/staff/anna/presence", timeout=20)
            assert b"on_shift" in payload
        finally:
            board.close()
    finally:
        broker.stop()
    return setup.folder


def test_a_restarted_broker_has_its_retained_state(tmp_path):
    restart_keeps_retained_state(tmp_path, run_as=None if os.geteuid() != 0 else "root")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to the mosquitto account needs root")
def test_started_as_root_the_mosquitto_account_can_save_and_read_its_files():
    try:
        account = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no mosquitto account (Debian's mosquitto package creates it)")
    # pytest's tmp folders are 0700 root: the mosquitto account could not even reach its conf there.
    store_dir = Path(tempfile.mkdtemp(prefix="staffcall-store-"))
    os.chmod(store_dir, 0o755)
    try:
        folder = restart_keeps_retained_state(store_dir, run_as=None)  # Mosquitto's default: "mosquitto"
        data = folder / "data"
        assert data.stat().st_uid == account.pw_uid and stat.S_IMODE(data.stat().st_mode) == 0o700
        assert any(data.iterdir()), "Mosquitto saved nothing"
        for secret in ("passwd", "acl"):
            mode = stat.S_IMODE((folder / secret).stat().st_mode)
            assert (folder / secret).stat().st_gid == account.pw_gid and mode == 0o640, (secret, oct(mode))
        assert stat.S_IMODE((folder / "credentials.toml").stat().st_mode) == 0o600
        assert "Permission denied" not in (store_dir / "mosquitto.log").read_text()
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)
