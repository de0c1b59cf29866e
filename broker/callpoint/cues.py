"""Sound cues for customers: one short tone when the call is sent, another when a colleague is on the way.

A customer who looked away, or cannot read the screen, still learns the two things that matter.
The decision (which cue, once per call, not in quiet hours) is pure (``CueLogic``); the sound
goes through a small ``Player``: ``ToneFilePlayer`` makes the tones with sox once at start and
plays them with ``aplay -q``; the tests use ``RecordingPlayer``.  A missing sox or aplay, or a
machine without a sound card, costs a warning and silence, never the call.

Example::

    >>> logic, player = CueLogic(), RecordingPlayer()
    >>> player.play(logic.sent())
    >>> for status in ("waiting", "acknowledged", "acknowledged"):
    ...     cue = logic.state("c1", status)
    ...     if cue: player.play(cue)
    >>> player.played
    ['sent', 'coming']
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from datetime import datetime, time
from pathlib import Path
from typing import Literal, Protocol

from broker.contract.config import Config

log = logging.getLogger(__name__)

Cue = Literal["sent", "coming"]
TONES: dict[str, list[str]] = {
    "sent": ["synth", "0.15", "sine", "880"],
    "coming": ["synth", "0.12", "sine", "660", ":", "synth", "0.18", "sine", "990"],
}
"""sox effect arguments per cue: one high beep for "sent", a rising two-note chime for "coming"."""
COMING_STATUS = "acknowledged"


class Player(Protocol):
    def play(self, cue: Cue) -> None: ...


class RecordingPlayer:
    """Remembers the cues instead of sounding them (tests, the kiosk's UI driver)."""

    def __init__(self) -> None:
        self.played: list[str] = []
        self._lock = threading.Lock()

    def play(self, cue: Cue) -> None:
        with self._lock:
            self.played.append(cue)


class SilentPlayer:
    """Sounds off."""

    def play(self, cue: Cue) -> None:
        pass


class ToneFilePlayer:
    """Makes one WAV per cue with sox into ``folder`` at start, and plays it with ``aplay -q`` without waiting."""

    def __init__(self, folder: Path, command: tuple[str, ...] = ("aplay", "-q")) -> None:
        self.command = command
        self.files: dict[str, Path] = {}
        if shutil.which("sox") is None or shutil.which(command[0]) is None:
            log.warning("sound cues are on but sox or %s is not installed: the cues stay silent", command[0])
            return
        folder.mkdir(parents=True, exist_ok=True)
        for cue, effect in TONES.items():
            path = folder / f"{cue}.wav"
            try:
                subprocess.run(
                    ["sox", "-n", "-r", "22050", str(path), *effect], check=True, capture_output=True, timeout=20
                )
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("sox could not make the %r cue (%s): it stays silent", cue, exc)
                continue
            self.files[cue] = path

    def play(self, cue: Cue) -> None:
        path = self.files.get(cue)
        if path is None:
            return
        try:  # not waited for: the call must not wait on a sound card; aplay ends by itself
            subprocess.Popen([*self.command, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            log.warning("could not play the %r cue: %s", cue, exc)


def parse_quiet_hours(spec: list[str]) -> tuple[time, time] | None:
    """``["21:00", "07:00"]`` -> the span (may pass midnight); ``[]`` -> None.  Raises ValueError on anything else."""
    if not spec:
        return None
    if len(spec) != 2:
        raise ValueError(f'quiet_hours: two times, from and to, e.g. ["21:00", "07:00"], not {spec!r}')
    start, end = (time.fromisoformat(s) for s in spec)
    return start, end


def in_quiet_hours(now: time, span: tuple[time, time] | None) -> bool:
    if span is None:
        return False
    start, end = span
    return start <= now < end if start <= end else now >= start or now < end


class CueLogic:
    """Which cue a moment of a call deserves: "sent" on the call, "coming" once per call on acknowledged."""

    def __init__(self) -> None:
        self._coming_for: str | None = None

    def sent(self) -> Cue:
        return "sent"

    def state(self, call_id: str, status: str) -> Cue | None:
        if status != COMING_STATUS or call_id == self._coming_for:
            return None
        self._coming_for = call_id
        return "coming"


class Cues:
    """The cues of one device: the logic, the player and the quiet hours (wall clock: they are opening hours)."""

    def __init__(self, player: Player, quiet_hours: list[str] | None = None, now=datetime.now) -> None:
        self.player = player
        self.logic = CueLogic()
        self.quiet = parse_quiet_hours(quiet_hours or [])
        self.now = now

    def _play(self, cue: Cue | None) -> None:
        if cue is not None and not in_quiet_hours(self.now().time(), self.quiet):
            self.player.play(cue)

    def call_sent(self) -> None:
        self._play(self.logic.sent())

    def call_state(self, call_id: str, status: str) -> None:
        self._play(self.logic.state(call_id, status))


def cues_for(cfg: Config, device_id: str, folder: Path, player: Player | None = None) -> Cues:
    """A device's cues from the config: its own ``sounds``, else ``[kiosk] sounds``; ``player`` replaces the sound."""
    dev = cfg.devices_by_id.get(device_id)
    enabled = dev.sounds if dev is not None and dev.sounds is not None else cfg.kiosk.sounds
    if player is None:
        player = ToneFilePlayer(folder) if enabled else SilentPlayer()
    return Cues(player, cfg.kiosk.quiet_hours)
