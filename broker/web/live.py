"""What the store looks like right now, rebuilt from the hub's retained MQTT messages.

``LiveState`` is the shared object behind every live web page (the board today; the
customers' QR pages and the staff web app later).  It is fed by one MQTT subscription
(``LiveFeed``) and does no I/O itself: ``apply(topic, payload)`` updates it and
``board(now)`` renders the board's data, so both are tested without a broker.

Threads: paho calls ``apply`` on its network thread; web requests read ``board`` on the
server's event loop.  A lock guards the dicts; listeners (one per open page) are woken
through their own event loop with ``call_soon_threadsafe``.

Example::

    >>> live = LiveState(store="s1")
    >>> live.apply("staffcall/s1/staff/anna/presence", b'{"status": "on_shift"}')
    True
    >>> live.presence
    {'anna': 'on_shift'}
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from broker.contract import protocol as p
from broker.contract.clock import iso, parse_iso

log = logging.getLogger(__name__)


class LiveState:
    """Open calls, staff presence, device status, hub status and today's summary."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.root = f"{p.PREFIX}/{store}/"
        self.calls: dict[str, dict[str, Any]] = {}
        self.presence: dict[str, str] = {}
        self.devices: dict[str, str] = {}
        self.hub: str | None = None
        self.health: dict[str, Any] | None = None
        self.integrations: dict[str, Any] | None = None
        self.summary: dict[str, Any] | None = None
        self.version = 0
        self.rejected = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def topics(self) -> list[str]:
        """What to subscribe to."""
        r = self.root
        # integrations/status (the webhooks' backlog) is read only where [metrics] is on (the ACL).
        topics = ("state/+", "staff/+/presence", "device/+/status", "summary", "hub/status", "hub/health")
        return [f"{r}{t}" for t in (*topics, "integrations/status")]

    # --- updates (any thread) ----------------------------------------------------------

    def apply(self, topic: str, payload: bytes) -> bool:
        """Take one message; return whether anything changed.  Bad payloads are logged and ignored."""
        if not topic.startswith(self.root) or len(payload) > p.MAX_PAYLOAD_BYTES:
            return self._reject(topic, "not this store's topic or too large")
        parts = topic[len(self.root) :].split("/")
        try:
            with self._lock:
                changed = self._apply(parts, payload)
        except (ValueError, KeyError, TypeError, p.ProtocolError) as exc:
            return self._reject(topic, str(exc))
        if changed:
            self.version += 1
            for notify in list(self._listeners):
                notify()
        return changed

    def _apply(self, parts: list[str], payload: bytes) -> bool:
        kind = parts[0]
        if kind == "state" and len(parts) == 2:
            if not payload:  # the hub cleared a closed call's retained state
                return self.calls.pop(parts[1], None) is not None
            msg = json.loads(payload)
            if not isinstance(msg, dict) or msg.get("id") != parts[1] or "status" not in msg:
                raise ValueError("state payload must be an object with this call's id and a status")
            if msg["status"] in p.CLOSED_STATUSES:
                return self.calls.pop(parts[1], None) is not None
            self.calls[parts[1]] = msg
            return True
        if kind == "staff" and len(parts) == 3 and parts[2] == "presence":
            if not payload:
                return self.presence.pop(parts[1], None) is not None
            status = p.decode(p.PresenceMsg, payload).status
            changed = self.presence.get(parts[1]) != status
            self.presence[parts[1]] = status
            return changed
        if kind == "device" and len(parts) == 3 and parts[2] == "status":
            word = p.decode_device_status(payload)
            changed = self.devices.get(parts[1]) != word
            self.devices[parts[1]] = word
            return changed
        if kind == "summary" and len(parts) == 1:
            msg = json.loads(payload) if payload else None
            if msg is not None and not isinstance(msg, dict):
                raise ValueError("summary must be a JSON object")
            self.summary = msg
            return True
        if kind == "hub" and parts[1:] == ["status"]:
            self.hub = p.decode_device_status(payload)
            return True
        if kind == "hub" and parts[1:] == ["health"]:
            msg = json.loads(payload) if payload else None
            if msg is not None and not (isinstance(msg, dict) and isinstance(msg.get("status"), str)):
                raise ValueError("hub health must be a JSON object with a status")
            self.health = msg
            return True
        if kind == "integrations" and parts[1:] == ["status"]:
            msg = json.loads(payload) if payload else None
            if msg is not None and not isinstance(msg, dict):
                raise ValueError("integrations status must be a JSON object")
            self.integrations = msg
            return True
        raise ValueError("topic is not one the board uses")

    def _reject(self, topic: str, why: str) -> bool:
        self.rejected += 1
        log.warning("board ignored %s: %s", topic[:120], why)
        return False

    # --- listeners -----------------------------------------------------------------------

    def listen(self, notify: Callable[[], None]) -> Callable[[], None]:
        """Call ``notify`` (on the feeding thread) after each change; returns the unsubscribe."""
        self._listeners.append(notify)
        return lambda: self._listeners.remove(notify) if notify in self._listeners else None

    # --- views ------------------------------------------------------------------------------

    def board(self, cfg, now: float, today: dict[str, Any] | None = None) -> dict[str, Any]:
        """The board's data at unix time ``now``: the JSON twin of ``/board``."""
        target = cfg.store.target_greet_s
        with self._lock:
            calls = [dict(c) for c in self.calls.values()]
            presence = dict(self.presence)
            devices = dict(self.devices)
            summary = dict(self.summary) if self.summary else None
            hub = self.hub
            health = dict(self.health) if self.health else {"status": "ok"}
        open_calls = []
        for c in calls:
            try:
                waited = c.get("waited_s", 0) + max(0.0, now - parse_iso(c["updated_at"]))
            except (KeyError, ValueError, TypeError):
                waited = 0.0
            dev = cfg.devices_by_id.get(c.get("device"))
            open_calls.append(
                {
                    "id": c.get("id"),
                    "device": c.get("device"),
                    "label": c.get("label") or (dev.label if dev and dev.label else c.get("device")),
                    "zone": c.get("zone"),
                    "reason": c.get("reason"),
                    "status": c.get("status"),
                    "tier": c.get("tier"),
                    "staff": c.get("staff"),
                    "staff_name": c.get("staff_name"),
                    "eta_s": c.get("eta_s"),
                    "opened_at": c.get("opened_at"),
                    "waited_s": round(waited, 1),
                    "late": c.get("status") != "greeted" and waited > target,
                    "repeat_presses": c.get("repeat_presses", 0),
                    "nobody_on_shift": c.get("nobody_on_shift", False),
                }
            )
        open_calls.sort(key=lambda c: -c["waited_s"])
        # Never heard from (no retained presence) is "off", not on shift today; "offline" is only what a
        # pager's Will says: it was on and lost its connection.  The board tells the two apart.
        staff = [{"id": s.id, "name": s.name, "role": s.role, "status": presence.get(s.id, "off")} for s in cfg.staff]
        devs = [
            {"id": d.id, "label": d.label or d.id, "zone": d.zone, "kind": d.kind, "status": devices.get(d.id)}
            for d in cfg.devices
        ]
        return {
            "store": {"id": cfg.store.id, "name": cfg.store.name, "target_greet_s": target},
            "now": iso(now),
            "hub": hub,
            "hub_health": {k: health.get(k) for k in ("status", "problem", "held_records", "free_mb")},
            "calls": open_calls,
            "staff": staff,
            "staff_counts": {
                k: sum(1 for s in staff if s["status"] == k) for k in ("on_shift", "break", "off", "offline")
            },
            "devices_offline": [d for d in devs if d["status"] == p.OFFLINE],
            "devices": devs,
            "today": summary or today or {},
            "version": self.version,
        }


class LiveFeed:
    """The web server's own MQTT subscription, feeding a ``LiveState``."""

    def __init__(self, cfg, live: LiveState) -> None:
        from broker.contract.mqtt import make_client

        self.cfg, self.live = cfg, live
        self.client = make_client(f"staffcall-web-{cfg.store.id}", cfg.broker, identity="board")
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda client, userdata, msg: self.live.apply(msg.topic, msg.payload)
        self.connected = threading.Event()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the web server: %s; check [broker] username/password", reason_code)
            return
        client.subscribe([(t, p.QOS) for t in self.live.topics()])
        self.connected.set()

    def start(self) -> LiveFeed:
        from broker.contract.mqtt import connect_async

        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
