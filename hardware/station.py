"""A call-button station: a push button, a light and an optional buzzer over a CallPoint.

gpiozero's way: the station is a domain object over devices whose backend (the pin factory)
is injected, so the same code runs on a Pi (lgpio), in the tests and in ``--simulate``
(gpiozero's MockFactory).  The decisions live in the pure cores ``hardware.presses`` (what a
press or hold means) and ``hardware.lights`` (what the light shows); this module wires them to
pins and to the call point, whose outbox keeps presses made while offline.

Threads: button edges arrive on gpiozero's thread, call states and connection changes on
paho's; one lock serialises both.

Example::

    from gpiozero.pins.mock import MockFactory
    point = CallPoint(cfg, "button-1", "button-1.outbox.db")
    station = ButtonStation(cfg.devices_by_id["button-1"], point, hold_s=3.0, pin_factory=MockFactory())
    point.start()
    station.button.pin.drive_low()   # a customer presses: a call, a beep, a slow blink (and the "sent" cue if on)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gpiozero import LED, RGBLED, Button, Buzzer
from gpiozero.pins import Factory

from broker.callpoint.callpoint import CallPoint
from broker.callpoint.cues import Cues, SilentPlayer
from broker.contract import protocol as p
from broker.contract.config import Device
from hardware.lights import OFF, Light, light_for
from hardware.presses import Action, PressLogic

log = logging.getLogger(__name__)

BEEP_S = 0.08


class ButtonStation:
    """One station; ``close`` releases its pins (the call point is stopped by its owner)."""

    def __init__(
        self,
        device: Device,
        point: CallPoint,
        hold_s: float = 3.0,
        bounce_s: float = 0.05,
        pin_factory: Factory | None = None,
        clock: Callable[[], float] = time.monotonic,
        cues: Cues | None = None,
    ) -> None:
        if device.button_pin is None:
            raise ValueError(f"device {device.id!r} has no button_pin; add button_pin = 17 to its [[devices]] entry")
        self.device = device
        self.point = point
        self.clock = clock
        self.cues = cues if cues is not None else Cues(SilentPlayer())
        """Customers' sound cues (call sent, colleague coming); the press beep on the buzzer stays as it was."""
        self.logic = PressLogic(hold_s, bounce_s)
        # Internal pull-up: the button shorts the pin to ground, no resistor needed.
        # bounce_time=None: debouncing is done on the leading edge in PressLogic (no added latency).
        self.button = Button(device.button_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self.led: LED | RGBLED | None = None
        if device.rgb_led_pins:
            self.led = RGBLED(*device.rgb_led_pins, pwm=False, pin_factory=pin_factory)
        elif device.led_pin is not None:
            self.led = LED(device.led_pin, pin_factory=pin_factory)
        self.buzzer = Buzzer(device.buzzer_pin, pin_factory=pin_factory) if device.buzzer_pin is not None else None
        self._lock = threading.RLock()
        self._hold_timer: threading.Timer | None = None
        self._closed = False
        self.light: Light | None = None
        self.connected = point.connected
        self.call_id: str | None = None
        self.status: str | None = None
        self.tier = 0
        resumed = point.open_call()
        if resumed is not None:
            self.call_id = resumed[0]
            state = resumed[1]
            self.status, self.tier = (state.status, state.tier) if state else ("waiting", 1)
        point.on_state = self._on_state
        point.on_connection = self._on_connection
        self.button.when_pressed = self._pressed
        self.button.when_released = self._released
        self._show()

    # --- button (gpiozero's thread) ---------------------------------------------------

    @property
    def call_open(self) -> bool:
        return self.call_id is not None and self.status in p.OPEN_STATUSES

    @property
    def press_joins_call(self) -> bool:
        """Whether a press now belongs to the open call (a repeat press, or a hold to greet).

        Not once the call is greeted: the hub takes a press after "greeted" as a new need, closes
        the greeted call and opens a new one, so the station makes that call on the press edge.
        """
        return self.call_open and self.status != "greeted"

    def _pressed(self) -> None:
        with self._lock:
            self._act(self.logic.press(self.clock(), self.press_joins_call))
            due = self.logic.hold_due()
            if due is not None:
                self._arm_hold(due)

    def _released(self) -> None:
        with self._lock:
            self._act(self.logic.release(self.clock()))
            due = self.logic.release_due()
            if due is not None:  # a release counts once the contact stays open (chatter is no release)
                self._later(due, self._settle)

    def _settle(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self.button.is_pressed:  # closed again, and that edge went missing: still held
                self._pressed()
            else:
                self._act(self.logic.settle(self.clock()))
                if not self.logic.pressed:
                    self._cancel_hold()

    def _later(self, due: float, check: Callable[[], None]) -> threading.Timer:
        """Run ``check`` just after ``due`` (monotonic time); it checks again, so a late timer is harmless."""
        timer = threading.Timer(max(0.0, due - self.clock()) + 0.002, check)
        timer.daemon = True
        timer.start()
        return timer

    def _arm_hold(self, due: float) -> None:
        self._cancel_hold()
        self._hold_timer = self._later(due, self._hold_check)

    def _cancel_hold(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None

    def _hold_check(self) -> None:
        with self._lock:
            self._hold_timer = None
            if not self._closed:
                self._act(self.logic.held(self.clock()))

    def _act(self, actions: list[Action]) -> None:

        for action in actions:
            if action == "call":
                self.call_id = self.point.call()
                self.status, self.tier = "waiting", 1  # shown at once; the hub's state follows
                log.info("%s: call %s", self.device.id, self.call_id)
                self._beep(1)
                self.cues.call_sent()
            elif action == "repeat":
                press_id = self.point.press_again()  # kept in the outbox while offline
                log.info("%s: repeat press %s on %s", self.device.id, press_id or "(no open call)", self.call_id)
                self._beep(1)
            elif action == "greet" and self.call_id is not None:
                self.point.greet(self.call_id)
                self.status = "greeted"
                log.info("%s: greeted here, call %s", self.device.id, self.call_id)
                self._beep(2)
        if actions:
            self._show()

    def _beep(self, n: int) -> None:
        if self.buzzer is not None:
            self.buzzer.beep(on_time=BEEP_S, off_time=BEEP_S, n=n, background=True)

    # --- call point (paho's thread) -------------------------------------------------

    def _on_state(self, call_id: str, state: p.StateMsg | None) -> None:
        if state is None:
            return
        with self._lock:
            if call_id != self.call_id and not (state.status in p.OPEN_STATUSES and self._is_current(call_id)):
                return  # an older call's news (the greeted call the hub closed for a new press)
            if state.status in p.OPEN_STATUSES:
                self.call_id, self.status, self.tier = call_id, state.status, state.tier
                self.cues.call_state(call_id, state.status)
            else:
                self.status, self.tier = None, 0
            self._show()

    def _is_current(self, call_id: str) -> bool:
        """The call point's newest open call: the hub keeps one open call per device, and a repeat
        press it turned into a new call (the old one was greeted meanwhile) becomes the newest."""
        current = self.point.open_call()
        return current is not None and current[0] == call_id

    def _on_connection(self, connected: bool) -> None:
        with self._lock:
            self.connected = connected
            self._show()

    # --- light ------------------------------------------------------------------------

    def _show(self) -> None:
        light = light_for(self.status if self.call_open else None, self.tier, self.connected)
        if light == self.light:
            return  # keep a blink's rhythm: restarting it on every state would make it stutter
        self.light = light
        led = self.led
        if led is None:
            return
        if light == OFF:
            led.off()
        elif not light.blinking:
            if isinstance(led, RGBLED):
                led.color = light.colour
            else:
                led.on()
        elif isinstance(led, RGBLED):
            led.blink(light.on_s, light.off_s, on_color=light.colour, off_color=(0, 0, 0), background=True)
        else:
            led.blink(light.on_s, light.off_s, background=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cancel_hold()
        for dev in (self.button, self.led, self.buzzer):
            if dev is not None:
                dev.close()
