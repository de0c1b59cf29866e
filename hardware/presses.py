"""What a press, a release or a long hold of a station's button means: the pure core.

A customer presses; staff standing at the button hold it to say "greeted here" (as nurse-call
systems cancel at the bedside).  So:

- no call open: the press makes a call at once, on the press edge (no waiting for the release,
  so the call is on its way within milliseconds); holding on changes nothing.
- a call open: a release before ``hold_s`` is the customer's repeat press; reaching ``hold_s``
  while still held is "greeted here", and the release that follows is nothing.

Debouncing is done here, on the leading edge: the first edge acts at once and edges within
``bounce_s`` after an accepted edge are ignored.  (gpiozero's ``bounce_time`` on lgpio is a
glitch filter that delays every edge by the bounce time, and the mock pins ignore it.)

Example::

    >>> logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    >>> logic.press(10.0, call_open=False)
    ['call']
    >>> logic.release(10.2)
    []
    >>> logic.press(20.0, call_open=True), logic.held(23.0), logic.release(23.5)
    ([], ['greet'], [])
"""

from __future__ import annotations

from typing import Literal

Action = Literal["call", "repeat", "greet"]


class PressLogic:
    """Turns debounced button edges (times from one monotonic clock) into actions."""

    def __init__(self, hold_s: float, bounce_s: float = 0.05) -> None:
        self.hold_s = hold_s
        self.bounce_s = bounce_s
        self.pressed = False
        self._pressed_at = 0.0
        self._last_edge = float("-inf")
        self._open_at_press = False
        self._held_fired = False

    def _bounce(self, now: float) -> bool:
        if now - self._last_edge < self.bounce_s:
            return True
        self._last_edge = now
        return False

    def press(self, now: float, call_open: bool) -> list[Action]:
        if self.pressed or self._bounce(now):
            return []
        self.pressed = True
        self._pressed_at = now
        self._open_at_press = call_open
        self._held_fired = False
        return [] if call_open else ["call"]

    def hold_due(self) -> float | None:
        """When ``held`` should be asked next (monotonic time), or None if no hold can happen."""
        if self.pressed and self._open_at_press and not self._held_fired:
            return self._pressed_at + self.hold_s
        return None

    def held(self, now: float) -> list[Action]:
        due = self.hold_due()
        if due is None or now < due:
            return []
        self._held_fired = True
        return ["greet"]

    def release(self, now: float) -> list[Action]:
        if not self.pressed or self._bounce(now):
            return []
        self.pressed = False
        if not self._open_at_press or self._held_fired:
            return []  # the press made the call, or the hold already said "greeted"
        if now >= self._pressed_at + self.hold_s:
            self._held_fired = True  # held long enough, though nobody asked ``held`` in time
            return ["greet"]
        return ["repeat"]
