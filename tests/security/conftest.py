"""A store broker set up exactly as ``staffcall broker init`` sets one up: logins, ACL, TLS."""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broker.contract.config import Config, load_config
from broker.contract.mqtt import connect_async, make_client
from broker.hub.shell import Hub
from broker.mosquitto.ca import make_store_ca
from broker.mosquitto.runner import Broker, free_port
from broker.mosquitto.setup import start_store_broker
from tests.conftest import STORE_TOML

EXTRA_STAFF = """
[[staff]]
id = "dave"
name = "Dave"
zones = ["toys"]
pager = "espa:1234"
"""


def write_secure_config(folder: Path, tls: bool, **timers) -> Path:
    ports = {"port": free_port(), "tls": free_port()}
    text = STORE_TOML.format(
        port=ports["port"],
        db=folder / "staffcall.db",
        **{"ack": 30, "esc": 90, "greet": 120, "unatt": 600, **timers},
    )
    broker = f'credentials = "broker/credentials.toml"\ntls_port = {ports["tls"]}\n'
    if tls:
        make_store_ca(folder / "tls", ["localhost", "127.0.0.1"])
        broker += 'ca = "tls/ca.crt"\ncert = "tls/server.crt"\nkey = "tls/server.key"\n'
    text = text.replace("[database]", broker + "\n[database]", 1) + EXTRA_STAFF
    path = folder / "staffcall.toml"
    path.write_text(text)
    return path


@dataclass
class SecureStore:
    cfg: Config
    broker: Broker
    folder: Path


def start_secure_store(folder: Path, tls: bool = False, **timers) -> SecureStore:
    path = write_secure_config(folder, tls, **timers)
    cfg = load_config(path)
    # Mosquitto started as root would switch to the "mosquitto" account, which cannot read pytest's tmp folders.
    _, broker = start_store_broker(cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=getpass.getuser())
    return SecureStore(cfg, broker, folder)


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[SecureStore]:
    store = start_secure_store(tmp_path, tls=False)
    yield store
    store.broker.stop()


@pytest.fixture
def secure_tls(tmp_path: Path) -> Iterator[SecureStore]:
    store = start_secure_store(tmp_path, tls=True)
    yield store
    store.broker.stop()


@pytest.fixture
def secure_hub(secure: SecureStore) -> Iterator[Hub]:
    hub = Hub(secure.cfg)
    hub.start()
    assert hub.ready.wait(10), "the hub could not log in to the secured broker"
    yield hub
    hub.stop()


@dataclass
class Peer:
    """A client logged in as one part (its own credential from the config), recording what it sees."""

    client: mqtt.Client
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    connack: list = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(self, pred: Callable[[str, bytes], bool], timeout: float = 5.0) -> tuple[str, bytes]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if pred(*m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching message in {timeout}s; saw {[t for t, _ in self.messages][-10:]}"
                    )
                self.cond.wait(left)

    def topics(self) -> list[str]:
        with self.cond:
            return [t for t, _ in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def peer(cfg: Config, identity: str | None, subscribe: list[str] = (), client_id: str = "") -> Peer:
    client = make_client(client_id or f"test-{identity}-{time.monotonic_ns()}", cfg.broker, identity=identity)
    p = Peer(client)
    subscribed = threading.Event()

    def on_connect(c, userdata, flags, rc, props):
        with p.cond:
            p.connack.append(rc)
            p.cond.notify_all()
        if not rc.is_failure and subscribe:
            c.subscribe([(t, 1) for t in subscribe])
        elif not rc.is_failure:
            subscribed.set()

    def on_message(c, userdata, msg):
        with p.cond:
            p.messages.append((msg.topic, msg.payload))
            p.cond.notify_all()

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    connect_async(client, cfg.broker)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not p.connack and time.monotonic() < deadline:
        time.sleep(0.01)
    if p.connack and not p.connack[0].is_failure:
        assert subscribed.wait(5), f"{identity}: subscription not acknowledged"
    return p
