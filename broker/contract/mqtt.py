"""Making paho-mqtt clients the way every staffcall part needs them.

MQTT 3.1.1 (so microcontroller wearables can join), QoS 1, a Will where the part's
absence matters, the part's own login (``identity``, looked up in ``[broker] credentials``)
and TLS from config, TCP_NODELAY (paho leaves Nagle on, which costs small messages up to
40 ms), and paho's own reconnect loop with a capped back-off.

Example::

    client = make_client("kiosk-kiosk-1", cfg.broker, identity="device:kiosk-1",
                         will=(topics.device_status("kiosk-1"), "offline"))
    connect_async(client, cfg.broker)
    client.loop_start()
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.contract import credentials
from broker.contract.config import BrokerCfg, ConfigError


def make_client(
    client_id: str,
    cfg: BrokerCfg,
    *,
    clean_session: bool = True,
    will: tuple[str, str | bytes] | None = None,
    manual_ack: bool = False,
    identity: str | None = None,
) -> mqtt.Client:
    """A client for one part; ``identity`` ("hub", "board", "gateway", "monitor", "device:<id>",
    "staff:<id>") picks its login when ``[broker] credentials`` is set."""
    login: tuple[str, str | None] | None = None
    if cfg.credentials:
        if identity is None:
            raise ConfigError(f"[broker] credentials is set but client {client_id!r} was made without an identity")
        login = credentials.login(cfg.credentials, identity)
        # Only this login can name this session: no other login can unseat it (docs/security.md).
        client_id = credentials.owned_client_id(client_id, *login)
    elif cfg.username:
        login = (cfg.username, cfg.password)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    if login is not None:
        client.username_pw_set(*login)
    if cfg.ca:
        if not Path(cfg.ca).is_file():
            raise ConfigError(f"[broker] ca: {cfg.ca} does not exist; copy the store CA certificate there")
        client.tls_set(ca_certs=cfg.ca)
        client.tls_insecure_set(cfg.insecure)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.on_socket_open = _no_delay
    return client


def _no_delay(client: mqtt.Client, userdata, sock) -> None:
    """Disable Nagle: paho does not, and a small publish right after a PUBACK otherwise waits for the
    broker's delayed ACK (about 25-40 ms on Linux), far over our press -> message budget."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (a websocket wrapper): keep going
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect_async(client: mqtt.Client, cfg: BrokerCfg) -> None:
    """Point ``client`` at the broker: the TLS port when a CA is configured, else the plain one."""
    client.connect_async(cfg.host, cfg.connect_port, cfg.keepalive_s)


def wait_connected(client: mqtt.Client, timeout: float = 10.0) -> bool:
    """Block until ``client`` is connected (its loop must be running)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if client.is_connected():
            return True
        done.wait(0.02)
    return client.is_connected()
