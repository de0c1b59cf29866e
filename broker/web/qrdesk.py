"""The server's side of the QR call points: it is the QR device on the protocol.

One ``CallPoint`` (``broker/callpoint/callpoint.py``: SQLite outbox, resend after reconnect) per
QR device, so a call made from a phone reaches the hub even if Mosquitto restarts.  All
of them share one MQTT connection (the web server's ``phones`` login) and one outbox
file (``CallPointGroup``): a store with hundreds of QR signs costs a handful of file
descriptors, not several per sign.
The protocol allows one open call per device, and the hub turns a second call from
the same device into a *repeat press* on the open one.  So:

- the phone that made the open call and calls again gets the same call back (no press);
- another phone that taps Call while the call is open sends a repeat press (the hub
  raises the urgency and reminds whoever is paged; the press is not kept in the
  outbox because the hub answers it with no state of its own) and then follows the
  open call: it sees who is coming, but cannot cancel it and gets no faces.

Both count against that phone's one-call-per-120-s limit.

Threads: CallPoint callbacks arrive on paho's threads; web handlers run on the event
loop.  A lock guards the dicts and listeners are woken with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker.callpoint.callpoint import CallPoint, CallPointGroup, new_call_id
from broker.callpoint.outbox import Outbox
from broker.callpoint.progress import CallProgress
from broker.contract import protocol as p
from broker.contract.config import Config
from broker.web.customer import customer_view, texts
from broker.web.keys import call_token

log = logging.getLogger(__name__)
KEEP_CLOSED = 2000
"""Closed calls remembered for late page loads (the outbox files keep them across restarts)."""


def import_old_outbox(path: Path, into: Outbox, device: str) -> None:
    """Move a QR device's own outbox file (before they shared one) into the shared file, once.

    What it still holds (an open call, an unconfirmed cancel) goes out from the shared file as
    before; the old file is renamed ``*.imported`` so a restart does not import it twice.
    """
    if not path.exists():
        return
    old = Outbox(str(path))
    with old._lock:
        calls = old.conn.execute("select call_id, created_at, status, state from calls").fetchall()
        rows = old.conn.execute(
            "select call_id, action, topic, payload, created_at, sent from outbox where confirmed = 0 order by seq"
        ).fetchall()
    old.close()
    with into._lock:
        into.conn.executemany(
            "insert or ignore into calls (call_id, created_at, status, state, device) values (?, ?, ?, ?, ?)",
            [(*row, device) for row in calls],
        )
        into.conn.executemany(
            "insert into outbox (call_id, action, topic, payload, created_at, sent, device)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            [(*row, device) for row in rows],
        )
    for suffix in ("", "-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            extra.rename(f"{extra}.imported")
    log.info("QR device %s: imported %d unsent actions from %s", device, len(rows), path.name)


class CallRefused(Exception):
    """A call the phone may not make now; ``key`` names the catalog text, ``values`` fill it."""

    def __init__(self, key: str, status: int = 400, **values: Any) -> None:
        super().__init__(key)
        self.key, self.status, self.values = key, status, values


class QrDesk:
    def __init__(self, cfg: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.clock = clock
        self.secret = cfg.web.qr_secret or ""
        folder = Path(cfg.web.outbox_dir or Path(cfg.database.path).parent)
        devices = [dev.id for dev in cfg.devices if dev.kind == "qr"]
        self.group = CallPointGroup(
            cfg,
            devices,
            str(folder / "qr.outbox.db"),
            identity="phones",
            client_id=f"staffcall-qr-{cfg.store.id}",
            on_state=self._on_state,
            on_connection=lambda _up: self._changed(),
        )
        self.points: dict[str, CallPoint] = self.group.points
        for device in devices:
            import_old_outbox(folder / f"qr-{device}.outbox.db", self.group.file, device)
        self.progress: OrderedDict[str, CallProgress] = OrderedDict()
        self.feedback_given: set[str] = set()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.version = 0

    def start(self) -> None:
        self.group.start()

    def stop(self) -> None:
        self.group.stop()

    def ready(self) -> bool:
        return self.group.connected

    # --- listeners -------------------------------------------------------------------

    def listen(self, notify: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(notify)
        return lambda: self._listeners.remove(notify) if notify in self._listeners else None

    def _changed(self) -> None:
        self.version += 1
        for notify in list(self._listeners):
            notify()

    def _on_state(self, call_id: str, state: p.StateMsg | None) -> None:
        if state is None:
            return
        with self._lock:
            prog = self.progress.get(call_id)
            if prog is None:
                prog = self.progress[call_id] = CallProgress(call_id, pressed_mono=self.clock() - state.waited_s)
            prog.update(state, self.clock())
            self.progress.move_to_end(call_id)
            while len(self.progress) > KEEP_CLOSED:
                self.progress.popitem(last=False)
        self._changed()

    # --- what phones do -------------------------------------------------------------------

    def open_call(self, device: str) -> str | None:
        found = self.points[device].open_call()
        return found[0] if found else None

    def call(self, device: str, phone: str, token: str | None, reason: str | None, text: str | None, lang: str):
        """Make (or rejoin) the device's call; returns ``(call_id, token or None, new_press)``."""
        point = self.points[device]
        current = self.open_call(device)
        if current is not None:
            if token and token == call_token(self.secret, current, phone):
                return current, token, False
            point.press_again(reason)  # kept in the call point's outbox until the hub has counted it
            return current, None, True
        call_id = new_call_id(device)
        with self._lock:  # before the call goes out: its first state may arrive before point.call returns
            self.progress[call_id] = CallProgress(call_id, pressed_mono=self.clock())
        point.call(reason=reason, lang=lang, text=text, call_id=call_id)
        self._changed()
        return call_id, call_token(self.secret, call_id, phone), True

    def _owned(self, call_id: str, phone: str, token: str | None) -> bool:
        return bool(token) and token == call_token(self.secret, call_id, phone)

    def cancel(self, device: str, call_id: str, phone: str, token: str | None) -> None:
        if not self._owned(call_id, phone, token):
            raise CallRefused("not_yours", 403)
        self.points[device].cancel(call_id)

    def feedback(self, device: str, call_id: str, phone: str, token: str | None, score: int) -> None:
        if not self._owned(call_id, phone, token):
            raise CallRefused("not_yours", 403)
        if not 1 <= score <= 4:
            raise CallRefused("bad_score")
        with self._lock:
            if call_id in self.feedback_given:
                return
            self.feedback_given.add(call_id)
        self.points[device].feedback(call_id, score)
        self._changed()

    # --- what phones see ------------------------------------------------------------------

    def known(self, device: str, call_id: str) -> CallProgress | None:
        with self._lock:
            prog = self.progress.get(call_id)
        if prog is not None:
            return prog
        # After a server restart: the call point's outbox has the call and its last state.
        point = self.points[device]
        with point.outbox._lock:
            row = point.outbox.conn.execute("select state from calls where call_id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        prog = CallProgress(call_id, pressed_mono=self.clock())
        if row[0]:
            state = p.decode(p.StateMsg, row[0])
            prog.pressed_mono -= state.waited_s
            prog.update(state, self.clock())
        with self._lock:
            self.progress[call_id] = prog
        return prog

    def view(self, device: str, call_id: str | None, phone: str, token: str | None, lang: str) -> dict[str, Any]:
        point = self.points[device]
        prog = self.known(device, call_id) if call_id and p.valid_id(call_id) else None
        if prog is not None and not call_id.startswith(device[:40] + "-"):
            prog = None  # a call id of another device: never show it here
        with self._lock:
            given = call_id in self.feedback_given
        view = customer_view(
            prog,
            self.clock(),
            point.connected,
            texts(lang),
            mine=bool(call_id) and self._owned(call_id, phone, token),
            feedback_given=given,
            nobody_text=self.cfg.store.nobody_on_shift_text,
        )
        view["connected"] = point.connected
        return view
