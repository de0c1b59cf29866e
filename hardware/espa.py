"""ESPA 4.4.4: the control-station side of the ISO 1745 link to a paging system.

Two layers: pure framing (``bcc``, ``build_block``, ``call_block``, ``parse_block``),
tested byte for byte, and ``EspaLink``, which runs the select / transfer / terminate
exchange over any pyserial-like port (``read(1)`` with a short timeout, ``write``).

A call to a pager, as the control station (address ``'1'``) sends it to the paging
system (address ``'2'``)::

    us   EOT 1 ENQ 2 ENQ                (line to neutral, take it, select the paging system)
    them ACK                            (ready; NAK = not ready, we retry)
    us   SOH 1 STX 1 US 1234 RS 2 US text RS 3 US 1 RS 4 US 3 RS 6 US 1 ETX BCC
    them ACK                            (n NAK: see NAK_REASONS; a line error is resent)
    us   EOT                            (line back to neutral)

The select always starts with EOT: a paging system takes ``1 ENQ 2 ENQ`` only on a neutral
line, and after the port was opened (or the system restarted) we cannot know the line is.

Polling (``EspaLink.poll``) sends ``EOT 2 ENQ``; the paging system answers ``EOT``
(nothing to say: also proof it is alive) or selects us with ``1 ENQ`` and sends
status blocks, which we check and ACK or NAK.

Example::

    >>> bcc(b"1" + STX + b"1" + US + b"A" + ETX)
    95
    >>> call_block(EspaCall("1234", "Kiosk 1: product")).hex(" ")[:23]
    '01 31 02 31 1f 31 32 33'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hardware.paging import TransmitterRefused, TransmitterTimeout
from hardware.serialport import read_byte

log = logging.getLogger(__name__)

SOH, STX, ETX, EOT, ENQ, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x15"
US, RS = b"\x1f", b"\x1e"

HEADER_CALL = "1"
"""Header '1': call to pager.  '2' is status information, '3' a status request."""

MAX_BLOCK = 512
"""Longer than any block a paging system sends; protects us from a line full of noise."""


NAK_REASONS: dict[str, str] = {
    "1": "line errors",
    "2": "paging system rejected the call data",
    "3": "pager unknown or unavailable",
}
"""ESPA 4.4.4 transmission control prefixes on a NAK to a block, as a short reason.

'1' (transmission error: corrupt characters or BCC) is the only one worth a resend; '2'
(unknown data: header or record the system does not take) and '3' (facility not available:
e.g. a call address the system does not know) fail the same way every time, so the page is
declined at once for the hub to page someone else.  Any other digit is declined at once too.
"""
RESEND_PREFIXES = frozenset({"", "1"})
"""A bare NAK (ISO 1745: send again) or a transmission error."""


class EspaError(ValueError):
    """A block that is not valid ESPA 4.4.4; the text says what is wrong."""


@dataclass(frozen=True)
class EspaCall:
    """Record values of one call to a pager (strings, as they go on the wire)."""

    address: str
    message: str
    beep: str = "1"
    call_type: str = "3"
    """'3' is a display message on most systems; the number is system-specific."""
    priority: str = "1"

    def records(self) -> list[tuple[str, str]]:
        return [
            ("1", self.address),
            ("2", self.message),
            ("3", self.beep),
            ("4", self.call_type),
            ("6", self.priority),
        ]


@dataclass(frozen=True)
class Block:
    header: str
    records: dict[str, str]


# --- framing (pure) ----------------------------------------------------------------


def bcc(data: bytes) -> int:
    """Block check character: XOR of every byte after SOH through ETX inclusive."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def build_block(header: str, records: list[tuple[str, str]]) -> bytes:
    """``SOH header STX 1 US v RS 2 US v ... ETX BCC``; raises EspaError on characters ESPA cannot carry."""
    body = RS.join(_ascii(k, "record id") + US + _ascii(v, f"record {k}") for k, v in records)
    checked = _ascii(header, "header") + STX + body + ETX
    return SOH + checked + bytes([bcc(checked)])


def call_block(call: EspaCall) -> bytes:
    return build_block(HEADER_CALL, call.records())


def parse_block(frame: bytes) -> Block:
    """Check and decode one whole block (SOH through BCC)."""
    if len(frame) < 5 or frame[:1] != SOH or frame[-2:-1] != ETX:
        raise EspaError(f"not a block (must be SOH ... ETX BCC): {frame[:40]!r}")
    checked, got = frame[1:-1], frame[-1]
    if bcc(checked) != got:
        raise EspaError(f"bad BCC: got 0x{got:02X}, computed 0x{bcc(checked):02X}")
    if STX not in checked:
        raise EspaError("block has no STX between header and records")
    header, body = checked[:-1].split(STX, 1)
    records: dict[str, str] = {}
    for raw in body.split(RS) if body else []:
        key, sep, value = raw.partition(US)
        if not sep:
            raise EspaError(f"record {raw[:20]!r} has no US between id and value")
        records[key.decode("ascii", "replace")] = value.decode("ascii", "replace")
    return Block(header.decode("ascii", "replace"), records)


def _ascii(text: str, what: str) -> bytes:
    data = text.encode("ascii", "strict") if text.isascii() else None
    if data is None or any(b < 0x20 or b == 0x7F for b in data):
        raise EspaError(f"{what} {text[:20]!r} must be printable ASCII")
    return data


def nak_code(prefix: str) -> str:
    """The reason digit just before a NAK (``"1"``), or ``""`` for a bare NAK.

    >>> nak_code("3"), nak_code("x1"), nak_code("")
    ('3', '1', '')
    """
    return prefix[-1:] if prefix[-1:].isdigit() else ""


# --- the link (I/O over a pyserial-like port) ---------------------------------------


class EspaLink:
    """Sends calls to one paging system over ``port`` and polls it.

    ``retries`` is how many times a NAKed or unanswered step is repeated before the
    page is given up; ``timeout_s`` is how long to wait for each answer.
    """

    def __init__(
        self,
        port,
        *,
        control_address: str = "1",
        paging_address: str = "2",
        timeout_s: float = 3.0,
        retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.control = control_address.encode("ascii")
        self.paging = paging_address.encode("ascii")
        self.timeout_s = timeout_s
        self.retries = retries
        self.clock = clock
        self.status: list[Block] = []
        """Status blocks the paging system sent while polled (most recent last, at most 20)."""

    # --- select / transfer / terminate ---------------------------------------------

    def send_call(self, call: EspaCall) -> None:
        """Deliver one call; raise TransmitterRefused / TransmitterTimeout, or the port's own error."""
        block = call_block(call)
        self._select()
        try:
            self._transfer(block)
        finally:
            self._terminate()

    def _terminate(self) -> None:
        """EOT, best effort: once the block is ACKed the page is delivered, even if the port dies now
        (the next exchange finds that out), so a failing EOT must not make us send the page twice."""
        try:
            self.port.write(EOT)
            self.port.flush()
        except Exception:
            log.debug("ESPA: EOT not sent", exc_info=True)

    def _select(self) -> None:
        silent = 0
        for attempt in range(self.retries + 1):
            self.port.reset_input_buffer()
            self.port.write(EOT + self.control + ENQ + self.paging + ENQ)
            self.port.flush()
            reply, prefix = self._reply()
            if reply == ACK:
                return
            if reply is None:
                silent += 1
            log.info(
                "ESPA select %d: paging system answered %r%s", attempt + 1, reply, f" (prefix {prefix})" * bool(prefix)
            )
            self.port.write(EOT)
        if silent == self.retries + 1:
            raise TransmitterTimeout("transmitter timeout (no answer to ENQ)")
        raise TransmitterRefused(f"transmitter busy (NAK to select x{self.retries + 1})")

    def _transfer(self, block: bytes) -> None:
        naks: list[str] = []
        for attempt in range(self.retries + 1):
            self.port.write(block)
            self.port.flush()
            reply, prefix = self._reply()
            if reply == ACK:
                return
            if reply == EOT:
                raise TransmitterRefused("transmitter ended the exchange (EOT)")
            if reply == NAK:
                code = nak_code(prefix)
                naks.append(code)
                if code not in RESEND_PREFIXES:
                    raise TransmitterRefused(f"{NAK_REASONS.get(code, 'transmitter refused the page')} (NAK {code})")
                log.info("ESPA block NAKed (attempt %d, prefix %r); resending", attempt + 1, prefix)
            else:
                log.info("ESPA block unanswered (attempt %d); resending", attempt + 1)
        if not naks:
            raise TransmitterTimeout("transmitter timeout (no ACK to the block)")
        if naks[-1] == "1":
            raise TransmitterRefused(f"line errors (NAK 1 x{len(naks)}): check baud/parity")
        raise TransmitterRefused(f"transmitter refused the page (NAK x{len(naks)})")

    def _reply(self) -> tuple[bytes | None, str]:
        """The next ACK / NAK / EOT, with any prefix characters before it, or None on timeout."""
        deadline = self.clock() + self.timeout_s
        prefix = b""
        while True:
            b = read_byte(self.port, deadline, self.clock)
            if not b:
                return None, prefix.decode("ascii", "replace")
            if b in (ACK, NAK, EOT):
                return b, prefix.decode("ascii", "replace")
            prefix = (prefix + b)[-8:]

    # --- polling ---------------------------------------------------------------------

    def poll(self) -> list[Block]:
        """Poll the paging system once; return the status blocks it sent (often none).

        Raises TransmitterTimeout when it does not answer, which is how a dead link shows.
        """
        self.port.reset_input_buffer()
        self.port.write(EOT + self.paging + ENQ)
        self.port.flush()
        deadline = self.clock() + self.timeout_s
        seen = b""
        while True:
            b = read_byte(self.port, deadline, self.clock)
            if not b:
                raise TransmitterTimeout("transmitter timeout (no answer to poll)")
            if b == EOT:
                return []
            seen = (seen + b)[-2:]
            if seen == self.control + ENQ:
                self.port.write(ACK)
                self.port.flush()
                return self._receive_blocks()

    def _receive_blocks(self) -> list[Block]:
        """We were selected: read blocks until EOT, ACKing good ones and NAKing bad ones."""
        received: list[Block] = []
        bad = 0
        while True:
            deadline = self.clock() + self.timeout_s
            b = read_byte(self.port, deadline, self.clock)
            if not b or b == EOT:
                return received
            if b != SOH:
                continue
            frame = self._rest_of_block(deadline)
            try:
                block = parse_block(frame)
            except EspaError as exc:
                bad += 1
                log.warning("ESPA: bad block from the paging system (%s); NAK", exc)
                self.port.write(NAK)
                if bad > self.retries:
                    return received
                continue
            self.port.write(ACK)
            received.append(block)
            self.status = (self.status + [block])[-20:]

    def _rest_of_block(self, deadline: float) -> bytes:
        """After SOH: everything through ETX, then exactly one byte (the BCC)."""
        frame = SOH
        while len(frame) < MAX_BLOCK:
            b = read_byte(self.port, deadline, self.clock)
            if not b:
                return frame
            frame += b
            if b == ETX:
                return frame + read_byte(self.port, deadline, self.clock)
        return frame
