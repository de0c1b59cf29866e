"""The page chime: a short two-tone WAV made at run time with the standard library.

Generating it avoids shipping a binary and lets the tone follow the page's urgency.
Playing is best effort: a Pi without a sound card still flashes the screen.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path

log = logging.getLogger(__name__)

RATE = 16000


def write_chime(path: str | Path, tones: tuple[float, ...] = (880.0, 1320.0), tone_s: float = 0.18) -> Path:
    """Write a chime of ``tones`` (Hz) to ``path`` and return it."""
    frames = bytearray()
    for freq in tones:
        n = int(RATE * tone_s)
        for i in range(n):
            fade = min(1.0, i / 200, (n - i) / 200)  # no clicks at the edges
            frames += struct.pack("<h", int(12000 * fade * math.sin(2 * math.pi * freq * i / RATE)))
        frames += b"\0\0" * int(RATE * 0.04)
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return path


class Chime:
    """Kivy's SoundLoader around the generated WAV; silent (with one warning) without audio."""

    def __init__(self, folder: str | Path) -> None:
        self.sound = None
        try:
            from kivy.core.audio import SoundLoader

            self.sound = SoundLoader.load(str(write_chime(Path(folder) / "staffcall-chime.wav")))
        except Exception as exc:  # no audio provider, no device: the flash still shows the page
            log.warning("no sound for pages (%s); the screen still flashes", exc)
        if self.sound is None:
            log.warning("no audio output found; pages will flash without sound")
        self.played = 0

    def play(self) -> None:
        self.played += 1
        if self.sound is None:
            return
        try:
            self.sound.stop()
            self.sound.play()
        except Exception as exc:
            log.warning("could not play the chime: %s", exc)
