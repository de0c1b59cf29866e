"""Simulated pager transmitters on a pseudo-terminal pair, for the driver and gateway tests.

``FakeAdapter`` is a serial adapter: the driver opens ``adapter.path`` (a stable symlink,
like ``/dev/serial/by-id/...``) with pyserial; the simulator thread works the pty master.
``unplug()`` hangs the pty up and removes the path, ``plug()`` brings a new one back.
"""

from __future__ import annotations

import abc
import os
import select
import threading
import time
import tty
from pathlib import Path

from hardware import espa, tap


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


class EspaPagingSystem(Simulator):
    """The paging-system side (address '2') of ESPA 4.4.4."""

    def __init__(self, adapter: FakeAdapter) -> None:
        super().__init__(adapter)
        self.not_ready = 0
        """Answer this many selects with NAK."""
        self.nak_blocks = 0
        """NAK this many good blocks (as a transmitter that is busy does)."""
        self.corrupt_next = 0
        """Damage this many incoming blocks "on the line" (the BCC then fails: NAK)."""
        self.status_blocks: list[bytes] = []
        """Blocks to send when polled (sent as they are: put a bad BCC in to test the NAK path)."""
        self.polls = 0
        self.acks_from_control: list[bytes] = []
        self._prev = b""
        self._selected = False
        self._frame: bytes | None = None
        self._select_pending = False
        self._sending: list[bytes] = []

    def on_byte(self, b: bytes) -> None:
        if self._frame is not None:
            self._frame += b
            if len(self._frame) >= 2 and self._frame[-2:-1] == espa.ETX:
                self._block(self._frame)
                self._frame = None
            return
        if self._sending:
            self._answer_while_sending(b)
            return
        if b == espa.SOH and self._selected:
            self._frame = b
        elif b == espa.ENQ and self._prev == b"1":
            self._select_pending = True
        elif b == espa.ENQ and self._prev == b"2":
            if self._select_pending:
                self._select_pending = False
                if self.not_ready > 0:
                    self.not_ready -= 1
                    self.write(espa.NAK)
                else:
                    self._selected = True
                    self.write(espa.ACK)
            else:
                self.polls += 1
                if self.status_blocks:
                    self._sending = list(self.status_blocks)
                    self.write(b"1" + espa.ENQ)
                else:
                    self.write(espa.EOT)
        elif b == espa.EOT:
            self._selected = False
            self._select_pending = False
        self._prev = b

    def _block(self, frame: bytes) -> None:
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            frame = frame[:4] + bytes([frame[4] ^ 0x01]) + frame[5:]
        try:
            espa.parse_block(frame)
        except espa.EspaError:
            self.rejected.append(frame)
            self.write(b"1" + espa.NAK)  # prefix '1': transmission error
            return
        if self.nak_blocks > 0:
            self.nak_blocks -= 1
            self.write(espa.NAK)
            return
        self.write(espa.ACK)
        self.accepted(frame)

    def _answer_while_sending(self, b: bytes) -> None:
        """We selected the control station; it answers ACK (send on) or NAK (send again)."""
        self.acks_from_control.append(b)
        if b == espa.ACK and self._block_out:
            self._sending.pop(0)
        if b == espa.ACK and self._sending:
            self._block_out = True
            self.write(self._sending[0])
        elif b == espa.NAK and self._block_out:
            # The first copy was damaged on the line: send a good one, as a real peer resends.
            good = self._sending[0]
            self._sending[0] = good[:-1] + bytes([espa.bcc(good[1:-1])])
            self.write(self._sending[0])
        else:
            self._sending, self.status_blocks, self._block_out = [], [], False
            self.write(espa.EOT)

    _block_out = False


class TapCentral(Simulator):
    """A TAP 1.8 paging central."""

    def __init__(self, adapter: FakeAdapter, password: str = "") -> None:
        super().__init__(adapter)
        self.password = password
        self.nak_blocks = 0
        self.corrupt_next = 0
        self.refuse = False
        """Answer blocks with RS (e.g. an unknown pager id)."""
        self.logins = 0
        self.logoffs = 0
        self.fields: list[tuple[str, ...]] = []
        self._line = b""
        self._in_block = False
        self._after_etx = -1

    def on_byte(self, b: bytes) -> None:
        if self._in_block:
            self._line += b
            if b == tap.ETX:
                self._after_etx = 0
            elif self._after_etx >= 0:
                self._after_etx += 1
                if self._after_etx == 4:
                    self._block(self._line)
                    self._line, self._in_block, self._after_etx = b"", False, -1
            return
        if b == tap.STX:
            self._in_block, self._line = True, b
            return
        if b != tap.CR:
            self._line += b
            return
        line, self._line = self._line, b""
        if line == b"":
            self.write(b"ID=")
        elif line.startswith(tap.ESC + b"PG1"):
            if line[4:].decode() != self.password:
                self.write(b"Bad password\r" + tap.NAK + tap.CR)
                return
            self.logins += 1
            self.write(b"110 1.8\r" + tap.ACK + tap.CR + tap.GO_AHEAD)
        elif line == tap.EOT:
            self.logoffs += 1
            self.write(b"115 Goodbye\r" + tap.RS + tap.CR + tap.DISCONNECT + tap.CR)

    def _block(self, frame: bytes) -> None:
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            frame = frame[:2] + bytes([frame[2] ^ 0x01]) + frame[3:]
        try:
            fields = tap.parse_block(frame)
        except tap.TapError:
            self.rejected.append(frame)
            self.write(b"Checksum error\r" + tap.NAK + tap.CR)
            return
        if self.nak_blocks > 0:
            self.nak_blocks -= 1
            self.write(tap.NAK + tap.CR)
            return
        if self.refuse:
            self.write(b"510 Invalid pager ID\r" + tap.RS + tap.CR)
            return
        self.fields.append(fields)
        self.write(b"211 Page accepted\r" + tap.ACK + tap.CR)
        self.accepted(frame)
