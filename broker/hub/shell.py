"""The store hub: the dispatcher core run on paho-mqtt and the SQLite event log.

Threads: paho's network thread only queues inbound messages; one core thread
decodes them, runs the dispatcher, publishes pages and states first, then hands
the records to the event log's writer; the writer acknowledges each MQTT message
after its records are committed.  The hub's MQTT session is persistent (fixed client
id, clean session off), so calls made while it restarts are queued by the broker.

Never deaf: every inbound message is either handled or recorded as rejected, and
acknowledged, whatever it contains and whatever fails on the way; an unacknowledged
message holds one of the broker's ``max_inflight_messages`` places for good.  A storage
fault turns the event log degraded (see ``broker.hub.eventlog``): pages keep going out, the
fault is announced on the retained ``hub/health`` topic, in the log and to the managers'
pagers, and a fault the log cannot mend ends the process non-zero for the service
manager to restart it.  At start the hub reads back the call states it left retained on
the broker before it handles anything, so calls it paged but could not write down are
neither lost nor paged twice.

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
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from broker.contract import protocol as p
from broker.contract.clock import Clock, SystemClock, iso
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client
from broker.core.calls import Bridge
from broker.core.commands import (
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
    RecordPress,
    Reject,
    StaffAction,
    SummaryChanged,
)
from broker.core.dispatcher import Dispatcher
from broker.core.pagetext import alert_wear_text
from broker.hub.chainfeed import MARKER_KEY, ChainFeed, closed_since
from broker.hub.eventlog import EventLog, Health, Record, event_row, press_row, rejected_row
from broker.hub.words import page_words

log = logging.getLogger(__name__)

SUMMARY_EVERY_S = 1.0
HEARTBEAT_EVERY_S = 10.0
HEALTH_FIGURES_EVERY_S = 60.0
"""``hub/health`` is republished this often while the event log writes, so its ``write_ms_*`` stay fresh."""
"""How often the hub writes down that it is alive, with its monotonic clock (see ``Call.from_row``)."""
SYNC_TIMEOUT_S = 5.0
"""How long the hub waits at start for its retained call states before it goes on without them."""
EXIT_STORAGE = 3
"""Exit status when the event log cannot mend itself: the service manager restarts the hub."""


def boot_id() -> str | None:
    """This boot's id (Linux): the monotonic clock is one clock exactly while it stays the same."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class Inbox:
    topic: str
    payload: bytes
    mid: int
    qos: int


def to_event(store: str, topic: str, payload: bytes) -> Event:
    """Decode one inbound message into a core event, or raise ProtocolError."""
    where = p.parse_topic(store, topic)
    device, staff, action = where.device, where.staff, where.action
    if where.kind == "call" and device:
        return Pressed(device, p.decode(p.CallMsg, payload))
    if where.kind == "device_action" and device and action == "feedback":
        return DeviceAction(device, action, p.decode(p.FeedbackMsg, payload))
    if where.kind == "device_action" and device and action:
        return DeviceAction(device, action, p.decode(p.CallRef, payload))
    if where.kind == "staff_action" and staff and action:
        return StaffAction(staff, action, p.decode(p.CallRef, payload))
    if where.kind == "presence" and staff:
        if not payload:
            raise p.ProtocolError("empty presence (a cleared retained message)")
        return PresenceChanged(staff, p.decode(p.PresenceMsg, payload).status)
    if where.kind == "device_status" and device:
        return DeviceStatus(device, p.decode_device_status(payload))
    raise p.ProtocolError(f"topic {topic!r} is not part of the protocol")


class Hub:
    def __init__(self, config: Config, clock: Clock | None = None, client_id: str | None = None) -> None:
        self.cfg = config
        self.clock = clock or SystemClock()
        self.topics = p.Topics(config.store.id)
        self.words = page_words(config)
        self.core = Dispatcher(config, self.clock, self.words)
        self.log = EventLog(config.database.path, config.database.min_free_mb, config.store.timezone)
        self.log.on_health = self._on_health
        self.exit_code = 0
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
        self._boot = boot_id() if isinstance(self.clock, SystemClock) else None
        self._heartbeat = 0.0
        self._health: Health | None = None
        self._health_sent: Health | None = None
        self._health_sent_mono = float("-inf")
        self._alerted = False
        # Reading back the retained call states at start (see _on_connect / _end_sync).
        self._sync_token = uuid.uuid4().hex
        self._synced = threading.Event()
        self._retained: list[p.StateMsg] = []
        # [chain]: closed calls and the store's status to the chain, after they are on disk (docs/chain.md).
        self.chain = ChainFeed(config, self._publish_chain) if config.chain.enabled else None
        self._chain_resend: list[dict] = []
        self._chain_since = iso(self.clock.wall())

    # --- paho callbacks (network thread): only hand over ---------------------------

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the hub: %s; check [broker] username/password", reason_code)
            return
        subs = [(t, p.QOS) for t in self.topics.hub_subscriptions()]
        if not self._synced.is_set():
            # First connection of this process: read back the open calls' retained states.  Our own
            # sync message comes back after every retained message the broker sent for them.  QoS 0:
            # messages the broker queued for the hub may fill its in-flight window until they are
            # acknowledged, and they are not, until this is done; QoS 0 passes by that window.
            subs += [(self.topics.state("+"), 0), (self._sync_topic(), 0)]
        client.subscribe(subs)
        if not self._synced.is_set():
            client.publish(self._sync_topic(), self._sync_token, qos=p.QOS)
        client.publish(self.topics.hub_status(), p.ONLINE, qos=p.QOS, retain=True)
        if self._health_sent is not None:
            self._health_sent = None  # publish it again on this connection
        log.info("connected to %s:%s", self.cfg.broker.host, self.cfg.broker.port)
        self.ready.set()

    def _sync_topic(self) -> str:
        return f"{self.topics.root}/hub/sync"

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); reconnecting, calls wait in the broker's queue", reason_code)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg._topic.decode("utf-8", "replace")  # msg.topic raises on bytes that are not UTF-8
        except Exception:
            topic = ""
        if topic.startswith(self.topics.state("")) or topic == self._sync_topic():
            self._sync_message(client, topic, msg)
            return
        self._arrived += 1
        self.inbox.put(Inbox(topic, bytes(msg.payload), msg.mid, msg.qos))  # bytes(bytes) is no copy

    def _sync_message(self, client: mqtt.Client, topic: str, msg: mqtt.MQTTMessage) -> None:
        """While reading back retained states: keep them; end at our own sync message.

        Afterwards (a late one, or a subscription an earlier process left behind) they are dropped."""
        if topic == self._sync_topic():
            if msg.payload == self._sync_token.encode() and not self._synced.is_set():
                self._end_sync(client)
        elif not self._synced.is_set() and msg.retain and msg.payload:
            with contextlib.suppress(p.ProtocolError):
                self._retained.append(p.decode(p.StateMsg, bytes(msg.payload)))
        _ack_now(client, msg)

    def _end_sync(self, client: mqtt.Client) -> None:
        with contextlib.suppress(Exception):
            client.unsubscribe([self.topics.state("+"), self._sync_topic()])
        self._synced.set()

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Restore open calls, connect, and run the core loop in a thread."""
        self._restore()
        self.log.start()
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._loop, name="hub-core", daemon=True)
        self._thread.start()

    def run(self) -> int:
        """Run until ``stop()`` (or Ctrl-C / SIGTERM from the CLI); the exit status for the process."""
        self.start()
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
                if self.log.fatal or not self.log.alive:
                    log.critical("event log: %s; exiting for a restart", self.log.fatal or "the writer stopped")
                    self.exit_code = EXIT_STORAGE
                    self._publish_health(Health("fault", self.log.fatal or "the event log writer stopped"))
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return self.exit_code

    def stop(self) -> None:
        self.stopping.set()
        self.inbox.put(None)
        if getattr(self, "_thread", None) is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        # A degraded log cannot write what it holds; waiting for it would only delay the restart.
        self.log.flush(1.0 if self.log.degraded else 10.0)
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
        meta = self.log.load_meta()
        bridge = None
        if "alive_mono" in meta:
            bridge = Bridge(
                same_boot=self._boot is not None and meta.get("boot_id") == self._boot,
                alive_mono=float(meta["alive_mono"]),
                alive_wall=float(meta["alive_wall"]),
            )
        commands = self.core.restore(
            self.log.load_open(), self.log.load_recent_closed(), self.log.load_presence(), bridge
        )
        opened = len(self.core.open)
        if opened:
            log.info("restored %d open calls from %s", opened, self.cfg.database.path)
        self._pending_restore = commands
        if self.chain is not None and MARKER_KEY in meta:
            self._chain_since = meta[MARKER_KEY]
            self._chain_resend = closed_since(self.log.db, self._chain_since)

    # --- the core loop ---------------------------------------------------------------

    def _loop(self) -> None:
        self.ready.wait()
        if not self._synced.wait(SYNC_TIMEOUT_S):
            log.warning(
                "no answer to the hub's sync message in %.0f s; going on without retained states", SYNC_TIMEOUT_S
            )
            self._end_sync(self.client)
        self._beat()
        self._execute(self._pending_restore, None)
        if self._retained:
            self._execute(self.core.adopt(self._retained), None)
            self._retained = []
        if self.chain is not None and self._chain_resend:
            log.info("chain: re-sending %d calls closed since %s", len(self._chain_resend), self._chain_since)
            self.chain.send(self._chain_resend)
            self._chain_resend = []
        while not self.stopping.is_set():
            try:
                item = self.inbox.get(timeout=self._wait_s())
            except queue.Empty:
                item = None
            if item is not None:
                self._receive(item)
            try:
                tick = self.core.tick()
                if tick:
                    self._execute(tick, None)
                self._flush_summary()
                self._flush_health()
                self._flush_chain_status()
                self._beat()
            except Exception:  # the store's hub keeps running
                log.exception("hub loop error")

    def _beat(self) -> None:
        """Write down, every HEARTBEAT_EVERY_S, that the hub is alive and what its clock says."""
        now = time.monotonic()
        if now - self._heartbeat < HEARTBEAT_EVERY_S:
            return
        self._heartbeat = now
        meta = {"alive_mono": repr(self.clock.now()), "alive_wall": repr(self.clock.wall())}
        if self._boot:
            meta["boot_id"] = self._boot
        if self.chain is not None:
            meta[MARKER_KEY] = self._chain_since = self.chain.marker() or self._chain_since
        self.log.submit([("meta", meta)])

    def _wait_s(self) -> float:
        nxt = self.core.next_deadline()
        news = self._health is not None and self._health != self._health_sent
        wait = SUMMARY_EVERY_S if self._summary_dirty or news else HEARTBEAT_EVERY_S
        if nxt is not None:
            wait = min(wait, self.clock.real_seconds(nxt - self.clock.now()))
        return max(0.0, wait)

    def _receive(self, item: Inbox) -> None:
        """Handle one message, or record it as rejected; either way it is acknowledged."""
        self.counts["received"] += 1
        try:
            mono, wall = self.clock.now(), self.clock.wall()
            received = event_row("received", mono, wall, topic=item.topic, payload=_text(item.payload))
            try:
                event = to_event(self.cfg.store.id, item.topic, item.payload)
            except p.ProtocolError as exc:
                self._reject(item, str(exc), [received])
                return
            if isinstance(event, Pressed) and not self.core.knows_press(event.msg.id):
                known = self.log.known_press(event.msg.id)
                if known is not None:
                    event = Pressed(event.device, event.msg, known_call=known)
            commands = self.core.handle(event)
            _tag(received, event)
            self._execute(commands, item, received)
        except Exception as exc:  # a bug or a fault must not leave a message unacknowledged
            log.exception("hub failed on a message to %s", item.topic[:120])
            self._reject(item, f"internal error: {type(exc).__name__}: {str(exc)[:120]}", [])

    def _reject(self, item: Inbox, reason: str, records: list[Record]) -> None:
        self.counts["rejected"] += 1
        log.warning("rejected %s: %s", item.topic[:120], reason)
        try:
            records.append(rejected_row(item.topic, item.payload, reason, self.clock.wall()))
            self.log.submit(records, self._acker(item))
        except Exception:
            log.exception("could not record a rejected message; acknowledging it anyway")
            ack = self._acker(item)
            if ack is not None:
                with contextlib.suppress(Exception):
                    ack()

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
            elif isinstance(cmd, RecordPress):
                records.append(press_row(cmd.press_id, cmd.call_id, cmd.device, wall))
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
        after = self._acker(item)
        closed = self.chain.closed_rows(records) if self.chain is not None else []
        if self.chain is not None and closed:
            after = self.chain.after_commit(closed, after)  # published once the rows are committed
        self.log.submit(records, after)

    def _publish_chain(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=p.QOS)

    def _flush_chain_status(self) -> None:
        if self.chain is None or not self.chain.status_due(self.clock.now()):
            return
        now = self.clock.now()
        waits = [now - c.opened_mono for c in self.core.open.values() if c.greeted_mono is None]
        self.chain.status(self.core.summary(), waits, self.core.device_status, self.clock.wall())

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

    # --- health: the event log's disk, said loudly ------------------------------------

    def _on_health(self, health: Health) -> None:
        """From the writer thread: note it; the core thread publishes (paho is thread-safe, the core is not)."""
        self._health = health
        if health.status != "ok":
            log.error("hub health: %s: %s", health.status, health.problem)
        else:
            log.warning("hub health: ok again")
        self.inbox.put(None)  # wake the core loop: it publishes the news within a second

    def _flush_health(self) -> None:
        health = self._health
        if health is None or health == self._health_sent:
            if not self._figures_due():
                return
            health = health or Health("ok")
        self._publish_health(health)
        # The managers hear of a fault once per fault (and once when it is mended), not per retry.
        faulty = health.status == "fault"
        if faulty != self._alerted:
            self._alerted = faulty
            self._alert_managers(health)

    def _figures_due(self) -> bool:
        """A minute since the last ``hub/health`` and commits to tell of: republish, figures only change."""
        if time.monotonic() - self._health_sent_mono < HEALTH_FIGURES_EVERY_S:
            return False
        return self.log.latency.figures(time.monotonic()) is not None

    def _publish_health(self, health: Health) -> None:
        payload: dict[str, object] = {
            "status": health.status,
            "problem": health.problem,
            "held_records": health.held,
            "free_mb": health.free_mb,
            "updated_at": iso(self.clock.wall()),
        }
        payload.update(self.log.latency.figures(time.monotonic()) or {})  # optional: absent when nothing written
        with contextlib.suppress(Exception):
            self.client.publish(self.topics.hub_health(), p.encode(payload), qos=p.QOS, retain=True)
        self._health_sent = health
        self._health_sent_mono = time.monotonic()

    def _alert_managers(self, health: Health) -> None:
        wall = self.clock.wall()
        if health.status == "fault":
            text = self.words.t("alert.fault", problem=health.problem)
        else:
            text = self.words.t("alert.recovered")
        msg = p.PageMsg(
            id="hub-health",
            device="hub",
            zone="",
            reason=None,
            tier=3,
            opened_at=iso(wall),
            text=text[:200],
            kind="alert",
        )
        wear = p.WearMsg(id="hub-health", text=alert_wear_text(text), vibrate=[600, 150, 600])
        for staff in self.core.router.managers():
            with contextlib.suppress(Exception):
                self.client.publish(self.topics.page(staff), p.encode(msg), qos=p.QOS)
                self.client.publish(self.topics.wear(staff), p.encode(wear), qos=p.QOS)


def _ack_now(client: mqtt.Client, msg: mqtt.MQTTMessage) -> None:
    if msg.qos:
        with contextlib.suppress(Exception):
            client.ack(msg.mid, msg.qos)


def _text(payload: bytes) -> str:
    return payload[: p.MAX_PAYLOAD_BYTES].decode("utf-8", "replace")


def _tag(record: Record, event: Event) -> None:
    """Fill the call, staff and device columns of a received message's event row."""
    row = record[1]
    row["kind"] = "received"
    row["call_id"] = getattr(getattr(event, "msg", None), "id", None)
    row["staff"] = getattr(event, "staff", None)
    row["device"] = getattr(event, "device", None)
