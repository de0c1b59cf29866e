"""The pager gateway: pages from the hub, delivered to classic radio pagers over a serial port.

It subscribes to ``staffcall/{store}/page/+``; a page for a colleague whose ``pager`` is
``espa:1234`` (or ``tap:5551234``, matching ``[pager_gateway] protocol``) is queued and sent
by one worker thread that owns the serial port.  A page the transmitter refuses, that
times out, that waited too long for an unplugged adapter, or that does not fit in the
queue, is sent back to the hub as ``staff/{staff}/decline`` with the reason, so the hub
pages the next colleague: nothing is lost silently.

The gateway's own health is published retained on ``staffcall/{store}/gateway/status``
(JSON; the Will says ``offline``).

Example::

    gw = PagerGateway(load_config("staffcall.toml"))
    gw.run()      # until SIGTERM / Ctrl-C
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from broker.contract import protocol as p
from broker.contract.config import Config, GatewayCfg
from broker.contract.mqtt import connect_async, make_client
from hardware.espa import EspaCall, EspaLink
from hardware.paging import PageFailed, TransmitterTimeout, fit_text
from hardware.serialport import open_port
from hardware.tap import TapLink, max_message

log = logging.getLogger(__name__)

REASON_PREFIX = "pager gateway: "
REASON_MAX = 64
"""What the protocol's ``reason`` field allows (printable characters)."""
URGENT_KINDS = frozenset({"escalation", "unattended", "nobody_on_shift", "repeat"})
NO_DECLINE_KINDS = frozenset({"unattended"})
"""The call is already closed: a decline would only be rejected by the hub."""
MIN_BACKOFF_S = 0.25


def status_topic(store: str) -> str:
    return f"{p.PREFIX}/{store}/gateway/status"


# --- the pure part ---------------------------------------------------------------------


@dataclass(frozen=True)
class PageJob:
    """One page waiting for the transmitter."""

    call_id: str
    staff: str
    address: str
    text: str
    urgent: bool
    kind: str
    queued_at: float


def pager_addresses(cfg: Config) -> dict[str, str]:
    """Staff id -> pager address, for the staff this gateway's protocol serves."""
    prefix = cfg.pager_gateway.protocol + ":"
    return {s.id: s.pager[len(prefix) :] for s in cfg.staff if s.pager and s.pager.startswith(prefix)}


def make_job(page: p.PageMsg, staff: str, address: str, gw: GatewayCfg, now: float) -> PageJob:
    text = page.text if not page.customer_text else f"{page.text} - {page.customer_text}"
    return PageJob(
        call_id=page.id,
        staff=staff,
        address=address,
        text=fit_text(text, gw.max_chars),
        urgent=page.kind in URGENT_KINDS or page.urgency > 1,
        kind=page.kind,
        queued_at=now,
    )


def decline_reason(why: str) -> str:
    """``pager gateway: <why>`` in at most 64 printable ASCII characters, as the protocol's ``reason`` allows.

    ``why`` may carry a transmitter's own text, which is neither ours nor clean: control and
    non-ASCII characters become spaces.  A reason too long is cut at a word boundary with
    "...", so it never ends mid-word ("511 Invalid pa").

    >>> decline_reason("refused: 511 Invalid pager ID - not in database")
    'pager gateway: refused: 511 Invalid pager ID - not in database'
    >>> decline_reason("refused: 511 Invalid pager ID - this one is not in the database of the terminal")
    'pager gateway: refused: 511 Invalid pager ID - this one is...'
    """
    clean = "".join(c if " " <= c <= "~" else " " for c in why)
    text = REASON_PREFIX + " ".join(clean.split())
    if len(text) <= REASON_MAX:
        return text
    room = text[: REASON_MAX - 3]
    head, _, _ = room.rpartition(" ")
    if text[REASON_MAX - 3] == " ":  # the cut falls between two words
        head = room
    if len(head) <= len(REASON_PREFIX):  # one word longer than the room: cut it after all
        head = room
    return head.rstrip(" ,;:-(") + "..."


class PageQueue:
    """Pages in arrival order, bounded; old ones expire while the port is down."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.jobs: deque[PageJob] = deque()

    def push(self, job: PageJob) -> bool:
        """Queue ``job``; False when full (the caller declines it, the hub re-routes at once)."""
        if len(self.jobs) >= max(1, self.limit):
            return False
        self.jobs.append(job)
        return True

    def push_front(self, job: PageJob) -> None:
        self.jobs.appendleft(job)

    def pop(self) -> PageJob | None:
        return self.jobs.popleft() if self.jobs else None

    def expire(self, now: float, max_age: float) -> list[PageJob]:
        old = [j for j in self.jobs if now - j.queued_at >= max_age]
        for j in old:
            self.jobs.remove(j)
        return old

    def __len__(self) -> int:
        return len(self.jobs)


# --- drivers behind one call -------------------------------------------------------------


class Transmitter:
    """One protocol driver on one open port: ``send(job)`` and, for ESPA, ``poll()``."""

    def __init__(self, port, gw: GatewayCfg) -> None:
        self.gw = gw
        self.port = port
        if gw.protocol == "espa":
            self.link = EspaLink(
                port,
                control_address=gw.espa_control_address,
                paging_address=gw.espa_paging_address,
                timeout_s=gw.timeout_s,
                retries=gw.retries,
            )
        else:
            self.link = TapLink(port, password=gw.tap_password, timeout_s=gw.timeout_s, retries=gw.retries)

    def send(self, job: PageJob) -> None:
        if isinstance(self.link, EspaLink):
            priority = self.gw.espa_priority_urgent if job.urgent else self.gw.espa_priority
            call = EspaCall(job.address, job.text, self.gw.espa_beep, self.gw.espa_call_type, priority)
            self.link.send_call(call)
        else:  # one TAP block holds the id and the message: a long text is cut to fit
            self.link.send_page(job.address, job.text[: max_message(job.address)].rstrip())

    def poll(self) -> None:
        if isinstance(self.link, EspaLink):
            for block in self.link.poll():
                log.info("paging system status: header %s %s", block.header, block.records)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # an unplugged adapter may fail to close; it is gone either way
            log.debug("closing the port failed", exc_info=True)


# --- the service -----------------------------------------------------------------------------


class PagerGateway:
    def __init__(
        self,
        config: Config,
        opener: Callable[..., object] = open_port,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = config
        self.gw = config.pager_gateway
        self.topics = p.Topics(config.store.id)
        self.addresses = pager_addresses(config)
        self.opener = opener
        self.clock = clock
        self.queue = PageQueue(self.gw.queue_limit)
        self.lock = threading.Condition()
        self.stopping = threading.Event()
        self.ready = threading.Event()
        """Set while the broker is connected and the port is open (tests, start-up logs)."""
        self.transmitter: Transmitter | None = None
        self.state = "starting"
        self.last_error = ""
        self.counts = {"sent": 0, "declined": 0, "rejected": 0}
        self._connected = threading.Event()
        self._last_poll = 0.0
        self.status_topic = status_topic(config.store.id)
        self.client = make_client(
            f"staffcall-pager-gateway-{config.store.id}-{self.gw.protocol}",
            config.broker,
            will=(self.status_topic, p.encode({"state": "offline"})),
            identity="gateway",
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        others = sorted(s.id for s in config.staff if s.pager and s.id not in self.addresses)
        if others:
            log.warning(
                "staff %s have pagers of another protocol; this %s gateway ignores them (run one gateway per protocol)",
                ", ".join(others),
                self.gw.protocol,
            )

    # --- MQTT (paho's thread): decode and queue, nothing slow ----------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the pager gateway: %s; check [broker] username/password", reason_code)
            return
        client.subscribe(self.topics.page("+"), qos=p.QOS)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # Ready only once the broker confirmed the subscription: a page published earlier would miss us.
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused the subscription to pages: %s; check the broker's ACL", reason_codes)
            return
        self._connected.set()
        self._publish_status()
        log.info("connected to the broker; paging %d staff through %s", len(self.addresses), self.gw.port)

    def _on_message(self, client, userdata, msg) -> None:
        staff = msg.topic.rsplit("/", 1)[-1]
        address = self.addresses.get(staff)
        if address is None:
            return
        try:
            page = p.decode(p.PageMsg, msg.payload)
        except p.ProtocolError as exc:
            self.counts["rejected"] += 1
            log.warning("ignored a malformed page on %s: %s", msg.topic[:120], exc)
            return
        job = make_job(page, staff, address, self.gw, self.clock())
        with self.lock:
            queued = self.queue.push(job)
            self.lock.notify_all()
        if not queued:
            self._decline(job, f"queue full ({self.gw.queue_limit} pages waiting)")
        else:
            log.info("queued page %s for %s (%s)", job.call_id, staff, address)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._work, name="pager-gateway", daemon=True)
        self._thread.start()

    def run(self) -> None:
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
        with self.lock:
            self.lock.notify_all()
        if getattr(self, "_thread", None) is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        with self.lock:
            left = list(self.queue.jobs)
            self.queue.jobs.clear()
        for job in left:
            self._decline(job, "gateway stopped")
        self.state = "offline"
        self._publish_status()
        if self._connected.is_set():
            self.client.publish(
                self.status_topic, p.encode({"state": "offline"}), qos=p.QOS, retain=True
            ).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        if self.transmitter is not None:
            self.transmitter.close()

    # --- the worker: owns the port ------------------------------------------------------

    def _work(self) -> None:
        backoff = MIN_BACKOFF_S
        while not self.stopping.is_set():
            self._expire()
            if self.transmitter is None:
                if self._open():
                    backoff = MIN_BACKOFF_S
                else:
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, self.gw.reconnect_max_s)
                continue
            job = self._next_job()
            if job is not None:
                self._deliver(job)
            elif self._poll_due():
                self._poll()

    def _open(self) -> bool:
        g = self.gw
        try:
            port = self.opener(g.port, g.baudrate, g.bytesize, g.parity, g.stopbits)
        except Exception as exc:
            self._set_state("port_down", f"cannot open {g.port}: {exc}")
            return False
        self.transmitter = Transmitter(port, g)
        log.info("opened %s (%d %d%s%d, %s)", g.port, g.baudrate, g.bytesize, g.parity, g.stopbits, g.protocol)
        self._set_state("ready", "")
        return True

    def _next_job(self) -> PageJob | None:
        wait = 0.5
        if self.gw.poll_interval_s and self.gw.protocol == "espa":
            wait = max(0.0, min(wait, self._last_poll + self.gw.poll_interval_s - self.clock()))
        with self.lock:
            if not self.queue and not self.stopping.is_set():
                self.lock.wait(wait)
            return self.queue.pop()

    def _deliver(self, job: PageJob) -> None:
        assert self.transmitter is not None
        try:
            self.transmitter.send(job)
        except PageFailed as exc:
            self._set_state("transmitter_silent" if isinstance(exc, TransmitterTimeout) else "ready", str(exc))
            self._decline(job, str(exc))
            return
        except ValueError as exc:  # text or address the protocol cannot carry
            self._decline(job, f"cannot encode: {exc}")
            return
        except Exception as exc:  # the port itself failed: unplugged, hung up, I/O error
            self._port_lost(exc)
            with self.lock:
                self.queue.push_front(job)
            return
        self.counts["sent"] += 1
        self._last_poll = self.clock()
        log.info("paged %s (%s) for call %s: %r", job.staff, job.address, job.call_id, job.text)
        if not self._set_state("ready", ""):
            self._publish_status()

    def _poll_due(self) -> bool:
        return bool(self.gw.poll_interval_s) and self.clock() - self._last_poll >= self.gw.poll_interval_s

    def _poll(self) -> None:
        assert self.transmitter is not None
        self._last_poll = self.clock()
        try:
            self.transmitter.poll()
        except PageFailed as exc:
            self._set_state("transmitter_silent", str(exc))
            return
        except Exception as exc:
            self._port_lost(exc)
            return
        self._set_state("ready", "")

    def _port_lost(self, exc: Exception) -> None:
        log.warning("lost the serial port %s (%s); reopening", self.gw.port, exc)
        if self.transmitter is not None:
            self.transmitter.close()
        self.transmitter = None
        self._set_state("port_down", f"{type(exc).__name__}: {exc}")

    def _expire(self) -> None:
        with self.lock:
            old = self.queue.expire(self.clock(), self.gw.outage_timeout_s)
        for job in old:
            self._decline(job, f"serial port down over {self.gw.outage_timeout_s:g}s")

    # --- reporting ---------------------------------------------------------------------------

    def _decline(self, job: PageJob, why: str) -> None:
        reason = decline_reason(why)
        self.counts["declined"] += 1
        if job.kind in NO_DECLINE_KINDS:
            log.error("could not page %s for closed call %s: %s", job.staff, job.call_id, reason)
        else:
            log.error("could not page %s for call %s: %s; told the hub to re-route", job.staff, job.call_id, reason)
            payload = p.encode({"id": job.call_id, "reason": reason})
            self.client.publish(self.topics.staff_action(job.staff, "decline"), payload, qos=p.QOS)
        self._publish_status()

    def _set_state(self, state: str, error: str) -> bool:
        """Record the gateway's state; publish (and return True) when it changed."""
        changed = state != self.state or (error and error != self.last_error)
        self.state = state
        if error:
            self.last_error = error
        if state == "ready" and self._connected.is_set():
            self.ready.set()
        elif state != "ready":
            self.ready.clear()
        if changed:
            (log.info if state == "ready" else log.warning)("gateway %s%s", state, f": {error}" if error else "")
            self._publish_status()
        return bool(changed)

    def _publish_status(self) -> None:
        if not self._connected.is_set():
            return
        if self.state == "ready" and self.transmitter is not None:
            self.ready.set()
        status = {
            "state": self.state,
            "protocol": self.gw.protocol,
            "port": self.gw.port,
            "queued": len(self.queue),
            "sent": self.counts["sent"],
            "declined": self.counts["declined"],
            "last_error": self.last_error or None,
        }
        self.client.publish(self.status_topic, p.encode(status), qos=p.QOS, retain=True)
