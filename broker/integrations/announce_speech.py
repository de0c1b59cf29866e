"""Speech for the announcements: a chime and a voice, rendered offline into one WAV file, then played.

The voice is espeak-ng (Debian's ``espeak-ng``: offline, every language of the catalogs, no model to
download); the chime and the joining are sox (``sox``), generated here, so the package ships no sound.
Playback is whatever command the store configures (``aplay -q``, ``paplay``), one file at a time.

Example::

    engine = SpeechEngine(Path("/var/lib/staffcall/announce"), speed_wpm=150)
    engine.render("Kund väntar vid Färg, gång 7.", voice="sv", out=Path("/tmp/a.wav"))
    play(["aplay", "-q"], Path("/tmp/a.wav"))
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
SOX = "sox"
RATE = 22050
"""espeak-ng's own sample rate: the chime is made at it so sox joins the two without resampling."""
RENDER_TIMEOUT_S = 30.0
PLAY_TIMEOUT_S = 60.0
"""A player that hangs (a stuck sound server) is killed, so the next announcement is not held forever."""
MAX_TEXT = 300
"""Characters spoken at most: an announcement is one sentence."""


class SpeechError(RuntimeError):
    """Rendering failed; the message says which program and what to do."""


class SpeechEngine:
    """Renders text into ``chime + pause + voice`` WAV files (mono, 16 bit, 22,050 Hz)."""

    def __init__(self, workdir: Path, speed_wpm: int = 150) -> None:
        self.workdir = Path(workdir)
        self.speed_wpm = speed_wpm
        self._chime: Path | None = None

    def problems(self, voices: list[str]) -> list[str]:
        """What stops this machine from speaking (missing programs, unknown voices), each with its fix."""
        found = []
        for program, package in ((ESPEAK, "espeak-ng"), (SOX, "sox")):
            if shutil.which(program) is None:
                found.append(f"{program} is not installed: sudo apt-get install -y {package}")
        if not found:
            listed = _run([ESPEAK, "--voices"], timeout=RENDER_TIMEOUT_S).stdout.decode("utf-8", "replace")
            names: set[str] = set()
            for line in listed.splitlines()[1:]:
                cols = line.split()  # Pty Language Age/Gender VoiceName File ...: -v takes any of these
                if len(cols) >= 5:
                    names |= {cols[1], cols[3], cols[4], cols[4].split("/")[-1]}
            for voice in voices:
                if voice.split("+")[0] not in names:
                    found.append(f"espeak-ng has no voice {voice!r}: see espeak-ng --voices, set [announce] voice")
        return found

    def chime(self) -> Path:
        """A two-tone "ding-dong", made once with sox (no sound files are shipped)."""
        if self._chime is None or not self._chime.exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            path = self.workdir / "chime.wav"
            tones = []
            for n, (seconds, hertz) in enumerate((("0.35", "880"), ("0.6", "660"))):
                tone = self.workdir / f"chime.{n}.wav"
                fade = f"{float(seconds) - 0.05:.2f}"
                synth = ["synth", seconds, "sine", hertz, "fade", "0", seconds, fade, "vol", "0.35"]
                _checked([SOX, "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(tone), *synth], "sox (the chime)")
                tones.append(str(tone))
            _checked([SOX, *tones, str(path), "pad", "0", "0.3"], "sox (the chime)")
            for tone_path in tones:
                Path(tone_path).unlink(missing_ok=True)
            self._chime = path
        return self._chime

    def render(self, text: str, voice: str, out: Path, chime: bool = True) -> Path:
        """Speak ``text`` in ``voice`` into ``out``; the text goes in on stdin, never as an argument."""
        out.parent.mkdir(parents=True, exist_ok=True)
        speech = out.with_name(out.stem + ".voice.wav")
        clean = "".join(ch if ch.isprintable() else " " for ch in text)[:MAX_TEXT]
        _checked(
            [ESPEAK, "-v", voice, "-s", str(self.speed_wpm), "-w", str(speech), "--stdin"],
            f"espeak-ng (voice {voice!r})",
            stdin=clean.encode("utf-8"),
        )
        try:
            if chime:
                _checked([SOX, str(self.chime()), str(speech), str(out)], "sox (joining chime and voice)")
            else:
                speech.replace(out)
        finally:
            speech.unlink(missing_ok=True)
        return out


def play(player: list[str], wav: Path) -> bool:
    """Play one file with the store's command and wait until it is done; False (logged) when it fails."""
    try:
        done = _run([*player, str(wav)], timeout=PLAY_TIMEOUT_S)
    except FileNotFoundError:
        log.error("announce: the player %r is not installed; set [announce] player", player[0])
        return False
    except subprocess.TimeoutExpired:
        log.error("announce: %r ran over %.0f s and was stopped; check the sound output", player[0], PLAY_TIMEOUT_S)
        return False
    if done.returncode != 0:
        log.error(
            "announce: %r failed (%s): %s; check the speakers and [announce] player",
            player[0],
            done.returncode,
            done.stderr.decode("utf-8", "replace").strip()[:200],
        )
        return False
    return True


def _run(cmd: list[str], timeout: float, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, check=False)


def _checked(cmd: list[str], what: str, stdin: bytes | None = None) -> None:
    try:
        done = _run(cmd, timeout=RENDER_TIMEOUT_S, stdin=stdin)
    except FileNotFoundError:
        raise SpeechError(f"{what}: {cmd[0]} is not installed; sudo apt-get install -y espeak-ng sox") from None
    except subprocess.TimeoutExpired:
        raise SpeechError(f"{what}: took over {RENDER_TIMEOUT_S:.0f} s; is the machine overloaded?") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[:200]
        raise SpeechError(f"{what} failed ({done.returncode}): {err}")
