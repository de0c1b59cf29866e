"""Voice announcements: the rules (pure, fake clocks), the real espeak-ng voice and sox chime, the queue,
and a button station's call escalating on the store's broker until the speakers say it."""

from __future__ import annotations

import getpass
import json
import logging
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.callpoint.callpoint import CallPoint
from broker.contract.config import Config, ConfigError, load_config, parse_config
from broker.contract.i18n import Catalog
from broker.hub.shell import Hub
from broker.integrations import announce_speech
from broker.integrations.announce import Announcer, Speaker
from broker.integrations.announce_policy import LOCALES, Announcement, AnnouncePolicy
from broker.integrations.announce_speech import SpeechEngine
from broker.integrations.cli import enabled
from broker.integrations.host import IntegrationHost
from broker.mosquitto.setup import start_store_broker
from hardware.station import ButtonStation
from tests.hardware.conftest import STATIONS_TOML, tap, wait_until
from tests.security.conftest import peer, write_secure_config

STORE = """
[store]
id = "s1"
name = "Paint shop"
timezone = "Europe/Stockholm"
[[devices]]
id = "k1"
kind = "kiosk"
zone = "paint"
label = "gång 7"
[[devices]]
id = "k2"
kind = "kiosk"
zone = "paint"
[[devices]]
id = "b9"
kind = "button"
zone = "garden"
[[zones]]
id = "paint"
names = { sv = "Färg", en = "Paint" }
[announce]
enabled = true
repeat_s = 120
player = []
record_dir = "said"
"""
T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # 10:30 in Stockholm


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.now = T0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += timedelta(seconds=seconds)


def state(
    call_id: str = "c1",
    device: str = "k1",
    status: str = "waiting",
    tier: int = 3,
    at: datetime = T0,
    staff: str | None = None,
) -> bytes:
    zone = {"k1": "paint", "k2": "paint", "b9": "garden"}.get(device, "paint")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = {"id": call_id, "device": device, "zone": zone, "status": status, "tier": tier, "staff": staff}
    return json.dumps({**body, "opened_at": stamp, "updated_at": stamp}).encode()


def policy(lang: str = "sv", extra: str = "", clocks: Clocks | None = None) -> tuple[AnnouncePolicy, Clocks]:
    clocks = clocks or Clocks()
    cfg = parse_config(STORE + extra)
    return AnnouncePolicy(cfg, lang, Catalog(LOCALES, lang).t, lambda: clocks.mono, lambda: clocks.now), clocks


# --- the rules ----------------------------------------------------------------------------------


def test_a_call_waiting_at_tier_3_is_announced_in_the_stores_language_with_zone_and_label():
    sv, _ = policy("sv")
    en, _ = policy("en")
    for tier in (1, 2):
        assert sv.on_state("c1", state(tier=tier), retained=False) is None
    said = sv.on_state("c1", state(), retained=False)
    assert said is not None and said.text == "Kund väntar vid Färg, gång 7."
    assert (said.kind, said.device, said.lang) == ("waiting", "k1", "sv")
    assert en.on_state("c1", state(), retained=False).text == "A customer is waiting at Paint, gång 7."
    # no label: the device's id; a zone without a name: the place alone
    assert sv.on_state("c2", state("c2", "k2"), retained=False).text == "Kund väntar vid Färg, k2."
    assert sv.on_state("c3", state("c3", "b9"), retained=False).text == "Kund väntar vid b9."


def test_at_most_one_announcement_per_call_point_per_repeat_s():
    rules, clocks = policy()
    assert rules.on_state("c1", state(), retained=False) is not None
    clocks.advance(119)
    assert rules.on_state("c1", state(at=clocks.now), retained=False) is None  # the hub's repage, 119 s on
    assert rules.on_state("c9", state("c9", at=clocks.now), retained=False) is None  # another call, same point
    assert rules.on_state("c2", state("c2", "k2", at=clocks.now), retained=False) is not None  # another point
    clocks.advance(1)
    assert rules.on_state("c1", state(at=clocks.now), retained=False) is not None


def test_someone_on_the_way_silences_it_and_a_queued_announcement_is_dropped():
    rules, clocks = policy()
    queued = rules.on_state("c1", state(), retained=False)
    assert queued is not None and rules.still_due(queued)
    assert rules.on_state("c1", state(status="acknowledged"), retained=False) is None
    assert not rules.still_due(queued)  # Anna said "on my way" while it waited for the speaker
    clocks.advance(200)
    assert rules.on_state("c1", state(status="acknowledged", at=clocks.now), retained=False) is None
    assert rules.on_state("c1", state(status="greeted", at=clocks.now), retained=False) is None


def test_an_acknowledged_call_the_hub_escalates_is_announced_until_someone_else_acknowledges():
    rules, clocks = policy()
    assert rules.on_state("c1", state(status="acknowledged", tier=1, staff="anna"), retained=False) is None
    # Anna never came: the hub pages everyone, her name still on the call
    said = rules.on_state("c1", state(status="acknowledged", tier=3, staff="anna"), retained=False)
    assert said is not None and rules.still_due(said)
    clocks.advance(130)
    again = state(status="acknowledged", tier=3, staff="anna", at=clocks.now)  # the hub's next repage
    assert rules.on_state("c1", again, retained=False) is not None
    ben = state(status="acknowledged", tier=3, staff="ben", at=clocks.now)
    assert rules.on_state("c1", ben, retained=False) is None  # Ben is on his way
    assert not rules.still_due(said)


def test_an_unattended_close_is_said_once_even_right_after_the_waiting_one():
    rules, _ = policy()
    assert rules.on_state("c1", state(), retained=False) is not None
    closed = rules.on_state("c1", state(status="unattended"), retained=False)
    assert closed is not None and closed.text == "Ingen hann fram till kunden vid Färg, gång 7."
    assert rules.still_due(closed)
    assert rules.on_state("c1", state(status="unattended"), retained=False) is None  # a QoS 1 duplicate
    assert rules.on_state("c2", state("c2", status="resolved"), retained=False) is None
    assert rules.on_state("c3", state("c3", status="cancelled"), retained=False) is None


def test_retained_and_stale_states_are_the_past_not_news():
    rules, clocks = policy()
    assert rules.on_state("c1", state(), retained=True) is None  # replayed when the integrations start
    assert rules.on_state("c1", state(at=T0 - timedelta(seconds=61)), retained=False) is None  # held in the broker
    said = rules.on_state("c1", state(at=T0 - timedelta(seconds=59)), retained=False)
    assert said is not None
    clocks.advance(61)
    assert not rules.still_due(said)  # waited too long behind other announcements


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("20:59", False), ("21:00", True), ("23:30", True), ("06:59", True), ("07:00", False), ("12:00", False)],
)
def test_quiet_hours_are_store_local_and_may_cross_midnight(local: str, quiet: bool):
    hours, minutes = map(int, local.split(":"))
    clocks = Clocks()
    # 2026-11-25 is winter time in Stockholm: UTC+1.
    clocks.now = datetime(2026, 11, 25, hours, minutes, tzinfo=UTC) - timedelta(hours=1)
    rules, _ = policy(extra='quiet_from = "21:00"\nquiet_until = "07:00"\n', clocks=clocks)
    said = rules.on_state("c1", state(at=clocks.now), retained=False)
    assert (said is None) == quiet


HOSTILE = [
    b"",
    b"not json",
    b"\xff\xfe\x00",
    b"[]",
    b'{"id": "c1"}',
    b'{"id": "c1", "device": "k1", "zone": "paint", "status": "waiting", "tier": "3", "opened_at": 1}',
    state().replace(b'"k1"', b'"k1\\n"'),
    state().replace(b'"paint"', b'"../../etc"'),
    state().replace(b"2026-11-25T09:30:00.000Z", b"yesterday"),
    state("other"),  # the id does not match its topic
    b"{" * 5000,
    state()[:-1] + b', "pad": "' + b"x" * 5000 + b'"}',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_states_are_ignored_never_crash(payload: bytes):
    rules, _ = policy()
    assert rules.on_state("c1", payload, retained=False) is None
    assert rules.on_state("bad id/", state(), retained=False) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=70))
def test_any_bytes_on_any_call_id_are_handled(payload: bytes, call_id: str):
    rules, _ = policy()
    rules.on_state(call_id, payload, retained=False)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('language = "svenska"', r"\[announce\] language: .* language code"),
        ('voice = "-w /etc/passwd"', r"\[announce\] voice: .* espeak-ng voice"),
        ("speed_wpm = 20", r"\[announce\] speed_wpm: 20 must be 80-450"),
        ("repeat_s = 0", r"\[announce\] repeat_s: must be a positive"),
        ('quiet_from = "25:00"\nquiet_until = "07:00"', r'\[announce\] quiet_from: .* "HH:MM"'),
        ('quiet_from = "21:00"', r"\[announce\] quiet_from: quiet_from and quiet_until go together"),
        ('player = [""]', r"\[announce\] player: must start with a program"),
        ("player = []", r"\[announce\] player: nothing would be heard or kept"),
        ("volume = 3", r"\[announce\]: Object contains unknown field `volume`; remove it"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(toml: str, message: str):
    with pytest.raises(ConfigError, match=message):
        parse_config(STORE.split("[announce]")[0] + "[announce]\nenabled = true\n" + toml + "\n")


def test_off_by_default_and_on_in_the_integrations_service(tmp_path: Path):
    assert parse_config(STORE.split("[announce]")[0]).announce.enabled is False
    assert enabled(parse_config(STORE.split("[announce]")[0])) == []
    path = tmp_path / "staffcall.toml"
    path.write_text(STORE)
    cfg = load_config(path)
    assert cfg.announce.record_dir == str(tmp_path / "said")  # relative to the config file
    [announcer] = enabled(cfg)
    assert isinstance(announcer, Announcer) and announcer.topics() == ["state/+"]
    announcer.stop()


# --- the real voice -------------------------------------------------------------------------------


def seconds(wav: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)


def rms_db(wav: Path, trim: tuple[float, float] | None = None) -> float:
    cmd = ["sox", str(wav), "-n"] + (["trim", str(trim[0]), str(trim[1])] if trim else []) + ["stats"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    return float(re.search(r"RMS lev dB\s+(-?[\d.]+|-inf)", out).group(1))


def test_the_chime_and_the_voice_are_rendered_in_the_right_language(tmp_path: Path):
    engine = SpeechEngine(tmp_path / "work", speed_wpm=150)
    assert engine.problems(["sv", "en", "en-gb"]) == []
    assert engine.problems(["klingon"]) and "klingon" in engine.problems(["klingon"])[0]
    chime = seconds(engine.chime())
    assert 1.0 < chime < 1.6 and rms_db(engine.chime(), (0, 0.3)) > -30  # a tone, not silence

    sv_text, en_text = "Kund väntar vid Färg, gång 7.", "A customer is waiting at Paint, aisle 7."
    sv = engine.render(sv_text, "sv", tmp_path / "sv.wav")
    en = engine.render(en_text, "en", tmp_path / "en.wav")
    for wav, text in ((sv, sv_text), (en, en_text)):
        spoken = seconds(wav) - chime
        # at 150 words a minute, 5-8 words take 2-4 s; allow the engine's pauses either way
        assert 0.06 * len(text) < spoken < 0.25 * len(text), (wav, spoken)
        assert rms_db(wav, (chime, spoken)) > -35  # a voice, not silence
    # The same Swedish sentence in the English voice is another sound: the voice is really chosen.
    sv_in_en = engine.render(sv_text, "en", tmp_path / "sv-in-en.wav")
    assert sv.read_bytes() != sv_in_en.read_bytes()
    assert abs(seconds(sv) - seconds(sv_in_en)) > 0.05 or rms_db(sv) != rms_db(sv_in_en)
    # A longer text takes longer: the duration follows what is said.
    longer = engine.render(sv_text + " " + sv_text, "sv", tmp_path / "longer.wav")
    assert seconds(longer) > seconds(sv) + 1.5


def test_a_text_that_looks_like_options_is_spoken_not_obeyed(tmp_path: Path):
    engine = SpeechEngine(tmp_path / "work")
    hijack = tmp_path / "hijacked.wav"
    wav = engine.render(f"-w {hijack} --voices <speak>hej</speak>\x00\x1b[31m", "sv", tmp_path / "odd.wav")
    assert seconds(wav) > seconds(engine.chime()) + 0.5
    assert not hijack.exists()


# --- the queue ------------------------------------------------------------------------------------

LOGGING_PLAYER = """
import sys, time
log, wav = sys.argv[1], sys.argv[2]
with open(log, "a") as f:
    f.write(f"start {time.monotonic()} {wav}\\n")
time.sleep(0.4)
with open(log, "a") as f:
    f.write(f"end {time.monotonic()} {wav}\\n")
"""


def announcement(call_id: str, device: str, text: str, made_at: float | None = None) -> Announcement:
    return Announcement("waiting", call_id, device, "sv", text, time.monotonic() if made_at is None else made_at)


def test_announcements_never_overlap_and_keep_their_order(tmp_path: Path):
    script = tmp_path / "player.py"
    script.write_text(LOGGING_PLAYER)
    log = tmp_path / "played.log"
    engine = SpeechEngine(tmp_path / "work")
    speaker = Speaker(engine, "sv", [sys.executable, str(script), str(log)], str(tmp_path / "said"), lambda a: True)
    speaker.start()
    texts = ["Kund väntar vid Färg.", "Kund väntar vid Trädgård.", "Kund väntar vid Provrum."]
    try:
        for n, text in enumerate(texts):
            speaker.say(announcement(f"c{n}", f"k{n}", text))  # all three at once
        wait_until(lambda: len(speaker.said) == 3, timeout=90, what="three announcements said")
    finally:
        speaker.stop()
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end"] * 3  # each ends before the next starts
    assert [Path(e[2]).name for e in events[::2]] == [
        "00001-waiting-c0.wav",
        "00002-waiting-c1.wav",
        "00003-waiting-c2.wav",
    ]
    assert all(s.played for s in speaker.said)
    assert [s.announcement.text for s in speaker.said] == texts
    for s in speaker.said:
        assert s.wav is not None and seconds(s.wav) > 2.0 and rms_db(s.wav) > -40


def test_a_broken_or_hanging_player_is_logged_and_the_next_announcement_still_goes(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(announce_speech, "PLAY_TIMEOUT_S", 1.0)
    engine = SpeechEngine(tmp_path / "work")
    said = tmp_path / "said"
    caplog.set_level(logging.ERROR)
    for player in (["no-such-player-here"], ["false"], [sys.executable, "-c", "import time; time.sleep(30)"]):
        speaker = Speaker(engine, "sv", player, str(said), lambda a: True)
        speaker.start()
        try:
            speaker.say(announcement("c1", "k1", "Kund väntar vid Färg."))
            speaker.say(announcement("c2", "k2", "Kund väntar vid Trädgård."))
            wait_until(lambda s=speaker: len(s.said) == 2, timeout=60, what=f"both tried with {player}")
        finally:
            speaker.stop()
        assert [s.played for s in speaker.said] == [False, False]
    assert "no-such-player-here" in caplog.text and "was stopped" in caplog.text and "failed (1)" in caplog.text


def test_what_is_no_longer_needed_or_too_many_is_not_said(tmp_path: Path):
    engine = SpeechEngine(tmp_path / "work")
    due = {"c1": False, "c2": True}
    speaker = Speaker(engine, "sv", [], str(tmp_path / "said"), lambda a: due[a.call_id])
    for n in range(25):  # not started: the queue fills, the overflow is dropped, nothing blocks
        speaker.say(announcement("c1" if n else "c2", "k1", "Kund väntar."))
    assert speaker.dropped == 5
    speaker.start()
    speaker.stop()  # says what is due, then ends
    assert [s.announcement.call_id for s in speaker.said] == ["c2"]


def test_the_rate_limit_with_the_real_engine(tmp_path: Path):
    path = tmp_path / "staffcall.toml"
    path.write_text(STORE)
    clocks = Clocks()
    announcer = Announcer(load_config(path), clock=lambda: clocks.mono, wall=lambda: clocks.now, workdir=tmp_path / "w")
    announcer.start(host=None)
    try:
        announcer.handle("staffcall/s1/state/c1", state(), False)
        announcer.handle("staffcall/s1/state/c1", state(), False)  # the hub's next repage: within repeat_s
        announcer.handle("staffcall/s1/state/c2", state("c2", "k2"), False)
        wait_until(lambda: len(announcer.speaker.said) == 2, timeout=60, what="two announcements")
        clocks.advance(5)
        announcer.handle("staffcall/s1/state/c1", state(status="unattended", at=clocks.now), False)
        wait_until(lambda: len(announcer.speaker.said) == 3, timeout=60, what="the unattended one")
    finally:
        announcer.stop()
    files = sorted(p.name for p in (tmp_path / "said").glob("*.wav"))
    assert files == ["00001-waiting-c1.wav", "00002-waiting-c2.wav", "00003-unattended-c1.wav"]
    assert [s.announcement.text for s in announcer.speaker.said] == [
        "Kund väntar vid Färg, gång 7.",
        "Kund väntar vid Färg, k2.",
        "Ingen hann fram till kunden vid Färg, gång 7.",
    ]
    assert all(s.voice == "sv" for s in announcer.speaker.said)


# --- end to end: a finger on a button, the real hub, the store's broker --------------------------

E2E = """
[[zones]]
id = "toys"
names = { sv = "Leksaker", en = "Toys" }

[announce]
enabled = true
player = []
record_dir = "said"
stale_after_s = 120
"""


def test_a_pressed_button_escalates_to_tier_3_and_the_speakers_say_it(tmp_path: Path):
    path = write_secure_config(tmp_path, tls=False, ack=1, esc=2, unatt=12)
    path.write_text(path.read_text() + STATIONS_TOML.format(outbox=tmp_path / "outbox") + E2E)
    cfg: Config = load_config(path)
    _, broker = start_store_broker(
        cfg, tmp_path / "broker", log_file=tmp_path / "mosquitto.log", run_as=getpass.getuser()
    )
    hub = Hub(cfg)
    hub.start()
    [announcer] = enabled(cfg)
    host = IntegrationHost(cfg, [announcer])
    chloe = peer(cfg, "staff:chloe")
    pins = MockFactory()
    station = ButtonStation(
        cfg.devices_by_id["fit-1"], CallPoint(cfg, "fit-1", str(tmp_path / "fit-1.db")), 0.3, 0.1, pin_factory=pins
    )
    try:
        assert hub.ready.wait(10)
        host.start()
        assert host.connected.wait(10)
        chloe.publish("staffcall/s1/staff/chloe/presence", json.dumps({"status": "on_shift"}), retain=True)
        station.point.start()
        wait_until(lambda: station.connected, timeout=10, what="the station on the store broker")
        time.sleep(0.5)  # the integrations' SUBACK and chloe's presence reach the hub
        tap(station)  # a customer presses the button in the fitting room; nobody answers the pages
        said = announcer.speaker.said
        wait_until(lambda: len(said) >= 1, timeout=60, what="the tier-3 announcement")
        first = said[0]
        assert first.announcement.kind == "waiting" and first.announcement.call_id == station.call_id
        assert first.announcement.text == "Kund väntar vid Leksaker, Fitting room 1."
        assert first.voice == "sv" and first.wav is not None and first.wav.parent == tmp_path / "said"
        assert seconds(first.wav) > 3.0 and rms_db(first.wav) > -40
        wait_until(lambda: any(s.announcement.kind == "unattended" for s in said), timeout=90, what="unattended")
        kinds = [s.announcement.kind for s in said]
        # repeat_s (120) allows one "waiting" for the call point however often the hub repages
        assert kinds == ["waiting", "unattended"], kinds
    finally:
        station.point.stop()
        station.close()
        pins.reset()
        chloe.close()
        host.stop()
        hub.stop()
        broker.stop()


def test_a_language_without_a_catalog_is_announced_in_english_and_the_voice_follows(tmp_path: Path):
    german = parse_config(STORE.replace('timezone = "Europe/Stockholm"', 'language = "de"'))
    announcer = Announcer(german, workdir=tmp_path / "w")
    assert (announcer.lang, announcer.voice) == ("en", "en")
    now = datetime.now(UTC)
    said = announcer.policy.on_state("c1", state(at=now), retained=False)
    assert said is not None and said.text == "A customer is waiting at Paint, gång 7."
    chosen = parse_config(STORE.replace("repeat_s = 120", 'repeat_s = 120\nlanguage = "en"\nvoice = "en-gb"'))
    assert Announcer(chosen, workdir=tmp_path / "w2").speaker.voice == "en-gb"
