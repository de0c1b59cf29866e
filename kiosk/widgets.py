"""Reusable kiosk widgets: keypad-operable buttons, the hold-to-confirm control, faces, the status dot.

Their look lives in ``widgets.kv``; the behaviour here is what Kivy does not give us:
Enter/Space on a focused button (a physical keypad or accessibility switch), and a
long press that only staff know about.

No wide Line is ever drawn see-through: Kivy draws a Line wider than one pixel with
alpha below 1 through the stencil buffer, and each such line cost the GL driver ~1 MB
of shader state under Mesa (a test app with five such rings: +7 MB of RSS).  The
focus ring is a rounded rectangle instead, and the waiting ring fades by mixing its
colour with the background rather than by alpha.
"""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.widget import Widget

ACTIVATE_KEYS = frozenset({"enter", "numpadenter", "spacebar"})


class KioskButton(FocusBehavior, Button):
    """A flat, high-contrast button; when focused, Enter or Space presses it."""

    fill = ListProperty([1, 0.83, 0, 1])
    ink = ListProperty([0, 0, 0, 1])

    def keyboard_on_key_down(self, window, keycode, text, modifiers):
        if keycode[1] in ACTIVATE_KEYS:
            self.trigger_action(duration=0)
            return True
        return super().keyboard_on_key_down(window, keycode, text, modifiers)


class HoldButton(Button):
    """Fires ``on_hold`` after being held for ``hold_s``; a tap does nothing (staff-only control)."""

    hold_s = NumericProperty(2.0)
    holding = BooleanProperty(False)
    __events__ = ("on_hold",)

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos) and not self.disabled:
            touch.grab(self)
            self.holding = True
            Clock.schedule_once(self._fire, self.hold_s)
            return True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            touch.ungrab(self)
            Clock.unschedule(self._fire)
            if self.holding:  # released before the hold fired: an ordinary tap
                self.holding = False
                self.dispatch("on_release")
            return True
        return super().on_touch_up(touch)

    def _fire(self, _dt: float) -> None:
        if self.holding:
            self.holding = False
            self.dispatch("on_hold")

    def on_hold(self) -> None:
        pass


class Face(Widget):
    """A drawn face, 1 (very unhappy) to 4 (very happy); drawn, because emoji fonts are not on every Pi."""

    score = NumericProperty(3)


class FaceButton(ButtonBehavior, BoxLayout):
    score = NumericProperty(3)


BACKGROUND = (0.04, 0.12, 0.2)
"""The screens' background (app.kv), for colours that fade into it without alpha."""
GOLD = (1.0, 0.83, 0.0)


def faded(rgb: tuple[float, float, float], strength: float) -> list[float]:
    """``rgb`` at ``strength`` (0..1) over the background, as an opaque colour."""
    return [b + (c - b) * strength for b, c in zip(BACKGROUND, rgb, strict=True)] + [1.0]


class PulseRing(Widget):
    """A slow breathing ring on the waiting screen; animated only while that screen is shown."""

    phase = NumericProperty(0.0)
    ring_rgba = ListProperty(faded(GOLD, 0.7))

    def on_phase(self, _ring, phase: float) -> None:
        self.ring_rgba = faded(GOLD, 0.25 + 0.45 * (1 - phase))


class StatusDot(Widget):
    """Broker connection for staff: green when connected, red when not."""

    connected = BooleanProperty(False)


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
