"""Simulated pager transmitters on a pseudo-terminal pair, for the driver and gateway tests.

``FakeAdapter`` is a serial adapter: the driver opens ``adapter.path`` (a stable symlink,
like ``/dev/serial/by-id/...``) with pyserial; the simulator thread works the pty master.
``unplug()`` hangs the pty up and removes the path, ``plug()`` brings a new one back.

The transmitters are written from the standards (ESPA 4.4.4 on ISO 1745 basic mode, TAP/IXO
1.8), not from our drivers: they share no code or constants with ``hardware.espa`` /
``hardware.tap``, compute their own BCC and checksum, and are as strict as the strictest real
device: what the standard does not allow is ignored or refused, the way a device would.
A transmitter keeps its line state across ``unplug()``/``plug()``, as a real one does when
only the adapter (or the gateway) goes away.
"""

from __future__ import annotations

import abc
import os
import select
import threading
import time
import tty
from pathlib import Path

import serial


class FakeAdapter:
    def __init__(self, folder: Path, name: str = "ttyPAGER") -> None:
        self.path = folder / name
        self.master = self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo before the driver configures the port
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        tmp.replace(self.path)

    def unplug(self) -> None:
        self.path.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def close(self) -> None:
        if self.master >= 0:
            self.unplug()


class Simulator(threading.Thread, abc.ABC):
    """Reads the pty master byte by byte and feeds ``on_byte``; records what it saw."""

    def __init__(self, adapter: FakeAdapter) -> None:
        super().__init__(daemon=True, name=type(self).__name__)
        self.adapter = adapter
        self.stopping = threading.Event()
        self.silent = False
        """Read everything, answer nothing (a transmitter that is off or mis-wired)."""
        self.received: list[bytes] = []
        """Every complete block the transmitter accepted, byte for byte."""
        self.rejected: list[bytes] = []
        self.got_block = threading.Condition()

    def write(self, data: bytes) -> None:
        if not self.silent and self.adapter.master >= 0:
            os.write(self.adapter.master, data)

    def run(self) -> None:
        while not self.stopping.is_set():
            fd = self.adapter.master
            if fd < 0:
                self.stopping.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                data = os.read(fd, 1024) if ready else b""
            except OSError:
                self.stopping.wait(0.02)
                continue
            for i in range(len(data)):
                self.on_byte(data[i : i + 1])

    def accepted(self, frame: bytes) -> None:
        with self.got_block:
            self.received.append(frame)
            self.got_block.notify_all()

    def wait_received(self, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        with self.got_block:
            assert self.got_block.wait_for(lambda: len(self.received) >= count, timeout), (
                f"transmitter received {len(self.received)} blocks, expected {count}"
            )
            return list(self.received)

    def wait_until(self, pred, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                return False
            self.stopping.wait(0.01)
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.join(2)

    @abc.abstractmethod
    def on_byte(self, b: bytes) -> None:
        """React to one byte from the control station (each transmitter protocol defines this)."""


# --- ESPA 4.4.4 --------------------------------------------------------------------------

_SOH, _STX, _ETX, _EOT, _ENQ, _ACK, _NAK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x15
_US, _RS = 0x1F, 0x1E

ESPA_RECORDS_ONE_DIGIT = {"3", "4", "5", "6", "7", "8"}
"""Beep coding, call type, number of transmissions, priority, call status, pager status."""
ESPA_ADDRESS_MAX = 16
"""Record 1, the call address: digits only."""


def espa_bcc(data: bytes) -> int:
    """ISO 1745 block check: XOR of every character after SOH up to and including ETX."""
    x = 0
    for byte in data:
        x ^= byte
    return x


def espa_status_block(records: dict[str, str]) -> bytes:
    """A status block (header '2') as the paging system sends it, built here from the standard."""
    body = bytes([_RS]).join(k.encode() + bytes([_US]) + v.encode() for k, v in records.items())
    checked = b"2" + bytes([_STX]) + body + bytes([_ETX])
    return bytes([_SOH]) + checked + bytes([espa_bcc(checked)])


class EspaPagingSystem(Simulator):
    """The paging-system side (address '2') of ESPA 4.4.4, as strict as the standard.

    Line states (ISO 1745): after power-on, and after anything it cannot place, the line is
    *unknown* and the system waits for EOT.  Only after EOT (*neutral*) does ``1 ENQ 2 ENQ``
    select it (ACK, or NAK when not ready) and ``2 ENQ`` poll it; a select without the EOT
    before it is ignored (counted in ``ignored``), as a real paging system does.  Blocks are
    taken only while selected; each is checked here from the standard and answered:

    - ``ACK``: a good call to a pager (header '1', record 1 a known call address).
    - ``1 NAK``: transmission error: not 7-bit, framing broken, bad BCC.  Resend.
    - ``2 NAK``: unknown data: another header, an unknown or repeated record, a malformed value.
    - ``3 NAK``: facility not available: the call address is not one of ``known_pagers``.
    """

    def __init__(self, adapter: FakeAdapter) -> None:
        super().__init__(adapter)
        self.not_ready = 0
        """Answer this many selects with NAK."""
        self.nak_next: list[bytes] = []
        """Answer the next good blocks with these NAK prefixes (b"1" line error, b"3" refused, b"" bare NAK)."""
        self.corrupt_next = 0
        """Damage this many incoming blocks "on the line" (the BCC then fails: 1 NAK)."""
        self.known_pagers: set[str] | None = None
        """Call addresses the system knows (None: all); others get ``3 NAK``."""
        self.status_blocks: list[bytes] = []
        """Blocks to send when polled (sent as they are: put a bad BCC in to test the NAK path)."""
        self.polls = 0
        self.selects = 0
        self.ignored: list[bytes] = []
        """What the system could not place and ignored (e.g. a select without EOT before it)."""
        self.naks: list[bytes] = []
        """Each NAK sent for a block, with its prefix."""
        self.acks_from_control: list[bytes] = []
        self.line = "unknown"
        """'unknown', 'neutral', 'selected' (we receive) or 'master' (we send status blocks)."""
        self._heard = b""
        self._frame: bytes | None = None
        self._sending: list[bytes] = []
        self._block_out = False

    def on_byte(self, b: bytes) -> None:
        c = b[0]
        if self.line == "selected" and self._frame is not None:
            self._frame += b
            if len(self._frame) >= 2 and self._frame[-2] == _ETX:
                frame, self._frame = self._frame, None
                self._block(frame)
            return
        if c == _EOT:  # from any state: the line goes back to neutral
            self._neutral()
            return
        if self.line == "master":
            self._answer_while_sending(b)
        elif self.line == "selected":
            if c == _SOH:
                self._frame = b
            else:
                self._ignore(b)
        elif self.line == "neutral":
            self._heard += b
            if c == _ENQ:
                self._addressed()
            elif len(self._heard) > 3:
                self._ignore(self._heard)
        else:
            self._ignore(b)

    def _neutral(self) -> None:
        self.line, self._heard, self._frame = "neutral", b"", None
        self._sending, self._block_out = [], False

    def _ignore(self, what: bytes) -> None:
        """Something the standard does not allow here: ignore it and wait for EOT."""
        self.ignored.append(what)
        self.line, self._heard = "unknown", b""

    def _addressed(self) -> None:
        if self._heard == b"1\x05":
            return  # the control station took the line; now the address it selects
        heard, self._heard = self._heard, b""
        if heard == b"1\x052\x05":
            self.selects += 1
            if self.not_ready > 0:
                self.not_ready -= 1
                self.write(bytes([_NAK]))
                self.line = "unknown"  # the control station ends the exchange with EOT
            else:
                self.line = "selected"
                self.write(bytes([_ACK]))
        elif heard == b"2\x05":
            self.polls += 1
            if self.status_blocks:
                self._sending = list(self.status_blocks)
                self.line = "master"
                self.write(b"1" + bytes([_ENQ]))
            else:
                self.write(bytes([_EOT]))  # nothing to say: the line is neutral again
        else:
            self._ignore(heard)

    def _nak(self, prefix: bytes) -> None:
        self.naks.append(prefix + bytes([_NAK]))
        self.write(prefix + bytes([_NAK]))

    def _block(self, frame: bytes) -> None:
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            frame = frame[:4] + bytes([frame[4] ^ 0x01]) + frame[5:]
        problem = self.check_block(frame)
        if problem is not None:
            self.rejected.append(frame)
            self._nak(problem)
            return
        if self.nak_next:
            self._nak(self.nak_next.pop(0))
            return
        self.write(bytes([_ACK]))
        self.accepted(frame)

    def check_block(self, frame: bytes) -> bytes | None:
        """The NAK prefix this frame earns, or None when it is a good call to a pager."""
        if any(byte > 0x7F for byte in frame) or espa_bcc(frame[1:-1]) != frame[-1]:
            return b"1"
        checked = frame[1:-2]
        if checked.count(bytes([_STX])) != 1 or any(ch < 0x20 and ch not in (_STX, _US, _RS) for ch in checked):
            return b"1"
        header, body = checked.split(bytes([_STX]))
        if header != b"1":
            return b"2"  # only calls to pagers are taken from the control station
        records: dict[str, str] = {}
        for raw in body.split(bytes([_RS])):
            key, sep, value = raw.partition(bytes([_US]))
            name = key.decode()
            if not sep or name in records or name not in {"1", "2"} | ESPA_RECORDS_ONE_DIGIT:
                return b"2"
            if _US in value or (name in ESPA_RECORDS_ONE_DIGIT and not (len(value) == 1 and value.isdigit())):
                return b"2"
            records[name] = value.decode()
        address = records.get("1", "")
        if not (address.isdigit() and len(address) <= ESPA_ADDRESS_MAX):
            return b"2"
        if self.known_pagers is not None and address not in self.known_pagers:
            return b"3"
        return None

    def _answer_while_sending(self, b: bytes) -> None:
        """We selected the control station; it answers ACK (send on) or NAK (send again)."""
        self.acks_from_control.append(b)
        if b[0] == _ACK and self._block_out:
            self._sending.pop(0)
        if b[0] == _ACK and self._sending:
            self._block_out = True
            self.write(self._sending[0])
        elif b[0] == _NAK and self._block_out:
            # The first copy was damaged on the line: send a good one, as a real peer resends.
            good = self._sending[0]
            self._sending[0] = good[:-1] + bytes([espa_bcc(good[1:-1])])
            self.write(self._sending[0])
        else:
            self.status_blocks = []
            self.write(bytes([_EOT]))
            self._neutral()


# --- TAP 1.8 -------------------------------------------------------------------------------

_CR, _ESC, _SUB, _ETB = 0x0D, 0x1B, 0x1A, 0x17
TAP_MAX_BLOCK = 256
"""TAP 1.8: a block is at most 256 characters, STX through the checksum's CR."""
TAP_ACCEPTED = b"211 Page(s) Sent Successfully"
TAP_BAD_CHECKSUM_LIMIT = 3
"""After this many checksum errors in a row the terminal gives the transaction up (503, RS)."""


def tap_checksum(data: bytes) -> bytes:
    """TAP 1.8: sum of the 7-bit characters STX through ETX, low 12 bits as 3 nibbles, each + '0'."""
    total = sum(byte & 0x7F for byte in data) & 0xFFF
    return bytes([0x30 + (total >> 8), 0x30 + ((total >> 4) & 0xF), 0x30 + (total & 0xF)])


class TapCentral(Simulator):
    """A TAP 1.8 paging terminal in automatic mode, as strict as the standard.

    Session states, kept across ``unplug()``/``plug()`` of the adapter as a real terminal keeps
    them: ``idle`` (a CR gets ``ID=``), ``login`` (``ESC PG1 <password> CR`` gets
    ``110 1.8 CR ACK CR ESC [p CR``; a bad one ``NAK CR``) and ``logged_on`` (blocks, and
    ``EOT CR`` which logs off with ``115 ... CR ESC EOT CR``).  In ``logged_on`` a lone CR or a
    new login is ignored.  Blocks are checked here from the standard: 7-bit printable fields, at
    most 256 characters, ETX and checksum.  Answers: ``211 ... CR ACK CR``; a bad checksum
    ``NAK CR`` (the third in a row ``503 ... CR RS CR``); a pager id with a non-digit
    ``510 ... CR RS CR``, one not in ``known_pagers`` ``511 ... CR RS CR``.
    """

    def __init__(self, adapter: FakeAdapter, password: str = "") -> None:
        super().__init__(adapter)
        self.password = password
        self.nak_blocks = 0
        """NAK this many good blocks (``512 ... try later`` as a busy terminal says it)."""
        self.corrupt_next = 0
        self.refuse = False
        """Answer blocks with ``511 ... RS`` (an unknown pager id)."""
        self.known_pagers: set[str] | None = None
        self.block_timeout_s = 2.0
        """A block whose next character is later than this is dropped (the sender died mid-block)."""
        self.session = "idle"
        self.logins = 0
        self.logoffs = 0
        self.ignored: list[bytes] = []
        self.fields: list[tuple[str, ...]] = []
        self._line = b""
        self._block: bytes | None = None
        self._block_at = 0.0
        self._bad_checksums = 0

    def on_byte(self, b: bytes) -> None:
        now = time.monotonic()
        if self._block is not None and now - self._block_at > self.block_timeout_s:
            self.ignored.append(self._block)  # the rest never came: wait for a new block or EOT
            self._block = None
        self._block_at = now
        if self._block is not None:
            self._block += b
            if len(self._block) >= 5 and self._block[-5] == _ETX and b[0] == _CR:
                block, self._block = self._block, None
                self._take_block(block)
            elif len(self._block) > TAP_MAX_BLOCK + 64:  # no ETX in sight: line noise
                self.ignored.append(self._block[:40])
                self._block = None
            return
        if b[0] == 0x02 and self.session == "logged_on" and not self._line:
            self._block = b
            return
        if b[0] != _CR:
            self._line += b
            return
        line, self._line = self._line, b""
        if self.session == "logged_on":
            if line == bytes([0x04]):
                self.logoffs += 1
                self.session = "idle"
                self.write(b"115 Goodbye\r" + bytes([_ESC, 0x04, _CR]))
            else:
                self.ignored.append(line + b"\r")  # a logged-on terminal waits for a block or EOT
        elif line == b"":
            self.session = "login"
            self.write(b"ID=")
        elif self.session == "login" and line.startswith(bytes([_ESC]) + b"PG1"):
            if line[4:] != self.password.encode():
                self.write(b"Invalid login\r" + bytes([_NAK, _CR]))
                return
            self.logins += 1
            self.session = "logged_on"
            self.write(b"110 1.8\r" + bytes([_ACK, _CR]) + bytes([_ESC]) + b"[p\r")
        else:
            self.ignored.append(line + b"\r")

    def _take_block(self, frame: bytes) -> None:
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            frame = frame[:2] + bytes([frame[2] ^ 0x01]) + frame[3:]
        body, got = frame[:-4], frame[-4:-1]
        if any(byte > 0x7F for byte in frame) or tap_checksum(body) != got:
            self.rejected.append(frame)
            self._bad_checksums += 1
            if self._bad_checksums >= TAP_BAD_CHECKSUM_LIMIT:
                self._bad_checksums = 0
                self.write(b"503 Excessive checksum errors\r" + bytes([_RS, _CR]))
            else:
                self.write(b"514 Checksum error\r" + bytes([_NAK, _CR]))
            return
        self._bad_checksums = 0
        fields = body[1:-1].split(b"\r")
        if len(frame) > TAP_MAX_BLOCK or len(fields) != 3 or fields[-1] != b"":
            self.rejected.append(frame)
            self.write(b"515 Message format error\r" + bytes([_RS, _CR]))
            return
        if any(ch < 0x20 or ch > 0x7E for f in fields for ch in f):
            self.rejected.append(frame)
            self.write(b"504 Unsupported characters\r" + bytes([_RS, _CR]))
            return
        pager = fields[0].decode()
        if not pager.isdigit():
            self.write(b"510 Invalid character in pager ID\r" + bytes([_RS, _CR]))
            return
        if self.refuse or (self.known_pagers is not None and pager not in self.known_pagers):
            self.write(b"511 Invalid pager ID - not in database\r" + bytes([_RS, _CR]))
            return
        if self.nak_blocks > 0:
            self.nak_blocks -= 1
            self.write(b"512 Temporarily cannot deliver, try later\r" + bytes([_NAK, _CR]))
            return
        self.fields.append(tuple(f.decode() for f in fields[:-1]))
        self.write(TAP_ACCEPTED + b"\r" + bytes([_ACK, _CR]))
        self.accepted(frame)


def leave_logged_on(adapter: FakeAdapter, sim: TapCentral, then: bytes = b"") -> None:
    """What a gateway that crashed or lost power after logging on leaves: a terminal still logged on.

    Logs on by hand over a port of its own, sends ``then`` (e.g. half a block), closes the port
    and replugs the adapter; the terminal keeps its session, as a real one does.
    """
    gone = serial.serial_for_url(str(adapter.path), 9600, 7, "E", 2, timeout=0.05)
    gone.write(b"\r")
    assert sim.wait_until(lambda: sim.session == "login"), "the terminal did not prompt for the ID"
    gone.write(bytes([_ESC]) + b"PG1" + sim.password.encode() + b"\r")
    assert sim.wait_until(lambda: sim.session == "logged_on"), "the terminal did not log on"
    gone.write(then)
    gone.flush()
    gone.close()
    adapter.unplug()
    adapter.plug()
