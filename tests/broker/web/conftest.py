"""Fixtures for the phones: a store with QR devices and staff PINs, the hub, and the web server in a thread."""

from __future__ import annotations

import getpass
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import expect

from broker.contract.config import Config, load_config, parse_config
from broker.contract.mqtt import connect_async, make_client
from broker.contract.pins import hash_pin
from broker.hub.shell import Hub
from broker.mosquitto.runner import Broker
from broker.mosquitto.setup import write_setup
from broker.web.keys import qr_key
from tests.conftest import STORE_TOML
from tests.mqtt_helpers import Listener
from tests.security.conftest import Peer, SecureStore, peer, write_secure_config

SECRET = "test-secret-0123456789abcdef"
PIN = "4711"
PIN_HASH = hash_pin(PIN)

RADIO_STAFF = """
[[staff]]
id = "dave"
name = "Dave"
zones = ["electronics"]
pager = "espa:1234"
"""

PHONES_TOML = """
[[devices]]
id = "qr-paint"
kind = "qr"
zone = "electronics"
label = "Paint, aisle 7"

[[devices]]
id = "qr-toys"
kind = "qr"
zone = "toys"
label = "Toys, aisle 2"

[kiosk]
reasons = ["product", "fitting_room", "pickup", "checkout"]

[web]
qr_secret = "{secret}"
public_url = "http://127.0.0.1:{web_port}"
port = {web_port}
free_text = true
outcomes = ["helped", "sale", "sent to another department"]
staff_offline_after_s = {grace}
outbox_dir = "{outbox}"
"""


def phones_config(port: int, db: str, outbox: str, web_port: int = 8080, ack=30, grace=1.5, language="en") -> Config:
    return parse_config(phones_toml(port, db, outbox, web_port, ack, grace, language))


def phones_toml(port: int, db: str, outbox: str, web_port: int = 8080, ack=30, grace=1.5, language="en") -> str:
    base = STORE_TOML.format(port=port, db=db, ack=ack, esc=90, greet=120, unatt=600)
    return (
        with_pins(base, language)
        + RADIO_STAFF
        + PHONES_TOML.format(secret=SECRET, web_port=web_port, grace=grace, outbox=outbox)
    )


def with_pins(base: str, language: str) -> str:
    """The test store in ``language``, where anna, ben and maria can sign in to the staff web app."""
    base = base.replace('name = "Test Store"\n', f'name = "Test Store"\nlanguage = "{language}"\n', 1)
    base = base.replace('zones = ["electronics"]\n', f'zones = ["electronics"]\npin_hash = "{PIN_HASH}"\n', 1)
    base = base.replace(
        'zones = ["electronics", "toys"]\n', f'zones = ["electronics", "toys"]\npin_hash = "{PIN_HASH}"\n'
    )
    # maria (manager) can sign in; dave carries only a radio pager (no PIN): maria sets his presence.
    return base.replace("manager = true\n", f'manager = true\npin_hash = "{PIN_HASH}"\n', 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key(device: str) -> str:
    return qr_key(SECRET, device)


@pytest.fixture
def pconfig(broker, tmp_path) -> Config:
    return phones_config(broker.port, str(tmp_path / "staffcall.db"), str(tmp_path), web_port=free_port())


@pytest.fixture
def phub(pconfig) -> Iterator[Hub]:
    h = Hub(pconfig)
    h.start()
    assert h.ready.wait(10), "the hub did not connect to the test broker"
    yield h
    h.stop()


class WebServer:
    def __init__(self, cfg: Config) -> None:
        from broker.web.serve import build_app

        self.cfg = cfg
        self.app, self.parts = build_app(cfg)
        self.phones = self.parts.phones
        self.port = cfg.web.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 10) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server.started and self.phones.ready()):
            assert time.monotonic() < deadline, "web server or its MQTT clients did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.parts.stop()

    def qr_url(self, device: str, **extra) -> str:
        q = "&".join(f"{k}={v}" for k, v in {"k": key(device), "lang": "en", **extra}.items())
        return f"{self.url}/c/{device}?{q}"


@pytest.fixture
def web(pconfig, phub) -> Iterator[WebServer]:
    w = WebServer(pconfig).start()
    yield w
    w.stop()


@pytest.fixture
def new_phone(browser):
    """Each call: a fresh phone (its own cookies and storage) at 390x844."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def staff_sign_in(page, url: str, staff: str) -> None:
    """Sign ``staff`` in to the staff web app on ``page`` and wait until it shows who they are."""
    page.goto(f"{url}/staff")
    page.select_option("#who", staff)
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    expect(page.locator("#me")).not_to_have_text("")


# --- the store's path: the broker as `staffcall broker init` sets it up (logins, ACL) ------------

QR_POINT = """
[[devices]]
id = "qr-{n:03d}"
kind = "qr"
zone = "toys"
"""


def start_secure_phones_store(folder, language: str = "en", qr_points: int = 0, extra: str = "") -> SecureStore:
    """``tests/security``'s secured store plus the phones: PINs, QR devices (``qr_points`` more), ``[web]``."""
    path = write_secure_config(folder, tls=False)
    web = PHONES_TOML.format(secret=SECRET, web_port=free_port(), grace=1.5, outbox=folder)
    more = "".join(QR_POINT.format(n=n) for n in range(qr_points))
    path.write_text(with_pins(path.read_text(), language) + web + extra + more)
    cfg = load_config(path)
    setup = write_setup(cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=getpass.getuser())
    broker = Broker(port=cfg.broker.port, workdir=str(folder), conf=setup.conf).start(allow_embedded=False)
    return SecureStore(cfg, broker, folder)


class SecurePhones:
    """A secured store with its hub, the web server and a read-only ``monitor`` peer on everything."""

    def __init__(self, folder, language: str = "en", qr_points: int = 0, extra: str = "") -> None:
        self.store = start_secure_phones_store(folder, language, qr_points, extra)
        self.cfg = self.store.cfg
        self.hub = Hub(self.cfg)
        self.hub.start()
        assert self.hub.ready.wait(20), "the hub could not log in to the secured broker"
        self.monitor: Peer = peer(self.cfg, "monitor", ["staffcall/s1/#"])
        self.web = WebServer(self.cfg).start(timeout=60)

    def state(self, call_id: str, status: str, timeout: float = 10.0) -> dict:
        import json

        topic = f"staffcall/s1/state/{call_id}"
        _, payload = self.monitor.wait_for(
            lambda t, b: t == topic and bool(b) and json.loads(b)["status"] == status, timeout
        )
        return json.loads(payload)

    def stop(self) -> None:
        self.web.stop()
        self.monitor.close()
        self.hub.stop()
        self.store.broker.stop()


@pytest.fixture
def secure_phones(tmp_path) -> Iterator[SecurePhones]:
    s = SecurePhones(tmp_path)
    yield s
    s.stop()


class SecureListener(Listener):
    """``tests.mqtt_helpers.Listener`` on the secured broker: it reads as ``monitor``, and each publish
    goes out with the login of the part that sends it in a store (``call/D...`` as ``device:D``,
    ``staff/S/...`` as ``staff:S``), so the broker's ACL applies to it."""

    def __init__(self, cfg: Config, topics: list[str]) -> None:
        self.cfg = cfg
        self.messages = []
        self._cond = threading.Condition()
        self._parts: dict[str, object] = {}
        self.client = make_client(f"test-monitor-{time.monotonic_ns()}", cfg.broker, identity="monitor")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        connect_async(self.client, cfg.broker)
        self.client.loop_start()
        assert subscribed.wait(10), "monitor: subscription not acknowledged"

    def publish(self, topic: str, payload, retain: bool = False) -> None:
        import json as _json

        kind, name = topic.split("/")[2:4]
        identity = {"call": f"device:{name}", "staff": f"staff:{name}"}[kind]
        if identity not in self._parts:
            self._parts[identity] = peer(self.cfg, identity)
        body = payload if isinstance(payload, (bytes, str)) else _json.dumps(payload)
        self._parts[identity].publish(topic, body, retain=retain)

    def close(self) -> None:
        for part in self._parts.values():
            part.close()
        super().close()


@pytest.fixture
def secure_web(tmp_path) -> Iterator[SecurePhones]:
    """The secured store with hub and web server; ``secure_web.listener`` reads and acts as its parts."""
    s = SecurePhones(tmp_path)
    s.listener = SecureListener(s.cfg, ["staffcall/#"])
    yield s
    s.listener.close()
    s.stop()
