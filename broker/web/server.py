"""The phones' shared server state: the QR call points, the staff desk and their MQTT client.

``PhonesServer`` is the shell around the pure parts: the QR call points (``QrDesk``),
the staff core (``StaffDesk``), the abuse limits, and one MQTT client of its own
(``make_client``, so credentials from config apply) that listens to pages, states,
shifts and presence and publishes staff actions and presence.  The routes that read it
are ``qr.py`` (the customers' QR call pages) and ``staff.py`` (the staff app); ``app.py``
composes them with the board's into one Starlette app.

Server push is server-sent events (``sse.py``), as the board does: ``listen`` tells a
page's stream after every change, and the stream pushes the page's whole JSON view.

Rejected QR keys: the web server must not write the hub's SQLite (one writer per
file), so it *publishes* the attempt on ``call/{device}/bad_key``, a topic the hub
subscribes to but the protocol does not define; the hub rejects it and records topic
and payload (why, the address) in its ``rejected`` table.  At most
``REJECT_RECORDS_PER_MIN`` per minute, so a flood cannot fill the log.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from broker.contract import protocol as p
from broker.contract.config import Config, ConfigError
from broker.contract.mqtt import connect_async, make_client
from broker.web.keys import unsign
from broker.web.limits import CallLimiter
from broker.web.qrdesk import QrDesk
from broker.web.radiopagers import RadioPagers
from broker.web.staffdesk import Publish, StaffDesk
from broker.web.wills import PresenceWills

log = logging.getLogger(__name__)

STAFF_COOKIE = "staffcall_staff"
STAFF_SESSION_S = 16 * 3600
HEARTBEAT_S = 5.0
"""Seconds between keep-alives on the phones' live feeds (``sse.py``)."""
TICK_S = 0.25
REJECT_RECORDS_PER_MIN = 30
LOGIN_FAILURES_PER_MIN = 5


def require_secret(cfg: Config) -> str:
    if not cfg.web.qr_secret:
        raise ConfigError(
            "[web] qr_secret is missing: QR codes and staff sign-in need it. Add e.g. "
            "qr_secret = \"<output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'>\" "
            "(changing it later makes printed signs invalid)"
        )
    return cfg.web.qr_secret


class PhonesServer:
    def __init__(self, cfg: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.secret = require_secret(cfg)
        self.clock = clock
        self.topics = p.Topics(cfg.store.id)
        self.qr = QrDesk(cfg, clock)
        self.desk = StaffDesk(grace_s=cfg.web.staff_offline_after_s)
        self.radio = RadioPagers.from_staff(cfg.staff)
        self.limiter = CallLimiter(cfg.web.call_every_s, cfg.web.calls_per_ip)
        self.reasons = (cfg.web.qr_reasons or cfg.kiosk.reasons)[:4]
        self.outcomes = cfg.web.outcomes or cfg.pager.outcomes
        """Offered at Resolved, as the pager app offers ``[pager] outcomes``."""
        self.lock = threading.Lock()
        self.rings: dict[str, int] = {}
        self._listeners: list[Callable[[], None]] = []
        self._versions = itertools.count(1)
        self.version = 0
        """Bumped at every change: a phone keeps the newest view, whichever way it came (push or answer)."""
        self._rejects: deque[float] = deque()
        self._login_failures: dict[str, deque[float]] = {}
        self.client = make_client(f"staffcall-phones-{cfg.store.id}", cfg.broker, identity="phones")
        self.wills = PresenceWills(cfg)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self._changed()
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="phones-tick", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PhonesServer:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self.qr.start()
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        now = self.clock()
        with self.lock:
            cmds = [c for staff in list(self.desk.sessions) for c in self.desk.sign_out(staff, now)]
        for cmd in cmds:  # the server going away takes its colleagues off the routing
            self._publish(Publish(cmd.topic, {"status": "offline"}, retain=True))
        self.wills.close()
        self.qr.stop()
        self.client.disconnect()
        self.client.loop_stop()

    def ready(self) -> bool:
        return self.subscribed.is_set() and self.client.is_connected() and self.qr.ready()

    # --- MQTT ---------------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the phones' client: %s; check [broker] username/password", reason_code)
            return
        r = self.topics.root
        client.subscribe([(f"{r}/{t}", p.QOS) for t in ("page/+", "state/+", "shift/+", "staff/+/presence")])
        with self.lock:
            for s in self.desk.sessions.values():
                s.core.outbox.reconnected()
        self._changed()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic[len(self.topics.root) + 1 :].split("/")
        now = self.clock()
        try:
            with self.lock:
                if parts[0] == "page" and len(parts) == 2:
                    if self.desk.on_page(parts[1], p.decode(p.PageMsg, msg.payload), now):
                        self.rings[parts[1]] = self.rings.get(parts[1], 0) + 1
                elif parts[0] == "state" and len(parts) == 2:
                    if msg.payload:
                        self.desk.on_state(p.decode(p.StateMsg, msg.payload), now)
                    else:
                        self.desk.on_cleared(parts[1])
                elif parts[0] == "shift" and len(parts) == 2:
                    figures = json.loads(msg.payload) if msg.payload else {}
                    if not isinstance(figures, dict):
                        raise ValueError("shift figures must be a JSON object")
                    self.desk.on_shift(parts[1], figures)
                elif parts[0] == "staff" and parts[2:] == ["presence"]:
                    status = p.decode(p.PresenceMsg, msg.payload).status if msg.payload else None
                    self.desk.on_presence(parts[1], status)
        except (ValueError, p.ProtocolError) as exc:
            log.warning("phones ignored %s: %s", msg.topic[:120], exc)
            return
        self._changed()

    def _publish(self, cmd: Publish) -> None:
        info = self.client.publish(f"{self.topics.root}/{cmd.topic}", p.encode(cmd.body), qos=p.QOS, retain=cmd.retain)
        parts = cmd.topic.split("/")
        if parts[0] == "staff" and parts[2:] == ["presence"] and cmd.will:
            self.wills.follow(parts[1], cmd.body["status"])
        if cmd.seq is not None and cmd.topic.endswith("/decline"):
            staff = cmd.topic.split("/")[1]
            seq = cmd.seq

            def confirmed() -> None:  # the hub sends no state for some declines: the PUBACK confirms them
                info.wait_for_publish(10)
                with self.lock:
                    s = self.desk.sessions.get(staff)
                    if s is not None:
                        s.core.outbox.confirm_seq(seq)

            threading.Thread(target=confirmed, daemon=True).start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            with self.lock:
                cmds = self.desk.tick(self.clock())
            for cmd in cmds:
                self._publish(cmd)
            if cmds:
                self._changed()

    # --- listeners (one per open page) -----------------------------------------------------

    def listen(self, notify: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(notify)
        un_qr = self.qr.listen(notify)

        def unlisten() -> None:
            un_qr()
            if notify in self._listeners:
                self._listeners.remove(notify)

        return unlisten

    def _changed(self) -> None:
        self.version = next(self._versions)
        for notify in list(self._listeners):
            notify()

    # --- rejected keys -----------------------------------------------------------------------

    def record_rejected(self, device: str, why: str, ip: str) -> None:
        now = time.monotonic()
        while self._rejects and now - self._rejects[0] > 60:
            self._rejects.popleft()
        if len(self._rejects) >= REJECT_RECORDS_PER_MIN:
            return
        self._rejects.append(now)
        # The ACL lets this login write bad_key only for its own QR devices (and invalid-device): any
        # other id would be dropped by the broker without a word, and the attempt never recorded.
        where = device if device in self.qr.points else "invalid-device"
        body = {"why": why, "ip": ip[:64], "device": device[:64]}
        self.client.publish(self.topics.call_action(where, "bad_key"), json.dumps(body), qos=p.QOS)

    # --- staff sessions ----------------------------------------------------------------------

    def staff_of(self, request: Request) -> str | None:
        value = unsign(self.secret, request.cookies.get(STAFF_COOKIE))
        if not value or "|" not in value:
            return None
        staff, _, issued = value.partition("|")
        try:
            fresh = time.time() - float(issued) < STAFF_SESSION_S
        except ValueError:
            return None
        return staff if fresh and staff in self.cfg.staff_by_id else None

    def login_allowed(self, ip: str) -> bool:
        now = time.monotonic()
        q = self._login_failures.setdefault(ip, deque())
        while q and now - q[0] > 60:
            q.popleft()
        return len(q) < LOGIN_FAILURES_PER_MIN

    def note_login_failure(self, ip: str) -> None:
        self._login_failures.setdefault(ip, deque()).append(time.monotonic())

    def staff_view(self, staff: str, lang: str) -> dict[str, Any]:
        """The staff app's JSON; zones by their names in ``lang`` (``[[zones]]``), the id when unnamed."""
        version = self.version  # before the snapshot: a change after it comes with a higher one
        now = self.clock()
        with self.lock:
            view = self.desk.view(staff, self.cfg.staff_by_id[staff].name, now, self.outcomes)
            view["version"] = version
            view["ring"] = self.rings.get(staff, 0)
            view["radio_pagers"] = self.radio.view(staff, self.desk.presence)
        view["connected"] = self.client.is_connected()
        for item in [view["alert"], *view["calls"], *view["my_calls"]]:
            if item is not None:
                item["zone_name"] = self.cfg.zone_name(item["zone"], lang)
        return view

    def run(self, cmds: list[Publish]) -> None:
        for cmd in cmds:
            self._publish(cmd)
        if cmds:
            self._changed()
