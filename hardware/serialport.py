"""Opening the pager transmitter's serial port: a device path or any pyserial URL.

pyserial was chosen because it speaks every adapter a store has (USB-serial, RS-232
HATs, ``rfc2217://`` and ``socket://`` terminal servers) behind one ``read``/``write``
API, so the protocol drivers never see which one it is.

In a store::

    port = open_port("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", 9600, 7, "E", 2)
    port = open_port("socket://10.0.0.20:4001")

Example (pyserial's ``loop://`` reads back what was written)::

    >>> port = open_port("loop://", 9600, 7, "E", 2)
    >>> port.write(b"OK")
    2
    >>> port.read(2), port.bytesize, port.parity
    (b'OK', 7, 'E')
    >>> port.close()
"""

from __future__ import annotations

import serial

try:
    import termios

    PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # Windows
    PORT_ERRORS = (serial.SerialException, OSError)
"""What a vanished adapter raises: pyserial's own error, or the OS's from tcflush/tcdrain."""

READ_SLICE_S = 0.05
"""The port's read timeout: drivers loop on it until their own deadline, so they stay responsive."""


def open_port(url: str, baudrate: int = 9600, bytesize: int = 7, parity: str = "E", stopbits: int = 2) -> serial.Serial:
    """Open ``url`` with the character format; raises ``serial.SerialException`` when it is not there."""
    return serial.serial_for_url(
        url,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        timeout=READ_SLICE_S,
        write_timeout=5.0,
    )


def read_byte(port, deadline: float, clock) -> bytes:
    """One byte, or ``b""`` once ``deadline`` (on ``clock``) has passed."""
    while True:
        b = port.read(1)
        if b:
            return b
        if clock() >= deadline:
            return b""
