"""``[announce]``: the store's speakers say when a customer still waits (see docs/integrations.md).

A call that reaches tier 3, and a call closed unattended, is announced after a chime in the
store's language: "Kund väntar vid Färg, gång 7" / "A customer is waiting at Paint, aisle 7".
What to say is decided by the pure ``AnnouncePolicy`` from the hub's ``state/{id}`` messages;
this module is the shell: a queue and one speaker thread, so two messages never overlap and a
slow loudspeaker delays only the announcements, never the hub nor the other integrations.

Example::

    host = IntegrationHost(cfg, [Announcer(cfg)])
    host.start()
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.integrations.announce_policy import LOCALES, Announcement, AnnouncePolicy
from broker.integrations.announce_speech import SpeechEngine, SpeechError, play

log = logging.getLogger(__name__)

QUEUE_LIMIT = 20
"""Announcements waiting to be said; beyond this a new one is dropped (and logged): the speakers are stuck."""


@dataclass(frozen=True)
class Said:
    """One announcement that went out: what, in which voice, the file, and when (monotonic)."""

    announcement: Announcement
    voice: str
    wav: Path | None
    started: float
    ended: float
    played: bool


class Speaker:
    """One thread that renders and plays announcements, one at a time, in order.

    ``still_due`` is asked just before each one, so what waited in the queue while the call was
    answered is not said.
    """

    def __init__(
        self,
        engine: SpeechEngine,
        voice: str,
        player: list[str],
        record_dir: str,
        still_due: Callable[[Announcement], bool],
    ) -> None:
        self.engine, self.voice, self.player = engine, voice, player
        self.record_dir = Path(record_dir) if record_dir else None
        self.still_due = still_due
        self.queue: queue.Queue[Announcement | None] = queue.Queue(QUEUE_LIMIT)
        self.said: deque[Said] = deque(maxlen=100)
        """The newest announcements said (for tests and the log), oldest first."""
        self.dropped = 0
        self._numbers = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name="announce-speaker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def say(self, a: Announcement) -> None:
        try:
            self.queue.put_nowait(a)
        except queue.Full:
            self.dropped += 1
            log.error(
                "announce: %d announcements are waiting; %s not said (are the speakers stuck?)", QUEUE_LIMIT, a.text
            )

    def stop(self) -> None:
        # The sentinel must get in even when the queue is full: make room by dropping the oldest.
        while True:
            try:
                self.queue.put_nowait(None)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()
        if self._thread.is_alive():
            self._thread.join(timeout=90)

    def _run(self) -> None:
        while True:
            a = self.queue.get()
            if a is None:
                return
            try:
                self._say(a)
            except Exception:
                log.exception("announce: could not say %r", a.text)

    def _say(self, a: Announcement) -> None:
        if not self.still_due(a):
            log.info("announce: %s of %s no longer needed; not said", a.kind, a.call_id)
            return
        started = time.monotonic()
        number = next(self._numbers)
        if self.record_dir is not None:
            wav = self.record_dir / f"{number:05d}-{a.kind}-{a.call_id}.wav"
            self._render_and_play(a, wav, started)
            return
        with tempfile.TemporaryDirectory(prefix="staffcall-announce-") as tmp:
            self._render_and_play(a, Path(tmp) / "announcement.wav", started)

    def _render_and_play(self, a: Announcement, wav: Path, started: float) -> None:
        try:
            self.engine.render(a.text, self.voice, wav)
        except SpeechError as exc:
            log.error("announce: %s", exc)
            return
        played = play(self.player, wav) if self.player else False
        kept = wav if self.record_dir is not None else None
        self.said.append(Said(a, self.voice, kept, started, time.monotonic(), played))
        log.info("announce: said %r (%s)", a.text, a.kind)


class Announcer:
    """The integration: subscribes to ``state/+``, decides with ``AnnouncePolicy``, speaks with ``Speaker``."""

    name = "announce"

    def __init__(
        self,
        cfg: Config,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        workdir: Path | None = None,
    ) -> None:
        a = cfg.announce
        catalog = Catalog(LOCALES, a.language or cfg.store.language)
        self.lang = catalog.lang if catalog.lang in catalog.languages() else "en"
        if self.lang != catalog.lang:
            log.warning("announce: no catalog for %r; announcing in English", catalog.lang)
            catalog.switch(self.lang)
        self.voice = a.voice or self.lang
        self.policy = AnnouncePolicy(cfg, self.lang, catalog.t, clock=clock, wall=wall)
        self._own_workdir = workdir is None
        self.workdir = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="staffcall-announce-"))
        self.engine = SpeechEngine(self.workdir, speed_wpm=a.speed_wpm)
        self.speaker = Speaker(self.engine, self.voice, list(a.player), a.record_dir, self.policy.still_due)

    def topics(self) -> list[str]:
        return ["state/+"]

    def start(self, host) -> None:
        for problem in self.engine.problems([self.voice]):
            log.error("announce: %s", problem)
        self.speaker.start()

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        announcement = self.policy.on_state(topic.rsplit("/", 1)[-1], payload, retained)
        if announcement is not None:
            self.speaker.say(announcement)

    def stop(self) -> None:
        self.speaker.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
