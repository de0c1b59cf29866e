"""Hand memory the kiosk no longer uses back to the system once it is idle on Welcome.

Start-up (kv rules, the GL driver compiling shaders) and every call (screens, label
textures) allocate and free a lot.  Python frees its objects, but glibc's allocator keeps
the freed pages inside its heap, so RSS stays at its high-water mark: ~7 MB above what is
in use after start-up and the first calls (bench/kiosk.py).  ``malloc_trim(0)`` returns
free pages from anywhere in the heap, not just the top.  It is glibc's: on other C
libraries (musl, macOS) there is nothing to trim and ``release`` only collects garbage.

Called from the main thread when nothing moves on screen, so the few milliseconds it
takes never cost a frame a customer sees.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process already runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def can_trim() -> bool:
    """True where the C library can give freed heap pages back (glibc)."""
    return _MALLOC_TRIM is not None


def release() -> bool:
    """Collect garbage, then return free heap pages to the system; True if any pages went back."""
    gc.collect()
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False
