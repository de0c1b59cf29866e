"""The pager's MQTT side: one colleague's connection to the hub, around a ``PagerCore``.

Subscribes to ``page/{staff}``, ``state/+`` and ``shift/{staff}``; publishes presence
retained with a Will saying ``offline``; sends staff actions through the core's outbox
and re-sends them after every reconnect (and every ``RESEND_AFTER_S`` while the hub's
state does not show them), so a tap on "On my way" in a Wi-Fi dead spot is not lost.

With ``state_dir`` the outbox is also written to a small SQLite file
(``broker.callpoint.outbox.ActionStore``), so an action tapped offline survives a restart.  With
``[pager] persistent_session`` the broker keeps this colleague's session (a fixed client id,
``clean_session = false``) and queues pages while the pager is briefly away; a resumed session
replays them with the states that followed, and the core holds every alert until the replay
has gone quiet (``CATCH_UP_QUIET_S``), so a page for a call that closed meanwhile never sounds.
Signing out (``stop``) ends the session, so nothing piles up for a colleague who went home.

Callbacks run on paho's network thread or the resend thread: the core is guarded by
``lock``, and ``on_change(what)`` tells the owner (Kivy app, terminal pager) to redraw;
a Kivy app hands it on with ``Clock.schedule_once``.

Example::

    link = PagerLink(cfg, "anna", on_change=print)
    link.start()
    link.set_presence("on_shift")
    link.act("ack", "kiosk-1-m0x-ab12cd34")
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broker.callpoint.pager import PagerCore, StaffOutbox
from broker.callpoint.pending import Pending
from broker.contract import protocol as p
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client

log = logging.getLogger(__name__)

CATCH_UP_QUIET_S = 0.5
"""A resumed session's replay is over when nothing arrived for this long after the subscription is confirmed..."""
CATCH_UP_MAX_S = 5.0
"""...or after this long at the most."""

ChangeCallback = Callable[[str, Any], None]
"""``(what, detail)``: what is "page" (detail: True when it should sound), "state", "shift", "connection", "sent"."""

PRESENCES = ("on_shift", "break", "off")


class PagerLink:
    def __init__(
        self,
        config: Config,
        staff: str,
        on_change: ChangeCallback | None = None,
        client_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        state_dir: str | Path | None = None,
    ) -> None:
        """``state_dir``: keep unsent actions in a SQLite file there (None: in memory only)."""
        if staff not in config.staff_by_id:
            known = ", ".join(config.staff_by_id) or "none"
            raise ValueError(f"staff {staff!r} is not in [[staff]] of the config (known: {known}); add it there")
        self.cfg = config
        self.staff = staff
        self.name = config.staff_by_id[staff].name
        self.topics = p.Topics(config.store.id)
        self.clock = clock
        self.store = None
        outbox = StaffOutbox(staff)
        if state_dir is not None:
            from broker.callpoint.outbox import ActionStore

            self.store = ActionStore(state_dir, staff)
            outbox = StaffOutbox(staff, journal=self.store)
            outbox.restore(self.store.load(now=clock()))
        self.core = PagerCore(staff, outbox=outbox)
        self.lock = threading.RLock()
        self.on_change = on_change
        self.connected = False
        self.errors: list[str] = []
        """Bad messages seen (newest last, at most 50): shown in logs, never fatal."""
        self.client_id = client_id or f"staffcall-pager-{staff}"
        self.persistent = config.pager.persistent_session
        self.client = make_client(
            self.client_id,
            config.broker,
            clean_session=not self.persistent,
            will=(self.topics.presence(staff), p.encode({"status": p.OFFLINE})),
            identity=f"staff:{staff}",
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self._catch_up: tuple[float, float | None] | None = None
        """While a resumed session replays: (connected at, subscription confirmed at)."""
        self._last_msg = 0.0
        self._inflight: dict[int, int] = {}
        self._stop = threading.Event()
        self._resender: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self._resender = threading.Thread(target=self._resend_loop, name=f"pager-{self.staff}-resend", daemon=True)
        self._resender.start()

    def stop(self) -> None:
        """Leave cleanly: a pager that is closed cannot be paged, so say ``offline``."""
        self._stop.set()
        if self.connected:
            info = self.client.publish(
                self.topics.presence(self.staff), p.encode({"status": p.OFFLINE}), qos=p.QOS, retain=True
            )
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        if self.persistent:
            self._end_session()
        if self.store is not None:
            self.store.close()

    def _end_session(self) -> None:
        """Signing out: a clean connect with our client id drops what the broker kept for us."""
        from broker.contract.mqtt import wait_connected

        ender = make_client(self.client_id, self.cfg.broker, clean_session=True, identity=f"staff:{self.staff}")
        try:
            connect_async(ender, self.cfg.broker)
            ender.loop_start()
            if wait_connected(ender, 2.0):
                ender.disconnect()
        finally:
            ender.loop_stop()

    # --- actions (any thread) ----------------------------------------------------------

    def set_presence(self, status: str) -> None:
        if status not in PRESENCES:
            raise ValueError(f"presence must be one of {', '.join(PRESENCES)}, not {status!r}")
        with self.lock:
            self.core.presence = status
        if self.connected:
            self._publish_presence(status)
        self._changed("presence", status)

    def act(self, action: str, call_id: str, outcome: str | None = None) -> None:
        """ack / greet / resolve / decline (to the hub, kept until confirmed) or dismiss (local)."""
        with self.lock:
            item = self.core.act(action, call_id, self.clock(), outcome=outcome)
        if item is not None and self.connected:
            self._send(item)
        self._changed("state", call_id)

    def snapshot(self) -> PagerCore:
        """The core, for reading under ``with link.lock``."""
        return self.core

    # --- sending -----------------------------------------------------------------------

    def _publish_presence(self, status: str) -> None:
        self.client.publish(self.topics.presence(self.staff), p.encode({"status": status}), qos=p.QOS, retain=True)

    def _send(self, item: Pending) -> None:
        info = self.client.publish(self.topics.staff_action(self.staff, item.action), p.encode(item.body), qos=p.QOS)
        with self.lock:
            self._inflight[info.mid] = item.seq
            self.core.outbox.mark_sent(item.seq, self.clock())

    def _flush(self) -> None:
        with self.lock:
            due = self.core.outbox.to_send(self.clock())
        for item in due:
            self._send(item)

    def _resend_loop(self) -> None:
        ticks = 0
        while not self._stop.wait(0.2):
            ticks += 1
            if self._catch_up is not None:
                self._check_caught_up()
            if self.connected and ticks % 5 == 0:
                self._flush()

    def _check_caught_up(self) -> None:
        now = self.clock()
        with self.lock:
            if self._catch_up is None:
                return
            started, subscribed = self._catch_up
            quiet = subscribed is not None and now - max(subscribed, self._last_msg) >= CATCH_UP_QUIET_S
            if not (quiet or now - started >= CATCH_UP_MAX_S):
                return
            self._catch_up = None
            sound = self.core.release(now)
        self._changed("page", sound)

    # --- paho callbacks (network thread) -----------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error(
                "pager %s: broker refused the connection: %s; check [broker] in the config", self.staff, reason_code
            )
            return
        self.connected = True
        root = self.topics.root
        client.subscribe(
            [(self.topics.page(self.staff), p.QOS), (f"{root}/state/+", p.QOS), (self.topics.shift(self.staff), p.QOS)]
        )
        with self.lock:
            presence = self.core.presence
            self.core.outbox.reconnected()
            if getattr(flags, "session_present", False):
                # The broker kept our session: what it queued comes first, and may be stale.
                self._catch_up = (self.clock(), None)
                self.core.hold(self.clock())
        if presence:
            self._publish_presence(presence)  # replaces the Will's "offline" after a drop
        self._flush()
        self._changed("connection", True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if not self._stop.is_set():
            log.warning("pager %s: lost the broker (%s); reconnecting", self.staff, reason_code)
        self._changed("connection", False)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self.lock:
            if self._catch_up is not None:
                self._catch_up = (self._catch_up[0], self.clock())

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self.lock:
            seq = self._inflight.pop(mid, None)
            if seq is not None:
                self.core.outbox.confirm_seq(seq)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            self._receive(msg.topic, msg.payload)
        except p.ProtocolError as exc:
            self._bad(msg.topic, str(exc))
        except Exception as exc:  # a bad message must never take the pager down
            log.exception("pager %s: failed on %s", self.staff, msg.topic)
            self._bad(msg.topic, f"internal error: {exc!r}")

    def _receive(self, topic: str, payload: bytes) -> None:
        now = self.clock()
        self._last_msg = now
        if topic == self.topics.page(self.staff):
            page = p.decode(p.PageMsg, payload)
            with self.lock:
                sound = self.core.on_page(page, now)
            self._changed("page", sound)
        elif topic == self.topics.shift(self.staff):
            if not payload:
                return
            if len(payload) > p.MAX_PAYLOAD_BYTES:
                raise p.ProtocolError(f"shift payload is {len(payload)} bytes")
            figures = _json_object(payload)
            with self.lock:
                self.core.on_shift(figures)
            self._changed("shift", figures)
        elif topic.startswith(f"{self.topics.root}/state/"):
            call_id = topic.rsplit("/", 1)[-1]
            if not payload:
                with self.lock:
                    self.core.on_cleared(call_id)
            else:
                state = p.decode(p.StateMsg, payload)
                if state.id != call_id:
                    raise p.ProtocolError(f"state for {state.id!r} on the topic of {call_id!r}")
                with self.lock:
                    self.core.on_state(state, now)
            self._changed("state", call_id)

    def _bad(self, topic: str, why: str) -> None:
        log.warning("pager %s: ignoring bad message on %s: %s", self.staff, topic[:120], why)
        self.errors = [*self.errors[-49:], f"{topic}: {why}"]

    def _changed(self, what: str, detail: Any) -> None:
        if self.on_change is not None:
            try:
                self.on_change(what, detail)
            except Exception:
                log.exception("pager %s: on_change failed", self.staff)


def _json_object(payload: bytes) -> dict[str, Any]:
    import msgspec

    try:
        value = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        raise p.ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise p.ProtocolError("shift figures must be a JSON object")
    return value
