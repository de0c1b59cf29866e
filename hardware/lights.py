"""What a button station's light shows, as a pure function of the call and the connection.

The customer cannot read a screen at a button, so one light has to say everything::

    off          idle, or greeted (someone is with you)
    slow blink   your call is sent and waiting for a colleague
    fast blink   escalated: everyone on shift has been asked (tier 3)
    steady       a colleague acknowledged and is on the way
    flash        (a short flash every 2 s) the station is offline; presses are kept and sent later

An RGB LED also shows a colour per state, so staff can tell them apart from across the floor.

Example::

    >>> light_for("waiting", tier=1, connected=True).name
    'slow_blink'
    >>> light_for("waiting", tier=3, connected=True).name
    'fast_blink'
    >>> light_for(None, tier=0, connected=False).name
    'offline'
"""

from __future__ import annotations

from dataclasses import dataclass

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Light:
    """A light pattern: steady when ``off_s`` is 0, dark when ``on_s`` is 0, else a blink."""

    name: str
    on_s: float
    off_s: float
    colour: Colour = (1.0, 1.0, 1.0)

    @property
    def blinking(self) -> bool:
        return self.on_s > 0 and self.off_s > 0


OFF = Light("off", 0.0, 0.0, (0.0, 0.0, 0.0))
SLOW_BLINK = Light("slow_blink", 0.8, 0.8, (1.0, 1.0, 0.0))  # yellow (RGB LEDs are switched, not dimmed)
FAST_BLINK = Light("fast_blink", 0.15, 0.15, (1.0, 0.0, 0.0))  # red
STEADY = Light("steady", 1.0, 0.0, (0.0, 1.0, 0.0))  # green
OFFLINE = Light("offline", 0.08, 1.92, (0.0, 0.0, 1.0))  # blue; short flash, unlike any blink above

PATTERNS = {light.name: light for light in (OFF, SLOW_BLINK, FAST_BLINK, STEADY, OFFLINE)}


def light_for(status: str | None, tier: int, connected: bool) -> Light:
    """The light for a station whose current call has ``status`` (None: no call)."""
    if not connected:
        return OFFLINE
    if status == "waiting":
        return FAST_BLINK if tier >= 3 else SLOW_BLINK
    if status == "acknowledged":
        return STEADY
    return OFF
