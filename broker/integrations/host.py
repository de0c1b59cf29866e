"""One MQTT connection for every integration, each integration on its own thread.

The host logs in as the ``integrations`` service (its own login and least-privilege ACL), keeps a
persistent session (clean session off, QoS 1), and hands every message to each integration that
subscribed to its topic, through that integration's own bounded queue and worker thread: one that
blocks (a loudspeaker mid-sentence, a webhook receiver that is down) delays only itself.

A message is acknowledged to the broker once every integration it went to has handled it
(``handle`` returned: an integration that must not lose a message, like the webhooks, has put it in
its own outbox by then), so a killed integrations process gets what it had not handled again.

Example::

    host = IntegrationHost(cfg, [Announcer(cfg), Webhooks(cfg)])
    host.start()      # until host.stop()
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.matcher import MQTTMatcher

from broker.contract import protocol as p
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
"""Messages waiting for one integration; past this the oldest wait in the broker (not acknowledged)."""


class Integration(Protocol):
    """What the host needs of an integration."""

    name: str

    def topics(self) -> list[str]:
        """Topic filters under ``staffcall/{store}/`` (e.g. ``"state/+"``), or absolute ones from ``/``."""
        ...

    def start(self, host: IntegrationHost) -> None:
        """Called once, before messages flow (e.g. to publish Home Assistant discovery)."""
        ...

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        """One message, on this integration's own thread; exceptions are logged, never fatal."""
        ...

    def stop(self) -> None: ...


class _Worker:
    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.queue: queue.Queue[tuple[str, bytes, bool, _Ack] | None] = queue.Queue(QUEUE_LIMIT)
        self.thread = threading.Thread(target=self._run, name=f"integration-{integration.name}", daemon=True)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            topic, payload, retained, ack = item
            try:
                self.integration.handle(topic, payload, retained)
            except Exception:
                log.exception("%s failed on %s", self.integration.name, topic[:120])
            ack.done()


class _Ack:
    """Acknowledges one MQTT message once each integration it went to has handled it."""

    def __init__(self, client: mqtt.Client, msg: mqtt.MQTTMessage, count: int) -> None:
        self.client, self.mid, self.qos = client, msg.mid, msg.qos
        self.left = count
        self.lock = threading.Lock()

    def done(self) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last and self.qos:
            with contextlib.suppress(Exception):
                self.client.ack(self.mid, self.qos)


class IntegrationHost:
    def __init__(self, cfg: Config, integrations: Sequence[Integration], client_id: str | None = None) -> None:
        self.cfg = cfg
        self.topics = p.Topics(cfg.store.id)
        self.workers = [_Worker(i) for i in integrations]
        self.matcher = MQTTMatcher()
        self.filters: list[str] = []
        for worker in self.workers:
            for t in worker.integration.topics():
                full = t[1:] if t.startswith("/") else f"{self.topics.root}/{t}"
                try:
                    self.matcher[full].append(worker)
                except KeyError:
                    self.matcher[full] = [worker]
                    self.filters.append(full)
        self.client = make_client(
            client_id or f"staffcall-integrations-{cfg.store.id}",
            cfg.broker,
            clean_session=False,
            manual_ack=True,
            identity="integrations",
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = threading.Event()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """Publish for an integration (Home Assistant discovery and state); QoS 1."""
        self.client.publish(topic, payload, qos=p.QOS, retain=retain)

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the integrations: %s", reason_code)
            return
        if self.filters:
            client.subscribe([(t, p.QOS) for t in self.filters])
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        topic = msg._topic.decode("utf-8", "replace")
        workers: list[_Worker] = []
        for found in self.matcher.iter_match(topic):
            workers += [w for w in found if w not in workers]
        ack = _Ack(client, msg, len(workers))
        if not workers:
            ack.left = 1
            ack.done()
            return
        for worker in workers:
            try:
                worker.queue.put_nowait((topic, bytes(msg.payload), bool(msg.retain), ack))
            except queue.Full:
                log.error(
                    "%s is %d messages behind; %s waits in the broker",
                    worker.integration.name,
                    QUEUE_LIMIT,
                    topic[:120],
                )

    def start(self) -> IntegrationHost:
        for worker in self.workers:
            worker.integration.start(self)
            worker.thread.start()
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        for worker in self.workers:
            worker.queue.put(None)
        for worker in self.workers:
            worker.thread.join(timeout=10)
            with contextlib.suppress(Exception):
                worker.integration.stop()
