"""The generated files as text, the config checks, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.cli import main
from broker.contract.config import ConfigError, parse_config
from broker.contract.credentials import load, username
from broker.mosquitto.setup import render_acl, render_conf
from tests.conftest import STORE_TOML, store_config, write_config


def test_acl_gives_each_login_only_its_own_topics():
    acl = render_acl(store_config())
    kiosk = acl.split("user kiosk-1\n")[1].split("\n\n")[0].splitlines()
    assert kiosk == [
        "topic write staffcall/s1/call/kiosk-1",
        "topic write staffcall/s1/call/kiosk-1/+",
        "topic readwrite staffcall/s1/device/kiosk-1/status",
        "topic read staffcall/s1/state/+",
        "topic read staffcall/s1/hub/status",
    ]
    anna = acl.split("user anna\n")[1].split("\n\n")[0]
    assert "topic write staffcall/s1/staff/anna/+" in anna and "ben" not in anna
    board = acl.split("user _board\n")[1].split("\n\n")[0]
    assert all(line.startswith("topic read ") for line in board.splitlines())
    assert "user _hub\ntopic readwrite staffcall/s1/#" in acl


def test_conf_has_no_anonymous_and_optional_listeners(tmp_path):
    cfg = store_config()
    conf = render_conf(cfg, tmp_path, tmp_path / "data")
    assert "allow_anonymous false" in conf and "listener 1883\n" in conf and "8883" not in conf
    cfg.broker.cert, cfg.broker.key, cfg.broker.ca, cfg.broker.websocket_port = "s.crt", "s.key", "ca.crt", 9001
    cfg.broker.bind = "192.168.1.10"
    conf = render_conf(cfg, tmp_path, tmp_path / "data")
    assert "listener 8883 192.168.1.10\nprotocol mqtt\ncertfile s.crt\nkeyfile s.key\ncafile ca.crt" in conf
    assert "listener 9001 192.168.1.10\nprotocol websockets" in conf


@pytest.mark.parametrize(
    "extra, message",
    [
        ('credentials = "c.toml"\nusername = "x"', r"\[broker\] username: use either credentials"),
        ('cert = "s.crt"', r"\[broker\] cert: cert and key go together"),
        ("tls_port = 0", r"\[broker\] tls_port: 0 is not a TCP port"),
    ],
)
def test_broker_config_errors_name_the_key(extra, message):
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    with pytest.raises(ConfigError, match=message):
        parse_config(text.replace("port = 1883\n", f"port = 1883\n{extra}\n", 1))


def test_a_staff_id_equal_to_a_device_id_is_refused_with_credentials():
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    text = text.replace("port = 1883\n", 'port = 1883\ncredentials = "c.toml"\n', 1)
    text += '[[staff]]\nid = "kiosk-1"\nname = "K"\n'
    with pytest.raises(ConfigError, match="'kiosk-1' is also a device id"):
        parse_config(text)


def test_identities_map_to_logins():
    assert username("hub") == "_hub" and username("device:k1") == "k1" and username("staff:anna") == "anna"
    with pytest.raises(ValueError, match="identity 'boss'"):
        username("boss")


def test_cli_init_writes_everything_and_keeps_passwords(tmp_path: Path, capsys):
    config = write_config(tmp_path / "staffcall.toml", port=1883)
    out = tmp_path / "broker"
    assert main(["broker", "init", "--config", str(config), "--out", str(out)]) == 0
    first = load(out / "credentials.toml")
    assert set(first) == {
        "_hub",
        "_board",
        "_gateway",
        "_monitor",
        "_phones",
        "_integrations",
        "kiosk-1",
        "kiosk-2",
        "button-1",
    } | {
        "anna",
        "ben",
        "chloe",
        "maria",
    }
    assert main(["broker", "init", "--config", str(config), "--out", str(out)]) == 0
    assert load(out / "credentials.toml") == first, "re-running init must not lock out installed parts"
    hashed = (out / "passwd").read_text().splitlines()
    assert len(hashed) == len(first) == 13
    assert "(13 logins)" in capsys.readouterr().out, "the count printed is the count written"
    assert main(["broker", "ca", "--out", str(tmp_path / "tls"), "--host", "hub.local"]) == 0
    assert (tmp_path / "tls" / "ca.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_the_web_server_acts_only_for_colleagues_who_can_sign_in_there():
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    text = text.replace('id = "anna"\n', 'id = "anna"\npin_hash = "scrypt$x$y"\npager = "tap:555"\n', 1)
    text = text.replace('id = "chloe"\n', 'id = "chloe"\npager = "espa:1234"\n', 1)  # a radio pager, no PIN
    text += '\n[[devices]]\nid = "qr-1"\nkind = "qr"\nzone = "toys"\n'
    acl = render_acl(parse_config(text))
    block = acl.split("user _phones\n", 1)[1].split("\n\n", 1)[0]
    assert "topic write staffcall/s1/staff/anna/+" in block
    assert "staff/anna/presence" not in block  # a pager and a PIN: covered by anna/+ once, as herself
    assert "topic write staffcall/s1/staff/chloe/presence" in block  # a manager sets it in the staff web app
    assert "staff/chloe/+" not in block  # and nothing else of chloe's
    assert "staff/ben/" not in block and "staff/maria/" not in block
    assert "topic write staffcall/s1/call/qr-1/bad_key" in block and "call/kiosk-1/" not in block
    assert "topic read staffcall/s1/page/+" in block
