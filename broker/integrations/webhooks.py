"""Signed webhooks (``[[webhooks]]``): tell other systems when a call opens, escalates, is greeted, ...

The integration reads the hub's public ``state/{id}`` and ``summary`` messages, turns each change
into events (``webhook_events.py``, pure), writes one row per interested receiver into the
persistent outbox before ``handle`` returns, and leaves delivery to one sender thread per receiver
(``webhook_outbox.py``).  Receivers get either Standard Webhooks (JSON signed with HMAC-SHA256:
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) or a Teams/Slack text card.

Example::

    host = IntegrationHost(cfg, [Webhooks(cfg)]).start()
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from broker.contract import protocol as p
from broker.contract.clock import iso
from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.integrations.webhook_events import (
    Event,
    Seen,
    SummaryMsg,
    call_events,
    card_body,
    card_text,
    feedback_event,
    standard_body,
)
from broker.integrations.webhook_outbox import Outbox, Sender

log = logging.getLogger(__name__)

LOCALES = Path(__file__).parent / "locales"

STATE_FIELDS = (
    "id",
    "device",
    "zone",
    "label",
    "reason",
    "status",
    "tier",
    "staff",
    "staff_name",
    "staff_role",
    "eta_s",
    "opened_at",
    "updated_at",
    "waited_s",
    "repeat_presses",
    "nobody_on_shift",
)


BACKLOG_EVERY_S = 10.0
"""How often the webhooks' backlog is checked for the retained ``integrations/status``."""


class Webhooks:
    """The integration the host runs; ``senders`` deliver, this thread only writes the outbox."""

    name = "webhooks"

    def __init__(self, cfg: Config, wall: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.wall = wall
        self.hooks = [h for h in cfg.webhooks if h.enabled]
        self.topics_ = p.Topics(cfg.store.id)
        self.outbox = Outbox(cfg.webhook_delivery.outbox, wall=wall)
        self.senders = {h.id: Sender(h, self.outbox, cfg.webhook_delivery, wall=wall) for h in self.hooks}
        self.catalogs = {h.id: Catalog(LOCALES, h.language or cfg.store.language) for h in self.hooks}

    def topics(self) -> list[str]:
        return ["state/+", "summary"]

    def start(self, host) -> None:
        for sender in self.senders.values():
            sender.start()
        self._host = host
        self._stop = threading.Event()
        self._reporter = threading.Thread(target=self._report, name="webhooks-backlog", daemon=True)
        self._reporter.start()

    def stop(self) -> None:
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self._reporter.join(timeout=5)
        for sender in self.senders.values():
            sender.stop()
        self.outbox.close()

    def backlog(self) -> dict[str, int]:
        """Events waiting per receiver (the web server's ``staffcall_webhook_backlog``)."""
        return {h.id: self.outbox.waiting(h.id) for h in self.hooks}

    def _report(self) -> None:
        """Publish the backlog (retained ``integrations/status``) when it changes, checked every BACKLOG_EVERY_S."""
        last: dict[str, int] | None = None
        while True:
            try:
                now = self.backlog()
                if now != last:
                    body = {"webhooks": {"backlog": now}, "updated_at": iso(self.wall())}
                    self._host.publish(self.topics_.integrations_status(), p.encode(body), retain=True)
                    last = now
            except Exception:  # a closed outbox at shutdown, a broker away: next round
                log.debug("webhooks: backlog report failed", exc_info=True)
            if self._stop.wait(BACKLOG_EVERY_S):
                return

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        """Derive the events and write them to the outbox; a bad message is logged and dropped."""
        root = self.topics_.root + "/"
        rest = topic[len(root) :] if topic.startswith(root) else ""
        try:
            if rest.startswith("state/"):
                self._state(rest[len("state/") :], payload)
            elif rest == "summary" and payload:
                self._summary(payload)
        except p.ProtocolError as exc:
            log.warning("webhooks: ignored %s: %s", topic[:120], exc)

    def _state(self, call_id: str, payload: bytes) -> None:
        if not payload:
            return  # the retained copy cleared after the close: the final state came before it
        st = p.decode(p.StateMsg, payload)
        if st.id != call_id:
            raise p.ProtocolError(f"state of {st.id!r} on the topic of {call_id[:70]!r}")
        before = self.outbox.seen(st.id)
        types = call_events(before, st)
        now = Seen(st.status, max(st.tier, before.tier if before else 0))
        if not types and before == now:
            return
        data = {k: getattr(st, k) for k in STATE_FIELDS}
        events = [Event(t, st.id, data) for t in types]
        self._write(self._rows(events), call=(st.id, now))

    def _summary(self, payload: bytes) -> None:
        summary = p.decode(SummaryMsg, payload)
        before = self.outbox.seen_feedback()
        if before == (summary.day, summary.feedback_count):
            return
        event = feedback_event(before, summary)
        rows = self._rows([event]) if event is not None else []
        self._write(rows, feedback=(summary.day, summary.feedback_count))

    def _write(self, rows: list[tuple[str, str, str, bytes]], **seen) -> None:
        self.outbox.write(rows, **seen)
        for receiver in {r[0] for r in rows}:
            self.senders[receiver].wake.set()

    def _rows(self, events: list[Event]) -> list[tuple[str, str, str, bytes]]:
        rows = []
        for event in events:
            msg_id = "msg_" + secrets.token_urlsafe(18)  # the same id on every retry: it is stored with the row
            stamp = iso(self.wall())
            for hook in self.hooks:
                if event.type not in hook.events:
                    continue
                if hook.format == "standard":
                    body = standard_body(event, stamp)
                else:
                    body = card_body(
                        hook.format, card_text(event, self.catalogs[hook.id], self._place(event, hook.language))
                    )
                rows.append((hook.id, msg_id, event.type, body))
        return rows

    def _place(self, event: Event, lang: str) -> str:
        d = event.data
        device = self.cfg.devices_by_id.get(d.get("device") or "")
        label = d.get("label") or (device.label if device else "") or d.get("device") or ""
        zone = self.cfg.zone_name(d["zone"], lang or self.cfg.store.language) if d.get("zone") else ""
        return f"{label} ({zone})" if label and zone else label or zone or self.cfg.store.name
