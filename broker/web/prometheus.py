r"""Prometheus figures on the web server's ``/metrics`` (``[metrics] enabled``): how the store is served, live.

Two kinds of figure, each from where it can be measured honestly (docs/integrations.md says which is which):

- *Now* (gauges, read at each scrape): open calls, colleagues, devices online, the hub online, its event
  log's health and write times, the web server's own broker connections.  They come from the
  ``LiveState`` the board already follows (retained ``state/+``, ``device/+/status``, ``hub/status``,
  ``hub/health``...), so /metrics and the board never disagree.
- *Since the web server started* (counters, histograms): pages by tier and kind, call -> page, time to
  acknowledge, time to greet.  ``CallFigures`` decides them, a pure function of the messages and the
  wall clock's now; ``MetricsFeed`` (its own MQTT connection with the board's login, which then also
  reads ``page/+``) feeds it.  Retained messages are history, not news: they are noted, never counted,
  so a restart of the web server or of the broker's session counts nothing twice.

Example:

    >>> figures = CallFigures("s1")
    >>> page = b'{"id": "c1", "device": "k1", "zone": "z", "reason": null, "tier": 1, ' \
    ...        b'"opened_at": "2026-01-01T10:00:00.000Z", "text": "t", "kind": "call"}'
    >>> [o.metric for o in figures.apply("staffcall/s1/page/anna", page, False, parse_iso("2026-01-01T10:00:00.040Z"))]
    ['page', 'call_to_page']
    >>> state = b'{"id": "c1", "device": "k1", "zone": "z", "status": "acknowledged", "tier": 1, ' \
    ...         b'"opened_at": "2026-01-01T10:00:00.000Z", "updated_at": "2026-01-01T10:00:12.500Z", "waited_s": 12}'
    >>> figures.apply("staffcall/s1/state/c1", state, False, 0.0)
    [Observation(metric='ack', value=12.5, labels=())]
    >>> figures.apply("staffcall/s1/state/c1", state, False, 0.0)  # the same news again: counted once
    []
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from broker.contract import protocol as p
from broker.contract.config import Config
from broker.web.live import LiveState, parse_iso

log = logging.getLogger(__name__)

PAGE_KINDS = frozenset({"call", "next", "escalation", "repage", "repeat", "unattended", "nobody_on_shift", "alert"})
"""The page kinds of docs/protocol.md; any other is counted as ``other`` (labels stay few, whatever arrives)."""
FIRST_PAGE_KINDS = frozenset({"call", "nobody_on_shift"})
"""The kinds of a call's first page, the one call -> page measures."""
CALL_TO_PAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; the hub's budget from press to page is well under a second (docs/performance.md)."""
MAX_CALL_TO_PAGE_S = 3600.0
"""A longer call -> page is a clock set wrong, not a measurement: left out."""
MAX_TRACKED = 10_000
"""Calls remembered for "counted once"; far more than a store has open, so a flood costs bounded memory."""

Metric = Literal["page", "call_to_page", "ack", "greet"]


@dataclass(frozen=True)
class Observation:
    """One figure to add: a page counted (``labels`` = tier, kind) or one duration in seconds."""

    metric: Metric
    value: float = 0.0
    labels: tuple[str, ...] = ()


class CallFigures:
    """What each ``page/+`` and ``state/+`` message adds to the counters and histograms (no I/O)."""

    def __init__(self, store: str) -> None:
        self.root = f"{p.PREFIX}/{store}/"
        self._counted: dict[str, set[str]] = {}
        """Per open call: which of "page", "ack", "greet" are counted (or were already past when first seen)."""

    def apply(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Observation]:
        """The observations one message makes at unix time ``now``; bad input makes none."""
        if not topic.startswith(self.root) or len(payload) > p.MAX_PAYLOAD_BYTES:
            return []
        parts = topic[len(self.root) :].split("/")
        try:
            if parts[0] == "page" and len(parts) == 2 and not retained:  # the hub never retains a page
                return self._page(p.decode(p.PageMsg, payload), now)
            if parts[0] == "state" and len(parts) == 2:
                if not payload:  # the retained state cleared: the call is gone
                    self._counted.pop(parts[1], None)
                    return []
                msg = p.decode(p.StateMsg, payload)
                return self._state(msg, retained) if msg.id == parts[1] else []
        except (p.ProtocolError, ValueError, TypeError, OverflowError):
            return []
        return []

    def _page(self, msg: p.PageMsg, now: float) -> list[Observation]:
        tier = str(msg.tier) if msg.tier in (1, 2, 3) else "other"
        kind = msg.kind if msg.kind in PAGE_KINDS else "other"
        out = [Observation("page", 1.0, (tier, kind))]
        if kind in FIRST_PAGE_KINDS and msg.id != "hub-health" and "page" not in self._track(msg.id):
            self._counted[msg.id].add("page")
            delay = now - parse_iso(msg.opened_at)
            if 0.0 <= delay <= MAX_CALL_TO_PAGE_S:
                out.append(Observation("call_to_page", delay))
        return out

    def _state(self, msg: p.StateMsg, retained: bool) -> list[Observation]:
        reached = {
            "acknowledged": ("ack",),
            "greeted": ("ack", "greet"),
            "resolved": ("ack", "greet"),  # the hub counts an unconfirmed greeting at the resolve, and so do we
        }.get(msg.status, ())
        counted = self._track(msg.id)
        out = []
        for what in reached:
            if what not in counted:
                counted.add(what)
                if not retained:
                    out.append(Observation("ack" if what == "ack" else "greet", waited(msg)))
        if msg.status in p.CLOSED_STATUSES:
            self._counted.pop(msg.id, None)
        return out

    def _track(self, call_id: str) -> set[str]:
        if call_id not in self._counted and len(self._counted) >= MAX_TRACKED:
            self._counted.pop(next(iter(self._counted)))  # the oldest: long closed, or never to close
        return self._counted.setdefault(call_id, set())


def waited(msg: p.StateMsg) -> float:
    """Seconds from the call's opening to this state, on the hub's clock.

    ``waited_s`` is the hub's monotonic clock in whole seconds; ``updated_at - opened_at`` (its wall clock)
    has milliseconds but would follow a clock being set.  The wall figure is used where the monotonic
    one vouches for it (within the same second), else the whole seconds.

    >>> msg = p.StateMsg(id="c1", device="k", zone="z", status="greeted", tier=1, waited_s=3,
    ...                  opened_at="2026-01-01T10:00:00.000Z", updated_at="2026-01-01T10:00:03.250Z")
    >>> import msgspec
    >>> waited(msg), waited(msgspec.structs.replace(msg, updated_at="2026-01-01T11:00:00.000Z"))
    (3.25, 3.0)
    """
    whole = float(max(0, msg.waited_s))
    try:
        wall = parse_iso(msg.updated_at) - parse_iso(msg.opened_at)
    except (ValueError, TypeError, OverflowError):
        return whole
    return round(wall, 3) if whole <= wall < whole + 1 else whole


class LiveGauges(Collector):
    """The "now" figures, read from the board's ``LiveState`` at every scrape."""

    def __init__(self, cfg: Config, live: LiveState, connections: dict[str, Callable[[], bool]]) -> None:
        self.cfg, self.live, self.connections = cfg, live, connections

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Copies first: the feed's thread changes these dicts (a dict copy is one step under the GIL).
        calls, devices = list(dict(self.live.calls).values()), dict(self.live.devices)
        presence, health = dict(self.live.presence), dict(self.live.health or {})
        g = GaugeMetricFamily("staffcall_open_calls", "Open calls by status (retained state/+)", labels=["status"])
        for status in sorted(p.OPEN_STATUSES):
            g.add_metric([status], sum(1 for c in calls if c.get("status") == status))
        yield g
        g = GaugeMetricFamily("staffcall_staff", "Colleagues by presence (staff/+/presence)", labels=["status"])
        for status in p.PRESENCE:
            g.add_metric([status], sum(1 for s in self.cfg.staff if presence.get(s.id, "offline") == status))
        yield g
        g = GaugeMetricFamily(
            "staffcall_devices",
            "Configured call points by status (device/+/status); unknown: never heard from",
            labels=["status"],
        )
        for status in (p.ONLINE, p.OFFLINE, "unknown"):
            g.add_metric([status], sum(1 for d in self.cfg.devices if devices.get(d.id, "unknown") == status))
        yield g
        yield GaugeMetricFamily(
            "staffcall_hub_online", "1 while the hub's retained hub/status says online", value=self.live.hub == p.ONLINE
        )
        g = GaugeMetricFamily(
            "staffcall_broker_connected", "1 while this web server's MQTT client is connected", labels=["client"]
        )
        for name, connected in sorted(self.connections.items()):
            g.add_metric([name], bool(connected()))
        yield g
        yield from health_gauges(health)
        yield from backlog_gauges(dict(self.live.integrations or {}))


def backlog_gauges(status: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """The webhooks' outbox per receiver, from the integrations' retained ``integrations/status``."""
    hooks = status.get("webhooks")
    backlog = hooks.get("backlog") if isinstance(hooks, dict) else None
    if not isinstance(backlog, dict):
        return
    g = GaugeMetricFamily(
        "staffcall_webhook_backlog", "Events waiting in the webhooks' outbox (integrations/status)", labels=["receiver"]
    )
    for receiver, n in sorted(backlog.items()):
        value = _number(n)
        if isinstance(receiver, str) and value is not None:
            g.add_metric([receiver[:64]], value)
    yield g


def health_gauges(health: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """``hub/health`` as gauges; figures the hub did not send (or sent broken) are left out."""
    status = health.get("status")
    if isinstance(status, str):
        g = GaugeMetricFamily("staffcall_hub_health", "The hub's event log: 1 at its status", labels=["status"])
        for word in ("ok", "warning", "fault"):
            g.add_metric([word], status == word)
        yield g
    held = _number(health.get("held_records"))
    if held is not None:
        yield GaugeMetricFamily("staffcall_eventlog_held_records", "Records waiting in the hub's memory", value=held)
    g = GaugeMetricFamily(
        "staffcall_eventlog_write_seconds",
        "The hub's event-log commit times over its last minute (hub/health write_ms_p50, write_ms_max)",
        labels=["stat"],
    )
    for stat, key in (("p50", "write_ms_p50"), ("max", "write_ms_max")):
        ms = _number(health.get(key))
        if ms is not None:
            g.add_metric([stat], ms / 1000)
    if g.samples:
        yield g


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


class StoreMetrics:
    """The registry behind ``/metrics``: the live gauges plus what ``CallFigures`` observes."""

    def __init__(self, cfg: Config, live: LiveState, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        self.connections: dict[str, Callable[[], bool]] = {}
        self.figures = CallFigures(cfg.store.id)
        self._lock = threading.Lock()
        r = self.registry
        self.pages = Counter(
            "staffcall_pages", "Pages sent (one per person paged) by tier and kind", ["tier", "kind"], registry=r
        )
        for labels in (("1", "call"), ("2", "next"), ("3", "escalation")):  # shown as 0 before the first page
            self.pages.labels(*labels)
        self.histograms = {
            "call_to_page": Histogram(
                "staffcall_call_to_page_seconds",
                "From the hub opening a call (its opened_at) to its first page reaching this web server",
                buckets=CALL_TO_PAGE_BUCKETS,
                registry=r,
            ),
            "ack": Histogram(
                "staffcall_time_to_ack_seconds",
                "From a call's opening to its acknowledgement, on the hub's clock (state waited_s)",
                buckets=cfg.metrics.wait_buckets_s,
                registry=r,
            ),
            "greet": Histogram(
                "staffcall_time_to_greet_seconds",
                "From a call's opening to the customer greeted, on the hub's clock (state waited_s)",
                buckets=cfg.metrics.wait_buckets_s,
                registry=r,
            ),
        }
        r.register(LiveGauges(cfg, live, self.connections))

    def apply(self, topic: str, payload: bytes, retained: bool) -> None:
        """Take one ``page/+`` or ``state/+`` message (any thread)."""
        with self._lock:
            observations = self.figures.apply(topic, payload, retained, self.clock())
        for o in observations:
            if o.metric == "page":
                self.pages.labels(*o.labels).inc()
            else:
                self.histograms[o.metric].observe(o.value)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        return Response(self.render(), media_type=CONTENT_TYPE_LATEST)


class MetricsFeed:
    """The metrics' own MQTT subscription (``state/+``, ``page/+``) with the board's login."""

    def __init__(self, cfg: Config, metrics: StoreMetrics) -> None:
        from broker.contract.mqtt import make_client

        self.cfg, self.metrics = cfg, metrics
        self.topics = [f"{p.PREFIX}/{cfg.store.id}/{t}" for t in ("state/+", "page/+")]
        self.client = make_client(f"staffcall-metrics-{cfg.store.id}", cfg.broker, identity="board")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        metrics.connections["metrics"] = self.client.is_connected

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the metrics' client: %s; check [broker] credentials", reason_code)
            return
        client.subscribe([(t, p.QOS) for t in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # Mosquitto grants a subscription its ACL forbids and then withholds the messages; a broker that
        # refuses it says so here.
        for topic, code in zip(self.topics, reason_codes, strict=False):
            if code.is_failure:
                log.error("the broker refused metrics %s: run `staffcall broker init` again after [metrics]", topic)
        self.subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            self.metrics.apply(msg.topic, bytes(msg.payload), bool(msg.retain))
        except Exception:  # a topic that is not UTF-8, a bug: the feed goes on, paho's thread must not die
            log.exception("metrics ignored a message")

    def start(self) -> MetricsFeed:
        from broker.contract.mqtt import connect_async

        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_metrics(
    cfg: Config, live: LiveState, connections: dict[str, Callable[[], bool]]
) -> tuple[StoreMetrics | None, MetricsFeed | None]:
    """With ``[metrics] enabled``: the registry for ``/metrics`` and its started feed; else nothing.

    ``connections`` names the web server's other MQTT clients (``is_connected``) for ``staffcall_broker_connected``."""
    if not cfg.metrics.enabled:
        return None, None
    metrics = StoreMetrics(cfg, live)
    metrics.connections.update(connections)
    return metrics, MetricsFeed(cfg, metrics).start()
