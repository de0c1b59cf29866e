"""The store hub: the dispatcher core run on paho-mqtt and the SQLite event log.

Threads: paho's network thread only queues inbound messages; one core thread
decodes them, runs the dispatcher, publishes pages and states first, then hands
the records to the event log's writer; the writer acknowledges each MQTT message
after its records are committed.  The hub's MQTT session is persistent (fixed client
id, clean session off), so calls made while it restarts are queued by the broker.

Example::

    hub = Hub(load_config("staffcall.toml"))
    hub.run()          # until SIGTERM / Ctrl-C
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from broker import protocol as p
from broker.clock import Clock, SystemClock
from broker.commands import (
    Command,
    DeviceAction,
    DeviceStatus,
    Event,
    Page,
    PresenceChanged,
    Pressed,
    PublishState,
    RecordCall,
    RecordEvent,
    Reject,
    StaffAction,
    SummaryChanged,
)
from broker.config import Config
from broker.dispatcher import Dispatcher
from broker.eventlog import EventLog, Record, event_row, rejected_row
from broker.mqtt import connect_async, make_client

log = logging.getLogger(__name__)

SUMMARY_EVERY_S = 1.0


@dataclass(frozen=True)
class Inbox:
    topic: str
    payload: bytes
    mid: int
    qos: int


def to_event(store: str, topic: str, payload: bytes) -> Event:
    """Decode one inbound message into a core event, or raise ProtocolError."""
    where = p.parse_topic(store, topic)
    if where.kind == "call":
        return Pressed(where.device, p.decode(p.CallMsg, payload))
    if where.kind == "device_action":
        kind = p.FeedbackMsg if where.action == "feedback" else p.CallRef
        return DeviceAction(where.device, where.action, p.decode(kind, payload))
    if where.kind == "staff_action":
        return StaffAction(where.staff, where.action, p.decode(p.CallRef, payload))
    if where.kind == "presence":
        if not payload:
            raise p.ProtocolError("empty presence (a cleared retained message)")
        return PresenceChanged(where.staff, p.decode(p.PresenceMsg, payload).status)
    return DeviceStatus(where.device, p.decode_device_status(payload))


class Hub:
    def __init__(self, config: Config, clock: Clock | None = None, client_id: str | None = None) -> None:
        self.cfg = config
        self.clock = clock or SystemClock()
        self.topics = p.Topics(config.store.id)
        self.core = Dispatcher(config, self.clock)
        self.log = EventLog(config.database.path)
        self.inbox: queue.Queue[Inbox | None] = queue.Queue()
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.client = make_client(
            client_id or f"staffcall-hub-{config.store.id}",
            config.broker,
            clean_session=False,
            will=(self.topics.hub_status(), p.OFFLINE),
            manual_ack=True,
            identity="hub",
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self._summary_dirty = False
        self._shifts_dirty: set[str] = set()
        self._summary_sent = 0.0
        self.counts = {"received": 0, "rejected": 0, "pages": 0}
        self._arrived = 0

    # --- paho callbacks (network thread): only hand over ---------------------------

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the hub: %s; check [broker] username/password", reason_code)
            return
        client.subscribe([(t, p.QOS) for t in self.topics.hub_subscriptions()])
        client.publish(self.topics.hub_status(), p.ONLINE, qos=p.QOS, retain=True)
        log.info("connected to %s:%s", self.cfg.broker.host, self.cfg.broker.port)
        self.ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); reconnecting, calls wait in the broker's queue", reason_code)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        self._arrived += 1
        self.inbox.put(Inbox(msg.topic, msg.payload, msg.mid, msg.qos))

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Restore open calls, connect, and run the core loop in a thread."""
        self._restore()
        self.log.start()
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._loop, name="hub-core", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Run until ``stop()`` (or Ctrl-C / SIGTERM from the CLI)."""
        self.start()
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.inbox.put(None)
        if getattr(self, "_thread", None) is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self.log.flush()
        self.log.stop()
        # A clean stop still tells everyone the hub is gone (the Will covers a broker that is away).
        with contextlib.suppress(RuntimeError, ValueError):
            self.client.publish(self.topics.hub_status(), p.OFFLINE, qos=p.QOS, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def settle(self, quiet_s: float = 0.2, timeout: float = 10.0) -> bool:
        """Wait until no message arrived for ``quiet_s`` and everything is on disk (tests, demo)."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if self._arrived != seen or self.counts["received"] != self._arrived:
                seen, since = self._arrived, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return self.log.flush(max(0.1, deadline - time.monotonic()))
            time.sleep(0.01)
        return False

    def _restore(self) -> None:
        commands = self.core.restore(self.log.load_open(), self.log.load_recent_closed(), self.log.load_presence())
        opened = len(self.core.open)
        if opened:
            log.info("restored %d open calls from %s", opened, self.cfg.database.path)
        self._pending_restore = commands

    # --- the core loop ---------------------------------------------------------------

    def _loop(self) -> None:
        self.ready.wait()
        self._execute(self._pending_restore, None)
        while not self.stopping.is_set():
            try:
                item = self.inbox.get(timeout=self._wait_s())
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self._receive(item)
                tick = self.core.tick()
                if tick:
                    self._execute(tick, None)
                self._flush_summary()
            except Exception:  # the store's hub keeps running; the message stays unacked and comes back
                log.exception("hub loop error")

    def _wait_s(self) -> float:
        nxt = self.core.next_deadline()
        wait = SUMMARY_EVERY_S if self._summary_dirty else 60.0
        if nxt is not None:
            wait = min(wait, self.clock.real_seconds(nxt - self.clock.now()))
        return max(0.0, wait)

    def _receive(self, item: Inbox) -> None:
        self.counts["received"] += 1
        mono, wall = self.clock.now(), self.clock.wall()
        received = event_row("received", mono, wall, topic=item.topic, payload=_text(item.payload))
        try:
            event = to_event(self.cfg.store.id, item.topic, item.payload)
        except p.ProtocolError as exc:
            self._reject(item, str(exc), [received])
            return
        try:
            commands = self.core.handle(event)
        except Exception as exc:  # a bug must not stop the store's hub: record and carry on
            log.exception("core failed on %s", item.topic)
            self._reject(item, f"internal error: {exc!r}", [received])
            return
        _tag(received, event)
        self._execute(commands, item, received)

    def _reject(self, item: Inbox, reason: str, records: list[Record]) -> None:
        self.counts["rejected"] += 1
        log.warning("rejected %s: %s", item.topic[:120], reason)
        records.append(rejected_row(item.topic, item.payload, reason, self.clock.wall()))
        self.log.submit(records, self._acker(item))

    def _acker(self, item: Inbox | None):
        if item is None or item.qos == 0:
            return None
        return lambda: self.client.ack(item.mid, item.qos)

    def _execute(self, commands: list[Command], item: Inbox | None, received: Record | None = None) -> None:
        """Publish first (the page must not wait for the disk), then record."""
        mono, wall = self.clock.now(), self.clock.wall()
        records: list[Record] = [received] if received else []
        for cmd in commands:
            if isinstance(cmd, Page):
                payload = p.encode(cmd.msg)
                self.client.publish(self.topics.page(cmd.staff), payload, qos=p.QOS)
                self.client.publish(self.topics.wear(cmd.staff), p.encode(cmd.wear), qos=p.QOS)
                self.counts["pages"] += 1
                records.append(
                    event_row(
                        "page",
                        mono,
                        wall,
                        self.topics.page(cmd.staff),
                        cmd.msg.id,
                        cmd.staff,
                        cmd.msg.device,
                        payload.decode(),
                    )
                )
            elif isinstance(cmd, PublishState):
                topic = self.topics.state(cmd.call_id)
                payload = p.encode(cmd.msg)
                if cmd.closed:
                    # The final state reaches whoever listens now; then the retained copy is cleared.
                    self.client.publish(topic, payload, qos=p.QOS, retain=False)
                    self.client.publish(topic, b"", qos=p.QOS, retain=True)
                else:
                    self.client.publish(topic, payload, qos=p.QOS, retain=True)
                records.append(
                    event_row("state", mono, wall, topic, cmd.call_id, cmd.msg.staff, cmd.msg.device, payload.decode())
                )
            elif isinstance(cmd, SummaryChanged):
                self._summary_dirty = True
                if cmd.staff:
                    self._shifts_dirty.add(cmd.staff)
        for cmd in commands:
            if isinstance(cmd, RecordCall):
                records.append(("call", cmd.row))
            elif isinstance(cmd, RecordEvent):
                records.append(
                    event_row(
                        cmd.kind,
                        mono,
                        wall,
                        call_id=cmd.call_id,
                        staff=cmd.detail.get("staff"),
                        device=cmd.detail.get("device"),
                        payload=cmd.detail,
                    )
                )
            elif isinstance(cmd, Reject):
                self.counts["rejected"] += 1
                topic = item.topic if item else ""
                log.warning("rejected %s: %s", topic[:120], cmd.reason)
                records.append(rejected_row(topic, item.payload if item else b"", cmd.reason, wall))
        self.log.submit(records, self._acker(item))

    def _flush_summary(self) -> None:
        """Today's figures, at most once a second: off the call->page path."""
        now = time.monotonic()
        if not self._summary_dirty or now - self._summary_sent < SUMMARY_EVERY_S:
            return
        self.client.publish(self.topics.summary(), p.encode(self.core.summary()), qos=p.QOS, retain=True)
        for staff in sorted(self._shifts_dirty):
            self.client.publish(self.topics.shift(staff), p.encode(self.core.shift(staff)), qos=p.QOS, retain=True)
        self._summary_dirty = False
        self._shifts_dirty.clear()
        self._summary_sent = now


def _text(payload: bytes) -> str:
    return payload[: p.MAX_PAYLOAD_BYTES].decode("utf-8", "replace")


def _tag(record: Record, event: Event) -> None:
    """Fill the call, staff and device columns of a received message's event row."""
    row = record[1]
    row["kind"] = "received"
    row["call_id"] = getattr(getattr(event, "msg", None), "id", None)
    row["staff"] = getattr(event, "staff", None)
    row["device"] = getattr(event, "device", None)
