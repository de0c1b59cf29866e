"""HMAC keys for QR codes and signed cookies, with Python's standard ``hmac``.

A QR sign's URL carries ``k = HMAC(secret, "qr:" + device)``, so only printed signs
open a call page; staff sessions and customers' call tokens are signed the same way,
so the server keeps no session table and survives a restart.

Example::

    >>> k = qr_key("a-long-secret-phrase", "qr-paint")
    >>> check_qr_key("a-long-secret-phrase", "qr-paint", k), check_qr_key("a-long-secret-phrase", "qr-x", k)
    (True, False)
    >>> unsign("a-long-secret-phrase", sign("a-long-secret-phrase", "anna|1700000000"))
    'anna|1700000000'
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(secret: str, purpose: str, value: str, length: int) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def qr_key(secret: str, device: str) -> str:
    """16 URL-safe characters (96 bits): short enough for a small QR code, far too many to guess."""
    return _mac(secret, "qr", device, 16)


def check_qr_key(secret: str, device: str, key: str | None) -> bool:
    return bool(key) and hmac.compare_digest(qr_key(secret, device), key)


def sign(secret: str, value: str) -> str:
    """``value.mac``; the value must not contain a dot-free mac-like suffix trick: we split on the last dot."""
    return f"{value}.{_mac(secret, 'cookie', value, 27)}"


def unsign(secret: str, signed: str | None) -> str | None:
    """The value when the signature is right, else None."""
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(_mac(secret, "cookie", value, 27), mac) else None


def call_token(secret: str, call_id: str, phone: str) -> str:
    """Proves that ``phone`` made ``call_id`` (it may cancel and give feedback), across server restarts."""
    return _mac(secret, "own", f"{call_id}|{phone}", 22)
