"""The memory baseline for bench/kiosk.py: a Kivy app with one Label, configured like the kiosk.

Run under the same display as the kiosk; it prints ``ready`` once it has drawn a few
frames and then idles until stdin closes, so the bench can read its RSS.  What the
kiosk uses above this is the kiosk's own; what this uses is Python + Kivy + SDL + the
GL driver (under Xvfb: Mesa's llvmpipe software rasteriser).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from kiosk.kivyenv import configure_kivy

    configure_kivy(size=sys.argv[1] if len(sys.argv) > 1 else "800x480")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.label import Label

    class Minimal(App):
        def build(self):
            return Label(text="Call staff", font_size=48)

        def on_start(self) -> None:
            Clock.schedule_once(self.ready, 0.5)

        def ready(self, _dt) -> None:
            print("ready", flush=True)

            def wait_stdin() -> None:
                sys.stdin.read()
                Clock.schedule_once(lambda _dt: self.stop())

            threading.Thread(target=wait_stdin, daemon=True).start()

    Minimal().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
