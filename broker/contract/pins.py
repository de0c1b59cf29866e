"""Staff PINs, stored only as salted scrypt hashes in the config (``pin_hash``).

scrypt is in Python's standard library (``hashlib.scrypt``) and is memory-hard, so a
copied config file does not give away four-digit PINs cheaply.  Format:
``scrypt$n$r$p$salt_hex$hash_hex``.

Example::

    >>> h = hash_pin("4711")
    >>> verify_pin("4711", h), verify_pin("1234", h)
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    if not pin or not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored``; a malformed ``stored`` never matches."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=len(digest_hex) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)
