"""What the benches share: a store set up as ``staffcall broker init`` sets one up, and its parts' logins.

A bench's figures are those of the configuration a store runs: the generated ``mosquitto.conf``
(persistence, save on every change, Nagle off), one hashed login per part and the ACL, every
client logged in as the part it plays (``identity``: "hub", "monitor", "device:<id>",
"staff:<id>", "phones").  Product imports only; nothing from ``tests/``.

Example::

    store = start_store(Path(tmp), extra=KIOSK_SECTION)
    watch = connected(store.cfg, "bench-watch", "monitor", subscribe=["staffcall/s1/#"])
    ...
    store.stop()
"""

from __future__ import annotations

import getpass
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from broker.contract.config import Config, load_config
from broker.contract.mqtt import connect_async, make_client, wait_connected
from broker.mosquitto.runner import Broker, free_port
from broker.mosquitto.setup import start_store_broker

STORE_ID = "s1"
ROOT_TOPIC = f"staffcall/{STORE_ID}"

STORE_TOML = """\
[store]
id = "s1"
name = "Bench Store"
target_greet_s = 60
language = "en"
nobody_on_shift_text = "Please ask at the checkout by the entrance."

[broker]
host = "127.0.0.1"
port = {port}
credentials = "broker/credentials.toml"

[database]
path = "{db}"

[timers]
ack_timeout_s = 30
escalate_after_s = 90
greet_timeout_s = 120
unattended_after_s = 600

[[staff]]
id = "anna"
name = "Anna"
zones = ["electronics"]
{anna_pin}
[[staff]]
id = "ben"
name = "Ben"
zones = ["electronics", "toys"]

[[staff]]
id = "maria"
name = "Maria"
role = "Store manager"
manager = true

[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "electronics"
label = "Kiosk by the TVs"
"""


@dataclass
class BenchStore:
    cfg: Config
    config_path: Path
    broker: Broker

    def stop(self) -> None:
        self.broker.stop()


def start_store(folder: Path, extra: str = "", anna_pin_hash: str | None = None) -> BenchStore:
    """Write the bench store's config (plus ``extra`` TOML) into ``folder`` and start its broker.

    The broker runs under our own account: started as root it would switch to ``mosquitto``, which
    cannot enter a temporary folder."""
    path = folder / "staffcall.toml"
    anna_pin = f'pin_hash = "{anna_pin_hash}"\n' if anna_pin_hash else ""
    path.write_text(STORE_TOML.format(port=free_port(), db=folder / "staffcall.db", anna_pin=anna_pin) + extra)
    cfg = load_config(path)
    _, broker = start_store_broker(cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=getpass.getuser())
    return BenchStore(cfg, path, broker)


def connected(cfg: Config, name: str, identity: str, subscribe: list[str] = ()) -> mqtt.Client:
    """A client as the product makes one (its own login, TCP_NODELAY), connected and subscribed.

    Set ``on_message`` before calling if it must see retained messages sent at subscription."""
    client = make_client(name, cfg.broker, identity=identity)
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    if subscribe:
        client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in subscribe])
    connect_async(client, cfg.broker)
    client.loop_start()
    if not wait_connected(client, 10):
        raise SystemExit(f"bench: {identity} could not log in to the store broker")
    if subscribe and not subscribed.wait(10):
        raise SystemExit(f"bench: {identity} got no SUBACK for {subscribe}")
    return client


def close(*clients: mqtt.Client) -> None:
    for client in clients:
        client.disconnect()
        client.loop_stop()
