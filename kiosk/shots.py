"""Render every kiosk screen to PNG files (``staffcall kiosk-screens``), for the docs and for review.

It runs the real app with a sample store and no broker, puts it into each situation
with the same calls the network would make (``apply_state``), and saves the window.
Without a display it starts a private Xvfb.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kiosk.xvfb import Xvfb

SAMPLE = """
[store]
id = "demo"
name = "Demo Store"
language = "{lang}"
nobody_on_shift_text = "Nobody can come right now - please ask at the checkout by the entrance."
[kiosk]
reasons = ["product", "fitting_room", "pickup", "checkout"]
staff_pin = "4711"
[[staff]]
id = "anna"
name = "Anna"
role = "Summer substitute"
zones = ["floor"]
[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "floor"
"""


def render(out: Path, sizes: list[tuple[int, int]], lang: str = "en") -> list[Path]:
    """Render in a child process per size (Kivy has one window per process)."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        try:
            xvfb = Xvfb("1920x1920")
        except RuntimeError as exc:
            raise SystemExit(f"staffcall: no display and {exc}") from None
        env["DISPLAY"] = xvfb.display
    paths: list[Path] = []
    try:
        for width, height in sizes:
            with tempfile.TemporaryDirectory() as home:
                env.update(KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=home)
                cmd = [sys.executable, "-m", "kiosk.shots", str(out), f"{width}x{height}", lang]
                subprocess.run(cmd, env=env, check=True)
            paths += sorted(out.glob(f"*-{width}x{height}.png"))
    finally:
        if xvfb:
            xvfb.stop()
    return paths


def sample_state(call_id: str, **kw):
    """A state as the hub sends it for the sample store's kiosk: Anna paged at tier 1, unless ``kw`` says otherwise."""
    from broker.contract.protocol import StateMsg

    base = dict(
        id=call_id,
        device="kiosk-1",
        zone="floor",
        status="waiting",
        tier=1,
        staff="anna",
        staff_name="Anna",
        staff_role="Summer substitute",
        eta_s=70,
        opened_at="",
        updated_at="",
        waited_s=12,
    )
    return StateMsg(**{**base, **kw})


NOBODY_NAMED = dict(staff=None, staff_name=None, staff_role=None)
"""At tier 3 the hub pages everyone on shift and the managers, so a waiting call names nobody
(broker/core/dispatcher.py ``_send_pages``); a call closed as unattended names nobody either."""
OVERDUE = dict(NOBODY_NAMED, tier=3, eta_s=15, waited_s=185)
"""Escalated to everyone: the hub's estimate is never below 15 s (broker/core/eta.py) and it repeats the page
every ``ack_timeout_s``, so the kiosk sees an overdue call when that estimate has run out since."""
OVERDUE_AGE_S = 20.0
"""How long before the shot the overdue state arrived: longer than its ``eta_s``."""


def scenes(app):
    """Yield (name, setup) pairs; each setup puts the app into one situation."""

    def call() -> str:
        app.finish()
        app.press_call()
        return app.progress.call_id

    def arrived(call_id: str, state, ago_s: float) -> None:
        """``state`` came from the hub ``ago_s`` seconds ago and nothing since."""
        app.apply_state(call_id, state)
        app.progress.update(state, time.monotonic() - ago_s)
        app.sm.current_screen.refresh()

    yield "01-welcome", lambda: app.finish()
    yield "02-welcome-sv", lambda: (app.finish(), app.toggle_language())
    yield "03-waiting-sent", lambda: call()
    yield "04-waiting-acknowledged", lambda: app.apply_state((c := call()), sample_state(c, status="acknowledged"))
    yield "05-waiting-overdue", lambda: arrived((c := call()), sample_state(c, **OVERDUE), OVERDUE_AGE_S)
    yield (
        "06-waiting-nobody-on-shift",
        lambda: app.apply_state(
            (c := call()), sample_state(c, **NOBODY_NAMED, eta_s=None, tier=3, nobody_on_shift=True)
        ),
    )
    yield "07-waiting-offline", lambda: (call(), setattr(app, "connected", False))
    yield "08-staff-pin", lambda: (app.apply_state((c := call()), sample_state(c)), app.ask_staff_pin())
    yield "09-greeted", lambda: app.apply_state((c := call()), sample_state(c, status="greeted", eta_s=None))
    yield "10-feedback", lambda: app.apply_state((c := call()), sample_state(c, status="resolved", eta_s=None))
    yield "11-thanks", lambda: (app.finish(), app.show("thanks"))
    yield (
        "12-unattended",
        lambda: app.apply_state((c := call()), sample_state(c, **{**OVERDUE, "status": "unattended", "eta_s": None})),
    )


def main(out: str, size: str, lang: str) -> None:
    from kiosk.kivyenv import configure_kivy

    configure_kivy(size)
    from kivy.clock import Clock

    from broker.contract.config import parse_config
    from kiosk.app import KioskApp
    from kiosk.kivyenv import save_window

    tmp = tempfile.mkdtemp(prefix="staffcall-shots-")
    app = KioskApp(parse_config(SAMPLE.format(lang=lang)), "kiosk-1", str(Path(tmp) / "outbox.db"), online=False)
    todo = scenes(app)

    def step(_dt: float) -> None:
        try:
            name, setup = next(todo)
        except StopIteration:
            app.stop()
            return
        app.connected = True
        if app.pinpad is not None:
            app.pinpad.dismiss(animation=False)
        setup()
        Clock.schedule_once(lambda _dt: shoot(name), 0.6)  # the fade and the PIN pad's opening are over

    def shoot(name: str) -> None:
        save_window(str(Path(out) / f"{name}-{size}.png"))
        step(0)

    Clock.schedule_once(step, 0.5)
    started = time.monotonic()
    app.run()
    print(f"rendered {size} in {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
