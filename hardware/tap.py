"""TAP / IXO 1.8: the terminal side of the Telocator Alphanumeric Protocol.

Pure framing (``checksum``, ``build_block``, ``parse_block``) plus ``TapLink``, which
runs one paging session per page over a pyserial-like port::

    us   [EOT CR] CR                  (CR repeated until the central asks for the ID; EOT CR first
                                       logs off a session left open, see ``TapLink._login``)
    them ID=
    us   ESC PG1 [password] CR
    them [text CR] ACK CR             (logged in; NAK = try again, ESC EOT = go away)
    them ESC [p CR                    (message go-ahead)
    us   STX 5551234 CR text CR ETX ccc CR
    them [text CR] ACK CR             (NAK = checksum error, resend; RS = refused; ESC EOT = hang up)
    us   EOT CR                       (log off)
    them [RS CR] ESC EOT CR

Example::

    >>> checksum(STX + b"123" + CR + b"ABC" + CR + ETX)
    b'17;'
    >>> build_block("123", "ABC")
    b'\\x02123\\rABC\\r\\x0317;\\r'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hardware.paging import TransmitterRefused, TransmitterTimeout
from hardware.serialport import read_byte

log = logging.getLogger(__name__)

STX, ETX, EOT, ACK, NAK, ESC, RS, CR = b"\x02", b"\x03", b"\x04", b"\x06", b"\x15", b"\x1b", b"\x1e", b"\r"
LOGIN_PROMPT = b"ID="
GO_AHEAD = ESC + b"[p" + CR
DISCONNECT = ESC + EOT
MAX_BLOCK = 256
"""TAP 1.8: a block is at most 256 characters, STX through the checksum's CR."""
MAX_FIELD = MAX_BLOCK - 7
"""A field must fit in one block with STX, its CR, ETX, the checksum and the final CR."""


class TapError(ValueError):
    """A block that is not valid TAP; the text says what is wrong."""


# --- framing (pure) ----------------------------------------------------------------


def checksum(data: bytes) -> bytes:
    """Sum of the bytes (STX through ETX), low 12 bits as three nibbles, each + 0x30."""
    total = sum(data) & 0xFFF
    return bytes([0x30 + (total >> 8), 0x30 + ((total >> 4) & 0xF), 0x30 + (total & 0xF)])


def build_block(pager_id: str, message: str) -> bytes:
    """``STX id CR message CR ETX ccc CR``; raises TapError on what TAP cannot carry."""
    fields = [_field(pager_id, "pager id"), _field(message, "message")]
    body = STX + b"".join(f + CR for f in fields) + ETX
    block = body + checksum(body) + CR
    if len(block) > MAX_BLOCK:
        raise TapError(f"block is {len(block)} characters; TAP allows {MAX_BLOCK} (use a shorter message)")
    return block


def max_message(pager_id: str) -> int:
    """The longest message that fits in one block with ``pager_id``.

    >>> max_message("5551234")
    241
    """
    return MAX_BLOCK - len(pager_id) - 8


def parse_block(frame: bytes) -> tuple[str, ...]:
    """Check one block's checksum and return its fields (the peer's side of the link)."""
    if not frame.startswith(STX) or not frame.endswith(CR) or len(frame) < 6 or frame[-5:-4] != ETX:
        raise TapError(f"not a TAP block (STX ... ETX ccc CR): {frame[:40]!r}")
    body, got = frame[:-4], frame[-4:-1]
    if checksum(body) != got:
        raise TapError(f"bad checksum: got {got!r}, computed {checksum(body)!r}")
    return tuple(f.decode("ascii", "replace") for f in body[1:-1].split(CR)[:-1])


def _field(text: str, what: str) -> bytes:
    if not text.isascii() or any(not 0x20 <= ord(c) < 0x7F for c in text):
        raise TapError(f"{what} {text[:20]!r} must be printable ASCII")
    if len(text) > MAX_FIELD:
        raise TapError(f"{what} is {len(text)} characters; TAP allows {MAX_FIELD}")
    return text.encode("ascii")


# --- the link --------------------------------------------------------------------------


class TapLink:
    """Sends pages through one TAP paging central over ``port``: one session per page."""

    def __init__(
        self,
        port,
        *,
        password: str = "",
        timeout_s: float = 3.0,
        retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.password = password.encode("ascii")
        self.timeout_s = timeout_s
        self.retries = retries
        self.clock = clock
        self.last_text = ""
        """The central's last free-text response (e.g. "211 Page accepted"), for the log."""
        self.logged_off = False
        """True while we know the terminal is idle: we saw it confirm our last logoff (ESC EOT)."""

    def send_page(self, pager_id: str, message: str) -> None:
        """Deliver one page; raise TransmitterRefused / TransmitterTimeout, or the port's own error."""
        block = build_block(pager_id, message)
        self.port.reset_input_buffer()
        self._login()
        try:
            self._transfer(block)
        finally:
            self._logoff()

    def _login(self) -> None:
        """Get ``ID=``, log on, wait for the go-ahead.

        A terminal keeps its session when our side goes away (adapter replugged, gateway crashed
        or lost power mid-page) and, logged on, ignores the CR that asks for ``ID=``.  So unless
        we saw our own last logoff confirmed, each CR is preceded by ``EOT CR``: a logged-on
        terminal logs off (TAP's own logoff) and then prompts; an idle one ignores it.
        """
        for attempt in range(self.retries + 1):
            self.port.write(CR if self.logged_off and not attempt else EOT + CR + CR)
            self.port.flush()
            self.logged_off = False
            if self._wait_for(LOGIN_PROMPT):
                break
        else:
            raise TransmitterTimeout("transmitter timeout (no ID= prompt)")
        for _ in range(self.retries + 1):
            self.port.write(ESC + b"PG1" + self.password + CR)
            self.port.flush()
            reply = self._reply()
            if reply == ACK:
                break
            if reply == DISCONNECT:
                raise TransmitterRefused("transmitter refused the login (ESC EOT)")
            if reply is None:
                raise TransmitterTimeout("transmitter timeout (no answer to login)")
        else:
            raise TransmitterRefused("transmitter refused the login (NAK); check tap_password")
        if not self._wait_for(GO_AHEAD):
            raise TransmitterTimeout("transmitter timeout (no message go-ahead)")

    def _transfer(self, block: bytes) -> None:
        naks = 0
        for attempt in range(self.retries + 1):
            self.port.write(block)
            self.port.flush()
            reply = self._reply()
            if reply == ACK:
                return
            # The terminal's own text says why (e.g. "511 Invalid pager ID - not in database"): keep it whole.
            if reply == RS:
                raise TransmitterRefused(self._why("refused", "transmitter refused the page (RS)"))
            if reply == DISCONNECT:
                raise TransmitterRefused(self._why("hung up", "transmitter hung up (ESC EOT)"))
            if reply == NAK:
                naks += 1
                log.info("TAP block NAKed (attempt %d); resending", attempt + 1)
            else:
                log.info("TAP block unanswered (attempt %d); resending", attempt + 1)
        if naks == 0:
            raise TransmitterTimeout("transmitter timeout (no ACK to the block)")
        # e.g. "512 Temporarily cannot deliver": busy, or checksum errors every time
        raise TransmitterRefused(self._why(f"NAK x{naks}", f"transmitter refused the page (NAK x{naks})"))

    def _why(self, what: str, bare: str) -> str:
        return f"{what}: {self.last_text}" if self.last_text else bare

    def _logoff(self) -> None:
        try:
            self.port.write(EOT + CR)
            self.port.flush()
            self.logged_off = self._wait_for(DISCONNECT)
        except Exception:  # the page's own outcome matters more than a clean logoff
            log.debug("TAP logoff incomplete", exc_info=True)

    def _wait_for(self, token: bytes) -> bool:
        deadline = self.clock() + self.timeout_s
        seen = b""
        while True:
            b = read_byte(self.port, deadline, self.clock)
            if not b:
                return False
            seen = (seen + b)[-64:]
            if seen.endswith(token):
                return True

    def _reply(self) -> bytes | None:
        """Read CR-ended lines until one carries ACK, NAK, RS or ESC EOT; keep the text lines."""
        deadline = self.clock() + self.timeout_s
        line = b""
        texts: list[str] = []
        while True:
            b = read_byte(self.port, deadline, self.clock)
            if not b:
                return None
            if b != CR:
                line += b
                if len(line) > 256:
                    line = line[-256:]
                continue
            for token in (DISCONNECT, ACK, NAK, RS):
                if token in line:
                    self.last_text = " ".join(texts)
                    if texts:
                        log.info("TAP central says: %s", self.last_text)
                    return token
            text = line.decode("ascii", "replace").strip()
            if text:
                texts.append(text)
            line = b""
