"""``staffcall broker init`` with ``[chain]``: the bridge section, the hub's right to publish the chain
topics, and a real Mosquitto that starts on the generated files."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from broker.contract.config import ConfigError, load_config
from broker.mosquitto.ca import make_store_ca
from broker.mosquitto.setup import start_store_broker
from tests.security.conftest import write_secure_config


def _store(tmp_path: Path, chain: str) -> Path:
    path = write_secure_config(tmp_path, tls=False)
    path.write_text(path.read_text() + chain)
    return path


def test_broker_init_writes_a_bridge_mosquitto_runs(tmp_path: Path) -> None:
    make_store_ca(tmp_path / "chain-tls", ["localhost"])
    (tmp_path / "login.toml").write_text('username = "s1"\npassword = "secret-1"\n')
    path = _store(
        tmp_path,
        '\n[chain]\nenabled = true\nhost = "127.0.0.1"\nport = 1\naddresses = ["localhost:2"]\n'
        'credentials = "login.toml"\nca = "chain-tls/ca.crt"\n',
    )
    cfg = load_config(path)
    setup, broker = start_store_broker(cfg, tmp_path / "broker", log_file=tmp_path / "m.log", run_as=getpass.getuser())
    try:
        assert broker.proc.poll() is None, "mosquitto runs with the bridge (whose chain is unreachable)"
    finally:
        broker.stop()
    conf = setup.conf.read_text()
    for line in (
        "connection chain-s1",
        "address 127.0.0.1:1 localhost:2",
        "remote_username s1",
        "remote_password secret-1",
        "bridge_protocol_version mqttv311",
        "try_private false",
        "cleansession false",
        "topic chain/s1/# out 1",
        "max_queued_messages 120000",
        "max_queued_bytes 67108864",
        f"bridge_cafile {tmp_path / 'chain-tls/ca.crt'}",
        "bridge_insecure false",
    ):
        assert line in conf.splitlines(), line
    assert setup.conf.stat().st_mode & 0o077 == 0, "the conf holds the chain password: owner only"
    acl = setup.acl.read_text()
    hub_block = acl.split("user _hub\n", 1)[1].split("\n\n", 1)[0]
    assert "topic write chain/s1/#" in hub_block
    assert acl.count("chain/") == 1, "only the hub may publish the store's chain records"


def test_chain_off_by_default_and_bad_settings_named(tmp_path: Path) -> None:
    cfg = load_config(_store(tmp_path, ""))
    assert not cfg.chain.enabled
    with pytest.raises(ConfigError, match=r"\[chain\] username"):
        load_config(_store(tmp_path, '\n[chain]\nenabled = true\nhost = "chain.example.com"\n'))
    with pytest.raises(ConfigError, match=r"\[chain\] host"):
        load_config(_store(tmp_path, '\n[chain]\nenabled = true\nhost = "a b"\nusername = "s1"\npassword = "x"\n'))
