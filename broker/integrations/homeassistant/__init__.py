"""Home Assistant MQTT discovery (``[homeassistant]``): the store's call points, figures and colleagues.

At start the integration publishes the retained discovery messages (``entities.discovery``), clears
those it published last time that the config no longer has (a device or colleague that left; the list
is kept in ``published_file`` so this works after a restart), then keeps each call point's small
retained state topic up to date from the hub's ``state/{id}`` messages (``states.CallPointStates``).
It publishes only through the host's connection, from its own thread: it cannot slow the hub.

Example::

    host = IntegrationHost(cfg, [HomeAssistant(cfg)]).start()
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.integrations.homeassistant.entities import discovery, state_topics
from broker.integrations.homeassistant.states import CallPointStates, age_s

log = logging.getLogger(__name__)

LOCALES = Path(__file__).parent / "locales"
SETTLE_S = 2.0
"""After connecting, the retained call states arrive first; then the call points' states are published."""


def load_published(path: Path) -> set[str]:
    """The retained topics published last time; a missing or damaged file is an empty list (logged)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        topics = raw["topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise ValueError("topics is not a list of strings")
        return set(topics)
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s unreadable (%s): entities removed from the config stay in Home Assistant", path, exc)
        return set()


def save_published(path: Path, topics: set[str]) -> None:
    """Write the list atomically, so a crash mid-write leaves the old list, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"topics": sorted(topics)}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class HomeAssistant:
    name = "homeassistant"

    def __init__(self, cfg: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.clock = clock
        self.catalog = Catalog(LOCALES, cfg.store.language)
        self.states = CallPointStates(cfg.store.id, [d.id for d in cfg.devices], cfg.homeassistant.state_every_s)
        self.lock = threading.Lock()
        self.live = False
        self.stopping = threading.Event()
        self.host = None
        self.thread = threading.Thread(target=self._run, name="homeassistant-announce", daemon=True)

    def topics(self) -> list[str]:
        return ["state/+"]

    def start(self, host) -> None:
        self.host = host
        self.thread.start()

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        call_id = topic.rsplit("/", 1)[-1]
        age = 0.0
        if retained and payload:
            with contextlib.suppress(Exception):
                age = age_s(json.loads(payload).get("updated_at", ""), datetime.now(UTC))
        with self.lock:
            self.states.on_state(call_id, payload, self.clock(), age)
        self._publish_due()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def publish_discovery(self) -> None:
        """Clear what left the config, then announce what is in it; the list on disk never loses a topic."""
        assert self.host is not None
        path = Path(self.cfg.homeassistant.published_file)
        before = load_published(path)
        configs = discovery(self.cfg, self.catalog)
        owned = set(configs) | set(state_topics(self.cfg))
        save_published(path, before | owned)
        for topic in sorted(before - owned):
            self.host.publish(topic, b"", retain=True)
        for topic, payload in configs.items():
            self.host.publish(topic, payload, retain=True)
        save_published(path, owned)
        log.info("Home Assistant: %d entities announced, %d removed", len(configs), len(before - owned))

    def _publish_due(self) -> None:
        if not self.live or self.host is None:
            return
        with self.lock:
            due = self.states.due(self.clock())
        for topic, payload in due:
            self.host.publish(topic, payload, retain=True)

    def _run(self) -> None:
        assert self.host is not None
        while not self.host.connected.wait(1.0):
            if self.stopping.is_set():
                return
        try:
            self.publish_discovery()
        except Exception:
            log.exception("Home Assistant discovery failed; the states are still published")
        if self.stopping.wait(SETTLE_S):
            return
        self.live = True
        while True:
            try:
                self._publish_due()
            except Exception:
                log.exception("Home Assistant state update failed")
            if self.stopping.wait(1.0):
                return
