"""A call point: the device side of a call (kiosk, button station, QR page server).

Mosquitto can lose queued QoS 1 messages when it is killed, and a kiosk on store
Wi-Fi drops off now and then, so a call point keeps every action in a local SQLite
outbox until the hub shows it has it: a ``call`` until a ``state/{id}`` for it
arrives, a ``cancel`` / ``greet`` until the state says so, ``feedback`` until the
broker acknowledges it.  After every (re)connect it sends what is unconfirmed, and
re-sends the open call, which the hub answers with its state (open or closed):
that is how a restarted kiosk resumes its waiting screen.

A repeat press ("still waiting") is kept too, under its own press id, which the hub
counts once however often it arrives.  It is sent only while the hub has said, on this
connection, that its call is waiting or acknowledged: replayed onto a call that closed
meanwhile it would open a call for a customer already served.  The hub's answer names
the call, not the press, so the presses of a call are confirmed together once the
state's ``repeat_presses`` reaches the count the last of them expects; until then all
of them are resent (a lost one is counted, the others are duplicates).  A press made
moot (the call greeted or closed) is dropped; one the hub turned into a new call (the
call was greeted when it arrived) is followed like a call of our own.  It also sends again at
once when the hub announces itself ``online``, since a hub that was away may have
missed what the broker could not queue for it.  The hub is idempotent on
call ids, so a resend never opens a second call.

A press goes out as a PUBLISH alone: the state topic of the id it will carry was subscribed
beforehand (``_spare``, with the connect's subscriptions or after the previous press).  The store's
Mosquitto saves its whole database on every subscription change (``autosave_on_changes``, issue
#13) inside its one event loop, so a SUBSCRIBE sent just before the call made every press wait for a
save and its fsync (press -> broker p50 14-15 ms where an fsync costs ~5 ms; docs/performance.md).

Callbacks (``on_state``, ``on_connection``) run on paho's network thread; a Kivy app
hands them on with ``Clock.schedule_once``.

Example::

    point = CallPoint(cfg, "kiosk-1", "kiosk-1.outbox.db", on_state=print)
    point.start()
    call_id = point.call(reason="fitting_room", lang="sv")
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from broker.callpoint.outbox import Outbox
from broker.callpoint.pending import RESEND_AFTER_S
from broker.contract import protocol as p
from broker.contract.clock import iso
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client

log = logging.getLogger(__name__)

StateCallback = Callable[[str, "p.StateMsg | None"], None]


def new_call_id(device: str) -> str:
    """Unique, sortable by time, and valid in topics: ``{device}-{ms base36}-{random}``."""
    ms = int(time.time() * 1000)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    stamp = ""
    while ms:
        ms, r = divmod(ms, 36)
        stamp = digits[r] + stamp
    return f"{device[:40]}-{stamp}-{secrets.token_hex(4)}"


CONFIRMED_BY = {
    "waiting": ("call",),
    "acknowledged": ("call",),
    "greeted": ("call", "greet"),
    "resolved": ("call", "greet", "cancel"),
    "cancelled": ("call", "greet", "cancel"),
    "unattended": ("call", "greet", "cancel"),
}


class CallPoint:
    def __init__(
        self,
        config: Config,
        device: str,
        outbox_path: str | Outbox,
        on_state: StateCallback | None = None,
        on_connection: Callable[[bool], None] | None = None,
        client_id: str | None = None,
        client: mqtt.Client | None = None,
    ) -> None:
        """``outbox_path``: the device's own SQLite file, or an ``Outbox`` view of a shared one.

        ``client``: a connection shared with other call points (``CallPointGroup``), which then
        connects it and hands its events on; by default the device has its own, with its Will.
        """
        if device not in config.devices_by_id:
            raise ValueError(f"device {device!r} is not in [[devices]] of the config; add it there")
        self.cfg = config
        self.device = device
        self.topics = p.Topics(config.store.id)
        self.outbox = outbox_path if isinstance(outbox_path, Outbox) else Outbox(outbox_path)
        self.on_state = on_state
        self.on_connection = on_connection
        self.shared = client is not None
        self.client = client or make_client(
            client_id or f"staffcall-device-{device}",
            config.broker,
            will=(self.topics.device_status(device), p.OFFLINE),
            identity=f"device:{device}",
        )
        if not self.shared:
            self.client.on_connect = self._on_connect
            self.client.on_disconnect = self._on_disconnect
            self.client.on_message = self._on_message
            self.client.on_publish = self._on_publish
        self._inflight: dict[int, int] = {}  # mqtt mid -> outbox seq (feedback: confirmed on PUBACK)
        self._acked_early: collections.deque[int] = collections.deque()
        """PUBACKs that came while a publish held the lock (see ``_on_publish``)."""
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._watching: set[str] = set()
        self._open_here: set[str] = set()  # calls the hub said are waiting/acknowledged on this connection
        self._presses_sent: set[int] = set()  # presses sent on this connection (the timer resends the rest)
        self._spare: str | None = None  # the next press's id, its state topic subscribed ahead (module docstring)
        self.connected = False

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if not self.shared:
            connect_async(self.client, self.cfg.broker)
            self.client.loop_start()

    def stop(self) -> None:
        if self._timer:
            self._timer.cancel()
        if self.connected:
            self.client.publish(self.topics.device_status(self.device), p.OFFLINE, qos=1, retain=True)
        if not self.shared:
            self.client.disconnect()
            self.client.loop_stop()
        self.outbox.close()

    # --- actions (any thread) --------------------------------------------------------

    def call(
        self, reason: str | None = None, lang: str | None = None, text: str | None = None, call_id: str | None = None
    ) -> str:
        """Make a call now; it reaches the hub now or after the next reconnect, once.

        While a call of this device is open, a press is a repeat press (``press_again``) and the
        open call's id is returned: an outbox entry for it would never be confirmed.  Once that
        call is greeted (or a greet for it is on its way) a press is a new need: the hub closes
        the greeted call and opens this one, so it gets its own id and is followed like any call.
        """
        current = self.open_call()
        if current is not None and call_id is None and not self._greeted(current):
            self.press_again(reason)
            return current[0]
        call_id = call_id or self._take_id()
        self._watch(call_id)
        msg = p.CallMsg(id=call_id, reason=reason, lang=lang, at=iso(time.time()), text=text)
        self._send(call_id, "call", self.topics.call(self.device), p.encode(msg))
        self._prepare_spare()
        return call_id

    def press_again(self, reason: str | None = None) -> str | None:
        """A customer's repeat press while their call is open: a call message with a fresh id,
        which the hub counts once as a repeat press on the open call (more urgent re-page).

        Kept in the outbox like a call, online or not, and sent while the call is known to be
        waiting or acknowledged (see the module docstring).  Returns the press id; a press on a
        greeted call is a new call (``call``) and returns that call's id; None if no call is open.
        """
        current = self.open_call()
        if current is None:
            return None
        if self._greeted(current):
            return self.call(reason)
        call_id = current[0]
        press_id = self._take_id()
        msg = p.CallMsg(id=press_id, reason=reason, at=iso(time.time()))
        self._watch(press_id)  # the hub makes it a call if the call was greeted by the time it arrives
        seq = self.outbox.add_press(call_id, press_id, self.topics.call(self.device), p.encode(msg))
        if self.connected and call_id in self._open_here:
            self._send_press(seq)
        self._arm_resend()
        self._prepare_spare()
        return press_id

    def cancel(self, call_id: str) -> None:
        self._send(call_id, "cancel", self.topics.call_action(self.device, "cancel"), p.encode({"id": call_id}))

    def greet(self, call_id: str, staff: str | None = None) -> None:
        body: dict[str, Any] = {"id": call_id} if staff is None else {"id": call_id, "staff": staff}
        self._send(call_id, "greet", self.topics.call_action(self.device, "greet"), p.encode(body))

    def feedback(self, call_id: str, score: int) -> None:
        body = {"id": call_id, "score": score}
        self._send(call_id, "feedback", self.topics.call_action(self.device, "feedback"), p.encode(body))

    def open_call(self) -> tuple[str, p.StateMsg | None] | None:
        """The call in progress (after a restart too), with its last known state."""
        return self.outbox.open_call()

    def _greeted(self, current: tuple[str, p.StateMsg | None]) -> bool:
        call_id, state = current
        return (state is not None and state.status == "greeted") or "greet" in self.outbox.pending_actions(call_id)

    def _take_id(self) -> str:
        """A fresh id for a call or a press: the spare (its state topic already subscribed) if there is one."""
        with self._lock:
            spare, self._spare = self._spare, None
        return spare or new_call_id(self.device)

    def _prepare_spare(self) -> None:
        """Subscribe the next press's state topic now, after this press went out, not in front of the next."""
        with self._lock:
            if self._spare is not None:
                return
            self._spare = new_call_id(self.device)
            self._watching.add(self._spare)
            if self.connected:
                self.client.subscribe(self.topics.state(self._spare), qos=p.QOS)

    def _watch(self, call_id: str) -> None:
        """Subscribe to a call's state before the call goes out, so its first state is not missed."""
        with self._lock:
            if call_id in self._watching:
                return
            self._watching.add(call_id)
            if self.connected:
                self.client.subscribe(self.topics.state(call_id), qos=p.QOS)

    def _unwatch(self, call_id: str) -> None:
        with self._lock:
            if call_id in self._watching:
                self._watching.discard(call_id)
                self.client.unsubscribe(self.topics.state(call_id))

    def _send(self, call_id: str, action: str, topic: str, payload: bytes) -> None:
        seq = self.outbox.add(call_id, action, topic, payload)
        if self.connected:
            self._publish(seq, action, topic, payload)
        self._arm_resend()

    def _publish(self, seq: int, action: str, topic: str, payload: bytes) -> None:
        with self._lock:
            info = self.client.publish(topic, payload, qos=p.QOS)
            if action == "feedback":
                self._inflight[info.mid] = seq
            early = self._take_early_acks()
        for acked in early:
            self.outbox.confirm_seq(acked)
        self.outbox.mark_sent(seq)

    def _take_early_acks(self) -> list[int]:
        """Outbox entries whose PUBACK came while the lock was held (call with the lock held)."""
        seqs = []
        while self._acked_early:
            seq = self._inflight.pop(self._acked_early.popleft(), None)
            if seq is not None:
                seqs.append(seq)
        return seqs

    def _send_press(self, seq: int) -> None:
        for row in self.outbox.unconfirmed():
            if row[0] == seq:
                self._presses_sent.add(seq)
                self._publish(seq, "press", row[3], row[4])

    def _send_presses(self, call_id: str, again: bool) -> None:
        """Send the call's kept presses (``again``: those sent on this connection too)."""
        for seq, _on, _expect in self.outbox.pending_presses(call_id):
            if again or seq not in self._presses_sent:
                self._send_press(seq)

    def _flush(self, resend_open: bool) -> None:
        pending = self.outbox.unconfirmed()
        for seq, _call_id, action, topic, payload in pending:
            if action != "press":
                self._publish(seq, action, topic, payload)
        for call_id in {on for _seq, on, _expect in self.outbox.pending_presses()} & self._open_here:
            self._send_presses(call_id, again=True)
        current = self.outbox.open_call()
        if resend_open and current and not any(row[1] == current[0] and row[2] == "call" for row in pending):
            # Ask the hub for the call's state by resending it: idempotent, answered open or closed.
            msg = p.CallMsg(id=current[0])
            self.client.publish(self.topics.call(self.device), p.encode(msg), qos=p.QOS)
        self._arm_resend()

    def _arm_resend(self) -> None:
        """Only while something is unconfirmed: an idle device runs no timers."""
        if self._timer is not None or self.outbox.pending_count() == 0:
            return

        def fire() -> None:
            self._timer = None
            if self.connected:
                self._flush(resend_open=False)
            else:
                self._arm_resend()

        self._timer = threading.Timer(RESEND_AFTER_S, fire)
        self._timer.daemon = True
        self._timer.start()

    # --- paho callbacks (network thread) ---------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("%s: broker refused the connection: %s", self.device, reason_code)
            return
        self.connected = True
        self._open_here, self._presses_sent = set(), set()
        # Only this device's own calls: a store-wide state/+ would make every device read every call.
        with self._lock:
            current = self.outbox.open_call()
            self._watching = {row[1] for row in self.outbox.unconfirmed() if row[2] in ("call", "press")}
            if current:
                self._watching.add(current[0])
            self._spare = self._spare or new_call_id(self.device)
            self._watching.add(self._spare)  # one SUBSCRIBE for all: the first press needs none of its own
            # A shared connection subscribes to the hub's status once for all its call points.
            hub = [] if self.shared else [(self.topics.hub_status(), p.QOS)]
            topics = hub + [(self.topics.state(c), p.QOS) for c in self._watching]
        if topics:
            client.subscribe(topics)
        client.publish(self.topics.device_status(self.device), p.ONLINE, qos=p.QOS, retain=True)
        self._flush(resend_open=True)
        if self.on_connection:
            self.on_connection(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if self.on_connection:
            self.on_connection(False)

    def _on_presses_state(self, call_id: str, state: p.StateMsg) -> None:
        """Confirm, drop or send the repeat presses kept for this call (module docstring)."""
        pending = self.outbox.pending_presses(call_id)
        if state.status not in ("waiting", "acknowledged"):
            self._open_here.discard(call_id)
            for seq, _on, _expect in pending:  # moot: someone is with the customer, or the call is over
                self.outbox.confirm_seq(seq)
            return
        self._open_here.add(call_id)
        if pending and state.repeat_presses >= pending[-1][2]:
            for seq, _on, _expect in pending:
                self.outbox.confirm_seq(seq)
        elif pending:
            self._send_presses(call_id, again=False)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # paho calls this holding its outgoing-message lock, which a publish on another thread
        # needs while holding ours: waiting here for ours could deadlock both (a shared connection
        # makes that likely).  So never wait: a PUBACK that finds the lock taken is left for the
        # publish that holds it, which registers its own mid first and then takes these.
        if not self._lock.acquire(blocking=False):
            self._acked_early.append(mid)
            return
        try:
            seqs = [s for s in (self._inflight.pop(mid, None), *self._take_early_acks()) if s is not None]
        finally:
            self._lock.release()
        for seq in seqs:
            self.outbox.confirm_seq(seq)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.hub_status():
            if msg.payload == p.ONLINE.encode() and self.outbox.pending_count():
                # The hub is back (it may have missed what we sent while it was away): send again now.
                self._flush(resend_open=False)
            return
        call_id = msg.topic.rsplit("/", 1)[-1]
        if not msg.payload:
            return  # a cleared retained state; the final state came just before it
        try:
            state = p.decode(p.StateMsg, msg.payload)
        except p.ProtocolError as exc:
            log.warning("%s: ignoring bad state on %s: %s", self.device, msg.topic, exc)
            return
        if state.device != self.device:
            return
        # ("press": a repeat press the hub opened as a call, since the call it pressed on was greeted.)
        self.outbox.confirm(call_id, (*CONFIRMED_BY.get(state.status, ("call",)), "press"))
        self.outbox.set_state(call_id, state.status, msg.payload)
        self._on_presses_state(call_id, state)
        if state.status in p.CLOSED_STATUSES:
            self._unwatch(call_id)
        if self.on_state:
            self.on_state(call_id, state)


class CallPointGroup:
    """Many call points over one MQTT connection and one outbox file, each exactly as if alone.

    A process that is the call point for hundreds of devices (the web server behind the QR
    signs) cannot hold a connection, a network thread and an SQLite file per device: past
    about 1,000 file descriptors paho's ``select()`` fails and clients silently never
    connect.  The group logs in once (``identity``, whose ACL must allow each device's
    ``call/{id}``, ``call/{id}/+`` and ``device/{id}/status``), keeps every device's outbox
    in one file, and hands each MQTT event to the call point it concerns: a state to the
    device named in it, the hub's status and (re)connects to all.  Outbox semantics are the
    ``CallPoint``'s own: every call is kept and resent until the hub's state confirms it.

    One connection has one Will, which cannot name each device: if the process dies, the
    devices' retained ``online`` stays until it is back (a clean stop publishes ``offline``).

    Example::

        group = CallPointGroup(
            cfg, ["qr-paint", "qr-toys"], "qr.outbox.db", identity="phones", client_id="staffcall-qr-demo"
        )
        group.start()
        group.points["qr-paint"].call(reason="product")
    """

    def __init__(
        self,
        config: Config,
        devices: list[str],
        outbox_path: str,
        identity: str,
        client_id: str,
        on_state: StateCallback | None = None,
        on_connection: Callable[[bool], None] | None = None,
    ) -> None:
        self.cfg = config
        self.topics = p.Topics(config.store.id)
        self.on_connection = on_connection
        self.client = make_client(client_id, config.broker, identity=identity)
        self.file = Outbox(outbox_path)
        self.points = {
            d: CallPoint(config, d, Outbox(outbox_path, d, share=self.file), on_state=on_state, client=self.client)
            for d in devices
        }
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    @property
    def connected(self) -> bool:
        return self.client.is_connected() and all(point.connected for point in self.points.values())

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()

    def stop(self) -> None:
        for point in self.points.values():
            point.stop()  # each says offline on the shared connection, queued before the DISCONNECT
        self.client.disconnect()
        self.client.loop_stop()
        self.file.close()

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("call point group: broker refused the connection: %s", reason_code)
            return
        client.subscribe(self.topics.hub_status(), qos=p.QOS)
        for point in self.points.values():
            point._on_connect(client, userdata, flags, reason_code, properties)
        if self.on_connection:
            self.on_connection(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        for point in self.points.values():
            point._on_disconnect(client, userdata, flags, reason_code, properties)
        if self.on_connection:
            self.on_connection(False)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        for point in self.points.values():
            point._on_publish(client, userdata, mid, reason_code, properties)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.hub_status():
            for point in self.points.values():
                point._on_message(client, userdata, msg)
            return
        if not msg.payload:
            return  # a cleared retained state: the final state came before it
        try:
            device = p.decode(p.StateMsg, msg.payload).device
        except p.ProtocolError as exc:
            log.warning("call point group: ignoring bad state on %s: %s", msg.topic, exc)
            return
        point = self.points.get(device)
        if point is not None:
            point._on_message(client, userdata, msg)
