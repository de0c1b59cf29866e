"""Run the real kiosk app in a child process under a private Xvfb and talk to it (kiosk.remote).

The driver lives in the product (``kiosk.remote_client``), shared with ``bench/kiosk.py``.
"""

from kiosk.remote_client import ROOT, KioskProcess, KioskRemoteError, Xvfb

__all__ = ["ROOT", "KioskProcess", "KioskRemoteError", "Xvfb"]
