"""Making paho-mqtt clients the way every staffcall part needs them.

MQTT 3.1.1 (so microcontroller wearables can join), QoS 1, a Will where the part's
absence matters, credentials from config, TCP_NODELAY (paho leaves Nagle on, which
costs small messages up to 40 ms), and paho's own reconnect loop with a capped
back-off.

Example::

    client = make_client("kiosk-kiosk-1", cfg.broker, will=(topics.device_status("kiosk-1"), "offline"))
    client.connect_async(cfg.broker.host, cfg.broker.port, cfg.broker.keepalive_s)
    client.loop_start()
"""

from __future__ import annotations

import contextlib
import socket
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.config import BrokerCfg


def make_client(
    client_id: str,
    cfg: BrokerCfg,
    *,
    clean_session: bool = True,
    will: tuple[str, str | bytes] | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
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


def wait_connected(client: mqtt.Client, timeout: float = 10.0) -> bool:
    """Block until ``client`` is connected (its loop must be running)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if client.is_connected():
            return True
        done.wait(0.02)
    return client.is_connected()
