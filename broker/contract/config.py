"""The store's configuration: one TOML file, validated once at start-up.

Every error names the key and says how to fix it, because the person reading it is
installing a Pi in a store, not reading our code.

Example::

    >>> cfg = parse_config('''
    ... [store]
    ... id = "s1"
    ... name = "Demo Store"
    ... [[staff]]
    ... id = "anna"
    ... name = "Anna"
    ... zones = ["electronics"]
    ... [[devices]]
    ... id = "kiosk-1"
    ... kind = "kiosk"
    ... zone = "electronics"
    ... ''')
    >>> cfg.timers.ack_timeout_s, cfg.staff_by_id["anna"].name
    (30.0, 'Anna')
"""

from __future__ import annotations

import base64
import math
import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

import msgspec

from broker.contract.protocol import ID_PATTERN, valid_id
from broker.contract.settings import ConfigError, add_config

__all__ = ["ConfigError", "add_config", "Config", "load_config", "parse_config"]


class Store(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    target_greet_s: float = 60.0
    eta_kept_share: float = 0.85
    """The share of customers the estimate they are shown should hold for (``broker/core/eta.py``)."""
    language: str = "sv"
    timezone: str = "Europe/Stockholm"
    nobody_on_shift_text: str = ""
    """Where the customer should go when nobody is on shift (kiosk, QR pages)."""


class BrokerCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[broker]``: where the store's Mosquitto is, and how each part proves who it is (docs/security.md)."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    """One shared login for every part; ``credentials`` (one login per part) is the secure choice."""
    password: str | None = None
    keepalive_s: int = 15
    credentials: str | None = None
    """TOML file from ``staffcall broker init``: one generated password per device, colleague and service."""
    ca: str | None = None
    """CA certificate that signed the broker's; when set, clients connect with TLS to ``tls_port``."""
    tls_port: int = 8883
    insecure: bool = False
    """Skip the host-name check of the broker's certificate (tests only; the CA is still checked)."""
    cert: str | None = None
    """Broker side (``staffcall broker init``): the server certificate for the TLS listener."""
    key: str | None = None
    """Broker side: the server certificate's private key."""
    bind: str | None = None
    """Broker side: the address the plain listener binds to (None = every interface of the store network)."""
    websocket_port: int | None = None
    """Broker side: a WebSocket listener (e.g. 9001) for browsers such as the live board; None = off."""

    @property
    def tls(self) -> bool:
        return self.ca is not None

    @property
    def connect_port(self) -> int:
        """The port clients dial: the TLS listener when a CA is configured."""
        return self.tls_port if self.tls else self.port


class Database(msgspec.Struct, forbid_unknown_fields=True):
    path: str = "staffcall.db"
    min_free_mb: int = 200
    """Below this much free space on the event log's disk the hub warns (hub/health, board, log)."""


class Timers(msgspec.Struct, forbid_unknown_fields=True):
    ack_timeout_s: float = 30.0
    escalate_after_s: float = 90.0
    greet_timeout_s: float = 120.0
    unattended_after_s: float = 600.0
    default_eta_s: float = 60.0
    greeted_close_after_s: float = 1800.0
    """A greeted call nobody resolved is closed as resolved ("auto-closed") after this."""
    """The estimate used before the hub has seen any greetings in a zone."""


class Staff(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    role: str = ""
    zones: list[str] = []
    manager: bool = False
    pager: str | None = None
    """A classic pager behind the pager gateway, e.g. ``espa:1234`` or ``tap:5551234``."""
    pin_hash: str | None = None


class Device(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    kind: Literal["kiosk", "button", "qr"]
    zone: str
    label: str = ""
    button_pin: int | None = None
    """GPIO (BCM) number of a button station's push button, wired to ground (internal pull-up)."""
    led_pin: int | None = None
    """GPIO of a single-colour LED (through a series resistor to ground)."""
    rgb_led_pins: list[int] | None = None
    """Instead of ``led_pin``: an RGB LED's red, green and blue GPIOs (common cathode)."""
    buzzer_pin: int | None = None
    """GPIO of an active buzzer (optional)."""
    sounds: bool | None = None
    """This kiosk's or station's sound cues on or off; None = as ``[kiosk] sounds``."""
    gpio_host: str | None = None
    """Hostname of the Pi that drives this station when a store has several; None = any Pi."""


class Zone(msgspec.Struct, forbid_unknown_fields=True):
    """``[[zones]]``: what people read for a zone id (optional; an unnamed zone shows its id).

    Example::

        [[zones]]
        id = "paint"
        name = "Paint"                        # any language without its own name
        names = { sv = "Färg", en = "Paint" }
    """

    id: str
    name: str = ""
    names: dict[str, str] = {}
    """Per language code (as the catalogs: "sv", "en"), the name shown in that language."""


class KioskCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[kiosk]``: the customer's touch screen (see kiosk/)."""

    reasons: list[str] = []
    """Reason keys offered as buttons, e.g. ["product", "fitting_room", "pickup", "checkout"]."""
    staff_pin: str | None = None
    """PIN for the staff-only "I'm here" control; None means a long press."""
    fullscreen: bool = True
    languages: list[str] = []
    """Languages the customer can switch between, in order; empty = every catalog in kiosk/locales."""
    long_press_s: float = 2.0
    """How long staff hold the discreet "I'm here" control when there is no staff_pin."""
    feedback_timeout_s: float = 30.0
    """The feedback faces wait this long for a tap, then the kiosk returns to Welcome."""
    thanks_s: float = 5.0
    """How long "Thank you" (and other closing messages) stay on screen."""
    greeted_timeout_s: float = 600.0
    """A greeted call nobody resolves: back to Welcome after this (the hub closes it later)."""
    dpi: float | None = None
    """The screen's pixels per inch, for 15 mm touch targets; None = assumed from the resolution (kiosk/layout.py)."""
    locales_dir: str | None = None
    """A folder of extra or replacing catalogs (LANG.json), relative to the config file: a new language is one file."""
    sounds: bool = False
    """Short tones on kiosks and button stations: call sent, colleague on the way (broker/callpoint/cues.py)."""
    quiet_hours: list[str] = []
    """No tones between these two times, e.g. ["21:00", "07:00"]; [] = never quiet."""


class PagerCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[pager]``: the staff apps (see staff_pager/)."""

    require_pin: bool = False
    outcomes: list[str] = []
    """Offered after Resolved (app: buttons, terminal: a prompt) and recorded as the call's outcome; [] = not asked."""
    state_dir: str = "pager-state"
    """Where each colleague's unsent actions wait (one SQLite file each), relative to the config file's folder."""
    persistent_session: bool = True
    """The broker keeps pages for a pager that is briefly offline (MQTT clean_session = false)."""


class GatewayCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[pager_gateway]``: the serial bridge to classic radio pagers (see staff_pager/)."""

    port: str = "/dev/ttyUSB0"
    """A device path or any pyserial URL."""
    protocol: Literal["espa", "tap"] = "espa"
    """Staff whose ``pager`` starts with this prefix are paged through this gateway."""
    baudrate: int = 9600
    bytesize: int = 7
    parity: Literal["N", "E", "O"] = "E"
    stopbits: int = 2
    timeout_s: float = 3.0
    """How long to wait for each answer from the transmitter."""
    retries: int = 3
    """How many times a NAKed or unanswered step is repeated before the page is declined."""
    max_chars: int = 80
    """Longest text the pagers show; longer page texts are cut."""
    queue_limit: int = 20
    """Pages waiting while the port is down; beyond this a new page is declined at once."""
    outage_timeout_s: float = 30.0
    """A page that waited this long for the serial port is declined, so the hub re-routes it."""
    reconnect_max_s: float = 10.0
    """Longest pause between attempts to reopen a vanished port."""
    poll_interval_s: float = 0.0
    """ESPA only: poll the paging system this often when idle (0 = never; not all systems answer polls)."""
    espa_control_address: str = "1"
    espa_paging_address: str = "2"
    espa_beep: str = "1"
    espa_call_type: str = "3"
    espa_priority: str = "1"
    espa_priority_urgent: str = "2"
    """Used for escalations, repeat presses and alerts to managers."""
    tap_password: str = ""


class ButtonsCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[buttons]``: GPIO call-button stations (see hardware/)."""

    hold_s: float = 3.0
    """Holding a station's button this long while a call is open means "greeted here"."""
    bounce_s: float = 0.05
    """Edges closer than this to the previous accepted edge are contact bounce and ignored."""
    pin_factory: Literal["lgpio", "rpigpio", "pigpio", "native", "mock"] | None = None
    """gpiozero pin factory: "lgpio" on a Pi 4/5, "mock" for simulation; None = gpiozero's default."""
    outbox_dir: str = "outbox"
    """Where each station keeps its SQLite outbox (relative to the config file's folder)."""


class WebCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[web]``: the one web server on the hub machine (board, QR pages, staff app)."""

    host: str = "127.0.0.1"
    port: int = 8080
    password: str | None = None
    """Required when host is not loopback.  Guards the board; QR pages and /staff have their own keys."""
    qr_secret: str | None = None
    """Signs the QR codes (HMAC of the device id) and staff sessions; needed for QR pages and /staff."""
    public_url: str = ""
    """How phones reach this server, e.g. "http://192.168.1.10:8080"; printed into the QR codes."""
    qr_reasons: list[str] = []
    """Up to four reason keys on the QR page; empty = the first four of [kiosk] reasons."""
    call_every_s: float = 120.0
    """One phone may make at most one new call per this many seconds."""
    calls_per_ip: int = 10
    """New calls from one network address per call_every_s (phones behind one NAT share an address)."""
    free_text: bool = False
    """Let customers add a short note (at most 200 characters, shown to staff as plain text)."""
    outcomes: list[str] = []
    """Optional outcomes staff pick at Resolved, e.g. ["helped", "sale", "sent to another department"]."""
    staff_offline_after_s: float = 8.0
    """A signed-in phone whose live connection has been gone this long is reported offline."""
    outbox_dir: str = ""
    """Where the QR call points keep their outboxes; empty = the database's folder."""


WEBHOOK_EVENTS = (
    "call.opened",
    "call.acknowledged",
    "call.escalated",
    "call.greeted",
    "call.resolved",
    "call.cancelled",
    "call.unattended",
    "store.feedback",
)
"""What a webhook can be sent (docs/integrations.md, "Webhooks")."""
DEFAULT_WEBHOOK_EVENTS = (
    "call.opened",
    "call.escalated",
    "call.unattended",
    "call.greeted",
    "call.resolved",
    "store.feedback",
)


class Webhook(msgspec.Struct, forbid_unknown_fields=True):
    """``[[webhooks]]``: one receiver of signed webhooks or chat cards (broker/integrations/webhooks.py)."""

    id: str
    """Names this receiver in logs and in the outbox; keep it when the url changes, so nothing queued is lost."""
    enabled: bool = False
    url: str = ""
    """Where to POST, e.g. "https://crm.example.com/hooks/staffcall"."""
    events: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_WEBHOOK_EVENTS))
    """Which events to send (see WEBHOOK_EVENTS); the default leaves out call.acknowledged and call.cancelled."""
    format: Literal["standard", "teams", "slack"] = "standard"
    """``standard``: Standard Webhooks (JSON, signed); ``teams`` / ``slack``: a text card for a chat channel."""
    secret: str = ""
    """For "standard": "whsec_" + base64 of 24-64 random bytes; the receiver verifies each signature with it."""
    language: str = ""
    """Language of the cards' text ("sv", "en"); empty = [store] language."""


class WebhookDelivery(msgspec.Struct, forbid_unknown_fields=True):
    """``[webhook_delivery]``: how the webhooks' outbox retries (every receiver gets its own sender)."""

    outbox: str = "webhooks-outbox.db"
    """SQLite file (relative to the config file's folder) where every event waits until its receiver took it."""
    retry_first_s: float = 5.0
    """Wait before the first retry; each further wait doubles (with jitter) up to retry_max_s."""
    retry_max_s: float = 900.0
    give_up_after_s: float = 259200.0
    """An event its receiver refused this long (at least 24 h; 3 days by default) is dropped and logged."""
    timeout_s: float = 10.0
    """How long one POST may take before it counts as failed."""


class HomeAssistantCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[homeassistant]``: MQTT discovery, so call points, the store and colleagues appear in Home Assistant."""

    enabled: bool = False
    discovery_prefix: str = "homeassistant"
    """Home Assistant's discovery prefix (its MQTT integration's setting; "homeassistant" unless changed)."""
    state_every_s: float = 5.0
    """A call point's waiting seconds are republished at most this often while a call waits."""
    published_file: str = "homeassistant-published.json"
    """The retained topics published last time, relative to the config file: removed entities are cleared."""


class MetricsCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[metrics]``: Prometheus figures on the web server's ``/metrics`` (docs/integrations.md)."""

    enabled: bool = False
    """Serve /metrics on ``staffcall web`` and ``staffcall board``; behind [web] password when one is set."""
    wait_buckets_s: list[float] = msgspec.field(default_factory=lambda: [5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600])
    """Histogram buckets (seconds) for time-to-ack and time-to-greet; put [store] target_greet_s among them."""


class AnnounceCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[announce]``: spoken announcements over the hub machine's speakers (docs/integrations.md).

    A call that reaches tier 3, or is closed unattended, is said after a chime, so a colleague
    who has no pager at hand still hears that a customer waits.
    """

    enabled: bool = False
    language: str = ""
    """Language of the announcements (a catalog code, "sv" or "en"); empty = [store] language."""
    voice: str = ""
    """An espeak-ng voice (espeak-ng --voices), e.g. "sv" or "en-gb"; empty = the language's own voice."""
    speed_wpm: int = 150
    """Speaking rate in words per minute: slower carries better over a store's speakers."""
    repeat_s: float = 120.0
    """At most one announcement per call point per this many seconds."""
    quiet_from: str = ""
    """Local time ("HH:MM", store timezone) from which nothing is announced; empty = never quiet."""
    quiet_until: str = ""
    """Local time ("HH:MM") when announcing starts again; may be past midnight, e.g. 21:00 to 07:00."""
    player: list[str] = msgspec.field(default_factory=lambda: ["aplay", "-q"])
    """The command that plays one WAV file (its path is added last); [] = play nothing (with record_dir)."""
    record_dir: str = ""
    """A folder that keeps every announcement as a WAV file, to check what was said; empty = none."""
    stale_after_s: float = 60.0
    """An announcement not yet said this long after the hub's state is dropped: it would be old news."""


class ChainCfg(msgspec.Struct, forbid_unknown_fields=True):
    """``[chain]``: this store as one of a chain's (docs/chain.md); off unless ``enabled``.

    ``staffcall broker init`` adds a bridge from the store's Mosquitto to the chain's cluster; the
    hub publishes each closed call and a periodic status on ``chain/<store>/...``; the bridge's
    persistent session queues them on the store's disk while the WAN is down.
    """

    enabled: bool = False
    host: str = ""
    """The chain cluster's MQTT address as the store sees it, e.g. "chain.example.com"."""
    port: int = 1883
    """Its MQTT port (NATS' ``mqtt`` listener; 8883 with TLS is usual over the internet)."""
    addresses: list[str] = []
    """More ``host:port`` of the cluster's other nodes: the bridge fails over to them in turn."""
    username: str = ""
    """The store's own chain login (head office gives one per store; it may publish only as this store)."""
    password: str = ""
    credentials: str | None = None
    """Instead of username/password: a TOML file with ``username`` and ``password`` (mode 0600)."""
    region: str = ""
    """The store's region in chain reports, e.g. "north"."""
    share_text: bool = False
    """Send customers' free text to the chain; off: it never leaves the store."""
    ca: str | None = None
    """CA certificate that signed the chain's; when set the bridge uses TLS."""
    insecure: bool = False
    """Skip the host-name check of the chain's certificate (tests only; the CA is still checked)."""
    max_queued_messages: int = 120_000
    """Records the bridge keeps while the WAN is down: a week of a busy store (15,000 calls a day) and status."""
    max_queued_bytes: int = 64 * 2**20
    """The same cap in bytes (a record is ~400 bytes); past either cap Mosquitto drops the newest."""
    restart_timeout_s: int = 10
    """Seconds between the bridge's reconnect attempts while the chain is away."""
    status_every_s: float = 30.0
    """How often the hub publishes the store's status for the chain board."""

    def login(self) -> tuple[str, str]:
        """(username, password), from ``credentials`` when set."""
        if self.credentials:
            try:
                raw = tomllib.loads(Path(self.credentials).read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"[chain] credentials: cannot read {self.credentials} ({exc})") from None
            user, password = raw.get("username"), raw.get("password")
            if not isinstance(user, str) or not isinstance(password, str):
                raise ConfigError(f'[chain] credentials: {self.credentials} needs username = "..." and password')
            return user, password
        return self.username, self.password


class Config(msgspec.Struct, forbid_unknown_fields=True, dict=True):
    store: Store
    broker: BrokerCfg = msgspec.field(default_factory=BrokerCfg)
    database: Database = msgspec.field(default_factory=Database)
    timers: Timers = msgspec.field(default_factory=Timers)
    staff: list[Staff] = []
    devices: list[Device] = []
    zones: list[Zone] = []
    kiosk: KioskCfg = msgspec.field(default_factory=KioskCfg)
    pager: PagerCfg = msgspec.field(default_factory=PagerCfg)
    pager_gateway: GatewayCfg = msgspec.field(default_factory=GatewayCfg)
    buttons: ButtonsCfg = msgspec.field(default_factory=ButtonsCfg)
    web: WebCfg = msgspec.field(default_factory=WebCfg)
    webhooks: list[Webhook] = []
    webhook_delivery: WebhookDelivery = msgspec.field(default_factory=WebhookDelivery)
    homeassistant: HomeAssistantCfg = msgspec.field(default_factory=HomeAssistantCfg)
    metrics: MetricsCfg = msgspec.field(default_factory=MetricsCfg)
    announce: AnnounceCfg = msgspec.field(default_factory=AnnounceCfg)
    chain: ChainCfg = msgspec.field(default_factory=ChainCfg)

    @cached_property
    def staff_by_id(self) -> dict[str, Staff]:
        return {s.id: s for s in self.staff}

    @cached_property
    def devices_by_id(self) -> dict[str, Device]:
        return {d.id: d for d in self.devices}

    @cached_property
    def zones_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}

    def zone_name(self, zone_id: str, lang: str) -> str:
        """What a person reads for ``zone_id`` in ``lang``: its name there, its ``name``, else the id itself.

        >>> cfg = parse_config('[store]\\nid = "s1"\\nname = "S"\\n[[zones]]\\nid = "paint"\\nnames = {sv = "Färg"}\\n')
        >>> cfg.zone_name("paint", "sv"), cfg.zone_name("paint", "en"), cfg.zone_name("toys", "sv")
        ('Färg', 'paint', 'toys')
        """
        zone = self.zones_by_id.get(zone_id)
        if zone is None:
            return zone_id
        return zone.names.get(lang) or zone.name or zone_id

    def with_base(self, base: Path) -> Config:
        """Resolve the database, credentials and certificate paths against the config file's folder."""
        db = Path(self.database.path)
        if not db.is_absolute() and self.database.path != ":memory:":
            self.database.path = str(base / db)
        if not Path(self.buttons.outbox_dir).is_absolute():
            self.buttons.outbox_dir = str(base / self.buttons.outbox_dir)
        if self.kiosk.locales_dir is not None and not Path(self.kiosk.locales_dir).is_absolute():
            self.kiosk.locales_dir = str(base / self.kiosk.locales_dir)
        if not Path(self.webhook_delivery.outbox).is_absolute():
            self.webhook_delivery.outbox = str(base / self.webhook_delivery.outbox)
        if not Path(self.pager.state_dir).is_absolute():
            self.pager.state_dir = str(base / self.pager.state_dir)
        if not Path(self.homeassistant.published_file).is_absolute():
            self.homeassistant.published_file = str(base / self.homeassistant.published_file)
        if self.announce.record_dir and not Path(self.announce.record_dir).is_absolute():
            self.announce.record_dir = str(base / self.announce.record_dir)
        for key in ("credentials", "ca"):
            value = getattr(self.chain, key)
            if value is not None and not Path(value).is_absolute():
                setattr(self.chain, key, str(base / value))
        b = self.broker
        for key in ("credentials", "ca", "cert", "key"):
            value = getattr(b, key)
            if value is not None and not Path(value).is_absolute():
                setattr(b, key, str(base / value))
        return self


def _locate(path: str) -> str:
    """Turn msgspec's ``$.timers.ack_timeout_s`` into ``[timers] ack_timeout_s``."""
    m = re.match(r"\$\.(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", path)
    if not m:
        return path
    section, index, key = m.groups()
    where = f"[[{section}]] #{int(index) + 1}" if index is not None else f"[{section}]"
    return f"{where} {key}" if key else where


def parse_config(text: str, source: str = "config") -> Config:
    """Parse and validate TOML text; raise ConfigError naming the key and the fix."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc}); check quotes and brackets there") from None
    try:
        cfg = msgspec.convert(raw, Config, strict=True)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        m = re.search(r" - at `([^`]+)`", msg)
        if m:
            what = msg[: m.start()]
            where = _locate(m.group(1))
            if "missing required field" in what:
                raise ConfigError(f"{source}: {where}: {what}; add it (see staffcall.example.toml)") from None
            if what.startswith("Object contains unknown field"):
                raise ConfigError(f"{source}: {where}: {what}; remove it or check its spelling") from None
            raise ConfigError(f"{source}: {where}: {what}; set it to a value of that type") from None
        raise ConfigError(f"{source}: {msg}") from None
    _check(cfg, source)
    return cfg


def _check(cfg: Config, source: str) -> None:
    def fail(where: str, why: str) -> None:
        raise ConfigError(f"{source}: {where}: {why}")

    if not valid_id(cfg.store.id):
        fail("[store] id", f"{cfg.store.id!r} must match {ID_PATTERN} (letters, digits, . _ : -)")
    if cfg.store.target_greet_s <= 0:
        fail("[store] target_greet_s", "must be a positive number of seconds, e.g. 60")
    if not 0.5 <= cfg.store.eta_kept_share <= 0.99:
        fail("[store] eta_kept_share", "must be a share between 0.5 and 0.99, e.g. 0.85")
    t = cfg.timers
    for key in (
        "ack_timeout_s",
        "escalate_after_s",
        "greet_timeout_s",
        "unattended_after_s",
        "default_eta_s",
        "greeted_close_after_s",
    ):
        if getattr(t, key) <= 0:
            fail(f"[timers] {key}", "must be a positive number of seconds")
    if not t.ack_timeout_s < t.escalate_after_s < t.unattended_after_s:
        fail(
            "[timers]",
            "need ack_timeout_s < escalate_after_s < unattended_after_s "
            f"(now {t.ack_timeout_s} / {t.escalate_after_s} / {t.unattended_after_s})",
        )
    _check_broker(cfg, fail)
    for kind, ids in (("staff", [s.id for s in cfg.staff]), ("devices", [d.id for d in cfg.devices])):
        seen: set[str] = set()
        for i, item_id in enumerate(ids, 1):
            if not valid_id(item_id):
                fail(f"[[{kind}]] #{i} id", f"{item_id!r} must match {ID_PATTERN}")
            if item_id in seen:
                fail(f"[[{kind}]] #{i} id", f"{item_id!r} is used twice; give each entry its own id")
            seen.add(item_id)
    _check_zones(cfg, fail)
    _check_gateway(cfg.pager_gateway, fail)
    k = cfg.kiosk
    for key in ("long_press_s", "feedback_timeout_s", "thanks_s", "greeted_timeout_s"):
        if getattr(k, key) <= 0:
            fail(f"[kiosk] {key}", "must be a positive number of seconds")
    if k.dpi is not None and not 50 <= k.dpi <= 600:
        fail("[kiosk] dpi", f"{k.dpi!r} must be the screen's pixels per inch, 50-600 (the Pi 7\" display is 132)")
    if k.staff_pin is not None and not re.match(r"^[0-9]{3,8}$", k.staff_pin):
        fail("[kiosk] staff_pin", f'{k.staff_pin!r} must be 3-8 digits (the kiosk shows a number pad), e.g. "4711"')
    _check_web(cfg, fail)
    for i, staff in enumerate(cfg.staff, 1):
        if staff.pager is not None and not re.match(r"^(espa|tap):\S+$", staff.pager):
            fail(f"[[staff]] #{i} pager", f"{staff.pager!r} must look like 'espa:1234' or 'tap:5551234'")
    _check_buttons(cfg, fail)
    _check_pager(cfg, fail)
    _check_webhooks(cfg, fail)
    _check_homeassistant(cfg.homeassistant, fail)
    _check_metrics(cfg.metrics, fail)
    _check_announce(cfg.announce, fail)
    _check_chain(cfg.chain, cfg.store.id, fail)


def _check_homeassistant(h: HomeAssistantCfg, fail) -> None:
    # The prefix goes into topics and into a line of the broker's ACL: plain topic levels only.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,3}", h.discovery_prefix):
        fail(
            "[homeassistant] discovery_prefix",
            f"{h.discovery_prefix[:70]!r} must be topic levels of A-Z a-z 0-9 _ - joined by '/', "
            'e.g. "homeassistant" (Home Assistant\'s default)',
        )
    if h.discovery_prefix.split("/")[0] == "staffcall":
        fail("[homeassistant] discovery_prefix", "must not start with 'staffcall' (the store's own topics)")
    if not 1 <= h.state_every_s <= 60:
        fail("[homeassistant] state_every_s", f"{h.state_every_s} must be 1-60 seconds, e.g. 5")
    if not h.published_file.strip():
        fail("[homeassistant] published_file", 'must name a file, e.g. "homeassistant-published.json"')


def _check_zones(cfg: Config, fail) -> None:
    seen: set[str] = set()
    for i, zone in enumerate(cfg.zones, 1):
        where = f"[[zones]] #{i}"
        if not valid_id(zone.id):
            fail(f"{where} id", f"{zone.id!r} must match {ID_PATTERN}, as in [[devices]] zone")
        if zone.id in seen:
            fail(f"{where} id", f"{zone.id!r} is named twice; keep one [[zones]] entry per zone")
        seen.add(zone.id)
        for lang in zone.names:
            if not re.fullmatch(r"[a-z]{2}", lang):
                fail(f"{where} names", f'{lang!r}: not a language code, use two letters: names = {{sv = "Färg"}}')
        named = ([("name", zone.name)] if zone.name else []) + [(f"names.{k}", v) for k, v in zone.names.items()]
        for key, text in named:
            if not (len(text) <= 40 and text.isprintable() and text.strip()):
                fail(f"{where} {key}", f'{text[:50]!r} must be 1-40 printable characters, e.g. "Paint"')


def _check_announce(a: AnnounceCfg, fail) -> None:
    where = "[announce]"
    if a.language and not re.fullmatch(r"[a-z]{2}", a.language):
        fail(f"{where} language", f'{a.language[:20]!r} must be a language code, e.g. "sv"; "" = [store]')
    if a.voice and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_+/-]{0,39}", a.voice):
        fail(f"{where} voice", f'{a.voice[:50]!r} must be an espeak-ng voice name (espeak-ng --voices), e.g. "sv"')
    if not 80 <= a.speed_wpm <= 450:
        fail(f"{where} speed_wpm", f"{a.speed_wpm} must be 80-450 words per minute; 150 is usual")
    for key in ("repeat_s", "stale_after_s"):
        if getattr(a, key) <= 0:
            fail(f"{where} {key}", "must be a positive number of seconds")
    for key in ("quiet_from", "quiet_until"):
        value = getattr(a, key)
        if value and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            fail(f"{where} {key}", f'{value[:20]!r} must be a local time "HH:MM", e.g. "21:00"')
    if bool(a.quiet_from) != bool(a.quiet_until):
        fail(f"{where} quiet_from", "quiet_from and quiet_until go together: set both (or neither, never quiet)")
    if a.player and not (a.player[0].strip() and all(arg.isprintable() for arg in a.player)):
        fail(f"{where} player", 'must start with a program, e.g. ["aplay", "-q"] or ["paplay"]')
    if a.enabled and not a.player and not a.record_dir:
        fail(f"{where} player", 'nothing would be heard or kept: set player = ["aplay", "-q"], or record_dir')


def _check_chain(c: ChainCfg, store: str, fail) -> None:
    where = "[chain]"
    if c.enabled and "." in store:
        # The cluster maps MQTT topic levels to NATS subject tokens, where "." separates tokens.
        fail("[store] id", f"{store!r}: a store in a chain needs an id without '.', e.g. {store.replace('.', '-')!r}")
    if c.region and not valid_id(c.region):
        fail(f"{where} region", f'{c.region[:40]!r} must match {ID_PATTERN}, e.g. "north"')
    if not 1 <= c.port <= 65535:
        fail(f"{where} port", f"{c.port} is not a TCP port; use 1883 (or 8883 with TLS)")
    for address in c.addresses:
        if not re.fullmatch(r"[A-Za-z0-9.-]+:[0-9]{1,5}", address):
            fail(f"{where} addresses", f'{address[:60]!r} must look like "chain-2.example.com:1883"')
    if c.max_queued_messages < 1000 or c.max_queued_bytes < 2**20:
        fail(f"{where} max_queued_messages", "keep at least 1000 messages and 1 MiB queued (a week: 120000, 64 MiB)")
    if not 1 <= c.restart_timeout_s <= 3600:
        fail(f"{where} restart_timeout_s", f"{c.restart_timeout_s} must be 1-3600 seconds, e.g. 10")
    if not 5 <= c.status_every_s <= 120:
        fail(f"{where} status_every_s", f"{c.status_every_s} must be 5-120 seconds (the board says offline after 120)")
    if c.credentials and c.username:
        fail(f"{where} username", "use either credentials (a file) or username/password, not both")
    if not c.enabled:
        return
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", c.host):
        fail(f"{where} host", f'{c.host[:60]!r} must be the chain cluster\'s host name, e.g. "chain.example.com"')
    if not c.credentials and not (c.username and c.password):
        fail(f"{where} username", "the store needs its chain login: username and password, or credentials")
    for value in (c.username, c.password):
        if value and not (value.isprintable() and value.strip() == value and " " not in value):
            fail(f"{where} username", "login and password must be printable without spaces (they go into the bridge)")


def _check_pager(cfg: Config, fail) -> None:
    seen: set[str] = set()
    for n, outcome in enumerate(cfg.pager.outcomes, 1):
        if not outcome.strip() or len(outcome) > 64 or not outcome.isprintable():
            fail(f"[pager] outcomes #{n}", f'{outcome!r} must be 1-64 printable characters, e.g. "helped"')
        if outcome in seen:
            fail(f"[pager] outcomes #{n}", f"{outcome!r} is listed twice; list each outcome once")
        seen.add(outcome)
    if not cfg.pager.state_dir:
        fail("[pager] state_dir", 'must name a folder, e.g. "pager-state"')


def _check_webhooks(cfg: Config, fail) -> None:
    seen: set[str] = set()
    for i, hook in enumerate(cfg.webhooks, 1):
        where = f"[[webhooks]] #{i}"
        if not valid_id(hook.id):
            fail(f"{where} id", f'{hook.id!r} must match {ID_PATTERN}, e.g. "crm"')
        if hook.id in seen:
            fail(f"{where} id", f"{hook.id!r} is used twice; give each receiver its own id")
        seen.add(hook.id)
        if not hook.enabled:
            continue
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", hook.url):
            fail(f"{where} url", f"{hook.url[:80]!r} must look like 'https://crm.example.com/hooks/staffcall'")
        for event in hook.events:
            if event not in WEBHOOK_EVENTS:
                fail(f"{where} events", f"{event[:40]!r} is not an event; choose from {', '.join(WEBHOOK_EVENTS)}")
        if hook.format == "standard" and not _webhook_secret_ok(hook.secret):
            fail(
                f"{where} secret",
                "must be 'whsec_' + base64 of 24-64 random bytes, e.g. the output of: python3 -c "
                "'import base64, secrets; print(\"whsec_\" + base64.b64encode(secrets.token_bytes(32)).decode())'",
            )
    d = cfg.webhook_delivery
    if not d.outbox:
        fail("[webhook_delivery] outbox", 'must name a file, e.g. "webhooks-outbox.db"')
    for key in ("retry_first_s", "retry_max_s", "timeout_s"):
        if getattr(d, key) <= 0:
            fail(f"[webhook_delivery] {key}", "must be a positive number of seconds")
    if d.retry_max_s < d.retry_first_s:
        fail("[webhook_delivery] retry_max_s", f"must be at least retry_first_s ({d.retry_first_s})")
    if d.give_up_after_s < 86400:
        fail(
            "[webhook_delivery] give_up_after_s",
            "must be at least 86400 (24 h), so a receiver down for a day loses nothing",
        )


def _webhook_secret_ok(secret: str) -> bool:
    if not secret.startswith("whsec_"):
        return False
    try:
        key = base64.b64decode(secret[6:], validate=True)
    except ValueError:
        return False
    return 24 <= len(key) <= 64


GPIO_PINS = range(2, 28)
"""BCM GPIO numbers on the 40-pin header (0 and 1 are reserved for the HAT EEPROM)."""


def _check_buttons(cfg: Config, fail) -> None:
    """Station wiring: pins on the header, each used once per Pi, an LED only with a button."""
    b = cfg.buttons
    if b.hold_s <= 0:
        fail("[buttons] hold_s", "must be a positive number of seconds, e.g. 3")
    if not 0 <= b.bounce_s < 1:
        fail("[buttons] bounce_s", "must be 0 or more and under 1 second, e.g. 0.05")
    used: list[tuple[str | None, int, str]] = []
    for i, dev in enumerate(cfg.devices, 1):
        pins = {"button_pin": dev.button_pin, "led_pin": dev.led_pin, "buzzer_pin": dev.buzzer_pin}
        if dev.rgb_led_pins is not None:
            if len(dev.rgb_led_pins) != 3:
                fail(f"[[devices]] #{i} rgb_led_pins", "must list three GPIOs: [red, green, blue]")
            if dev.led_pin is not None:
                fail(f"[[devices]] #{i} rgb_led_pins", "set either led_pin or rgb_led_pins, not both")
            pins.update({f"rgb_led_pins[{n}]": pin for n, pin in enumerate(dev.rgb_led_pins)})
        named = {key: pin for key, pin in pins.items() if pin is not None}
        if named and dev.kind != "button":
            fail(f"[[devices]] #{i} {next(iter(named))}", f"only devices of kind 'button' have pins, not {dev.kind!r}")
        if named and dev.button_pin is None:
            fail(
                f"[[devices]] #{i} button_pin", "a station with an LED or buzzer needs its button: add button_pin = 17"
            )
        for key, pin in named.items():
            if pin not in GPIO_PINS:
                fail(f"[[devices]] #{i} {key}", f"GPIO {pin} is not on the header; use a BCM number from 2 to 27")
            # A station without gpio_host runs on every Pi, so it clashes with any host's pin.
            for host, other_pin, other in used:
                if other_pin == pin and (host is None or dev.gpio_host is None or host == dev.gpio_host):
                    fail(f"[[devices]] #{i} {key}", f"GPIO {pin} is already used by {other}; give each its own pin")
            used.append((dev.gpio_host, pin, f"{dev.id} {key}"))


def _check_broker(cfg: Config, fail) -> None:
    b = cfg.broker
    for key, usual in (("port", 1883), ("tls_port", 8883), ("websocket_port", 9001)):
        value = getattr(b, key)
        if value is not None and not 1 <= value <= 65535:
            fail(f"[broker] {key}", f"{value} is not a TCP port; use {usual}")
    if (b.cert is None) != (b.key is None):
        fail("[broker] cert", "cert and key go together: set both (or neither, for no TLS listener)")
    if b.credentials is not None and b.username is not None:
        fail("[broker] username", "use either credentials (one login per part) or username/password, not both")
    if b.credentials is not None:
        # Logins are the ids themselves, so a colleague and a device may not share one.
        devices = {d.id for d in cfg.devices}
        for i, staff in enumerate(cfg.staff, 1):
            if staff.id in devices:
                fail(
                    f"[[staff]] #{i} id",
                    f"{staff.id!r} is also a device id; with [broker] credentials every login must be unique, "
                    "so rename one of them",
                )


def _check_web(cfg: Config, fail) -> None:
    w = cfg.web
    if w.qr_secret is not None and len(w.qr_secret) < 16:
        fail(
            "[web] qr_secret",
            "use at least 16 characters, e.g. the output of: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'",
        )
    if w.public_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", w.public_url):
        fail("[web] public_url", f"{w.public_url!r} must look like 'http://192.168.1.10:8080'")
    if len(w.qr_reasons) > 4:
        fail("[web] qr_reasons", f"{len(w.qr_reasons)} reasons; a phone screen shows at most 4")
    for key in ("call_every_s", "staff_offline_after_s"):
        if getattr(w, key) <= 0:
            fail(f"[web] {key}", "must be a positive number of seconds")
    if w.calls_per_ip < 1:
        fail("[web] calls_per_ip", "must be at least 1")
    for outcome in w.outcomes:
        if not (0 < len(outcome) <= 64 and outcome.isprintable()):
            fail("[web] outcomes", f"{outcome[:70]!r} must be 1-64 printable characters")


def _check_metrics(m: MetricsCfg, fail) -> None:
    b = m.wait_buckets_s
    rising = all(x < y for x, y in zip(b, b[1:], strict=False))
    if not (1 <= len(b) <= 30 and rising and all(0 < x < math.inf for x in b)):
        fail(
            "[metrics] wait_buckets_s",
            f"{b[:31]!r} must be 1-30 positive seconds in rising order, e.g. [15, 30, 60, 120, 300]",
        )


def _check_gateway(g: GatewayCfg, fail) -> None:
    where = "[pager_gateway]"
    if g.bytesize not in (5, 6, 7, 8):
        fail(f"{where} bytesize", f"{g.bytesize} is not 5-8; ESPA 4.4.4 and TAP use 7")
    if g.stopbits not in (1, 2):
        fail(f"{where} stopbits", f"{g.stopbits} must be 1 or 2")
    if g.baudrate <= 0:
        fail(f"{where} baudrate", "must be positive, e.g. 9600")
    for key in ("timeout_s", "outage_timeout_s", "reconnect_max_s"):
        if getattr(g, key) <= 0:
            fail(f"{where} {key}", "must be a positive number of seconds")
    if g.poll_interval_s < 0:
        fail(f"{where} poll_interval_s", "must be 0 (off) or a positive number of seconds")
    if not 0 <= g.retries <= 10:
        fail(f"{where} retries", f"{g.retries} must be 0-10; 3 is usual")
    if not 1 <= g.max_chars <= 250:
        fail(f"{where} max_chars", f"{g.max_chars} must be 1-250 (check your pagers' display)")
    if g.queue_limit < 0:
        fail(f"{where} queue_limit", "must be 0 or more")
    for key in ("espa_control_address", "espa_paging_address"):
        if not re.fullmatch(r"[0-9]", getattr(g, key)):
            fail(f"{where} {key}", f"{getattr(g, key)!r} must be one digit '0'-'9' (usually '1' and '2')")
    for key in ("espa_beep", "espa_call_type", "espa_priority", "espa_priority_urgent", "tap_password"):
        value = getattr(g, key)
        if not (value.isascii() and value.isprintable() and len(value) <= 16):
            fail(f"{where} {key}", f"{value!r} must be up to 16 printable ASCII characters")


def load_config(path: str | Path) -> Config:
    """Read, validate and return the config at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: no such file; copy staffcall.example.toml to {p} and edit it, or run 'staffcall demo'"
        ) from None
    return parse_config(text, str(p)).with_base(p.resolve().parent)
