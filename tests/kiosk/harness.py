"""Run the real kiosk app in a child process under a private Xvfb and talk to it (kiosk.remote).

The driver lives in the product (``kiosk.uiclient``, the other end of ``kiosk.kivyui``), shared
with the staff app's tests and ``bench/kiosk.py``.
"""

from kiosk.uiclient import ROOT, KioskProcess, KioskRemoteError, Xvfb

__all__ = ["ROOT", "KioskProcess", "KioskRemoteError", "Xvfb"]
