"""What a press, a release or a long hold of a station's button means: the pure core.

A customer presses; staff standing at the button hold it to say "greeted here" (as nurse-call
systems cancel at the bedside).  So:

- no call open: the press makes a call at once, on the press edge (no waiting for the release,
  so the call is on its way within milliseconds); holding on changes nothing.
- a call open: a release before ``hold_s`` is the customer's repeat press; reaching ``hold_s``
  while still held is "greeted here", and the release that follows is nothing.

Debouncing is done here, asymmetrically: a press acts on its first edge (the call is on its
way at once), a release only once the contact has stayed open for ``bounce_s``.  So chatter
anywhere in a held press (the contact opening for a millisecond or two) is no release, and a
repeat press is never made of it; two real presses with a release between are still two.
(gpiozero's ``bounce_time`` on lgpio is a glitch filter that delays every edge by the bounce
time, and the mock pins ignore it.)  The owner asks ``settle`` at ``release_due()``.

Example::

    >>> logic = PressLogic(hold_s=3.0, bounce_s=0.05)
    >>> logic.press(10.0, call_open=False)
    ['call']
    >>> logic.release(10.2), logic.release_due()
    ([], 10.25)
    >>> logic.settle(10.25), logic.pressed
    ([], False)
    >>> logic.press(20.0, call_open=True), logic.held(23.0), logic.release(23.5), logic.settle(23.55)
    ([], ['greet'], [], [])
"""

from __future__ import annotations

from typing import Literal

Action = Literal["call", "repeat", "greet"]


class PressLogic:
    """Turns button edges (times from one monotonic clock) into actions, debounced."""

    def __init__(self, hold_s: float, bounce_s: float = 0.05) -> None:
        self.hold_s = hold_s
        self.bounce_s = bounce_s
        self.pressed = False
        """The debounced state: True from the press edge until the release has settled."""
        self._pressed_at = 0.0
        self._opened_at: float | None = None  # the contact opened here and has not closed since
        self._open_at_press = False
        self._held_fired = False

    def press(self, now: float, call_open: bool) -> list[Action]:
        if self.pressed:
            self._opened_at = None  # it closed again within bounce_s: chatter, not a release
            return []
        self.pressed = True
        self._pressed_at = now
        self._open_at_press = call_open
        self._held_fired = False
        return [] if call_open else ["call"]

    def release(self, now: float) -> list[Action]:
        """The contact opened; it counts once it stays open (``settle`` at ``release_due()``)."""
        if self.pressed and self._opened_at is None:
            self._opened_at = now
        return []

    def release_due(self) -> float | None:
        """When ``settle`` can accept the pending release (monotonic time), or None if none is pending."""
        return None if self._opened_at is None else self._opened_at + self.bounce_s

    def settle(self, now: float) -> list[Action]:
        """The contact is still open at ``now``: the release counts (from when it opened)."""
        due = self.release_due()
        if due is None or now < due:
            return []
        released_at, self._opened_at = self._opened_at, None
        self.pressed = False
        if not self._open_at_press or self._held_fired:
            return []  # the press made the call, or the hold already said "greeted"
        if released_at >= self._pressed_at + self.hold_s:
            self._held_fired = True  # held long enough, though nobody asked ``held`` in time
            return ["greet"]
        return ["repeat"]

    def hold_due(self) -> float | None:
        """When ``held`` should be asked next (monotonic time), or None if no hold can happen."""
        if self.pressed and self._open_at_press and not self._held_fired:
            return self._pressed_at + self.hold_s
        return None

    def held(self, now: float) -> list[Action]:
        """Asked at ``hold_due()``; a contact open then may be a release (``settle`` decides)."""
        due = self.hold_due()
        if due is None or now < due or self._opened_at is not None:
            return []
        self._held_fired = True
        return ["greet"]
