"""The staff PIN pad for the discreet "I'm here" control (when ``[kiosk] staff_pin`` is set)."""

from __future__ import annotations

import hmac
from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView


class PinPad(ModalView):
    entered = StringProperty("")
    message = StringProperty("")

    def digit(self, d: str) -> None:
        self.message = ""
        if len(self.entered) < 8:
            self.entered += d

    def clear(self) -> None:
        self.entered = ""

    def submit(self) -> None:
        app = App.get_running_app()
        if hmac.compare_digest(self.entered.encode(), (app.cfg.kiosk.staff_pin or "").encode()):
            self.dismiss()
            app.staff_greet()
        else:
            self.entered = ""
            self.message = app.tr("pin_wrong")


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
