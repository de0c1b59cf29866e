"""One MQTT Will per colleague on shift through the staff web app, so the hub hears when the web server dies.

The web server speaks for every signed-in colleague over one MQTT connection, and a
connection has one Will, which could not say *who* is gone.  So while a colleague is
on shift (or on a break) through the web app, the server holds one more small
connection for them whose Will is ``{"status": "offline"}`` on their retained
``staff/{id}/presence``, the same Will a pager app has.  When they go off, are
reported offline, or sign out, that connection is closed cleanly and its Will is
discarded.  If the process dies (a crash, ``kill -9``, the power) the broker publishes
every Will at once and the hub pages someone else, instead of waiting on colleagues
nobody can reach.

Each is a paho client with its own network thread: a store has tens of colleagues on
phones, not thousands.  The login is the web server's own (its ACL may write
``staff/{id}/+`` for every colleague with a PIN).
"""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt

from broker.contract import protocol as p
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client

log = logging.getLogger(__name__)

HOLD_STATUSES = frozenset({"on_shift", "break"})
"""Presences in which a colleague can be paged or is about to be: these need a Will."""


class PresenceWills:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.topics = p.Topics(cfg.store.id)
        self.lock = threading.Lock()
        self.clients: dict[str, mqtt.Client] = {}

    def follow(self, staff: str, status: str) -> None:
        """The server published ``status`` as ``staff``'s presence: hold or drop their Will to match."""
        if status in HOLD_STATUSES:
            self.hold(staff)
        else:
            self.release(staff)

    def hold(self, staff: str) -> None:
        with self.lock:
            if staff in self.clients:
                return
            topic = self.topics.presence(staff)
            client = make_client(
                f"staffcall-phones-{self.cfg.store.id}-will-{staff}",
                self.cfg.broker,
                will=(topic, p.encode({"status": "offline"})),
                identity="phones",
            )
            self.clients[staff] = client
        connect_async(client, self.cfg.broker)
        client.loop_start()

    def release(self, staff: str) -> None:
        with self.lock:
            client = self.clients.pop(staff, None)
        if client is not None:
            client.disconnect()  # a clean DISCONNECT: the broker discards the Will
            client.loop_stop()

    def close(self) -> None:
        for staff in list(self.clients):
            self.release(staff)
