"""The store's Mosquitto setup, generated from the staffcall config: conf, ACL, hashed logins.

``render_conf`` and ``render_acl`` are pure (config in, text out) so tests read them as
text; ``write_setup`` writes the folder and hashes the passwords with Mosquitto's own
``mosquitto_passwd -U`` (one run for the whole file), so the hash format is always the one
the installed broker reads.

Least privilege, one ``user`` block per login (see docs/security.md):

- a device (kiosk, button, QR page) publishes only its own ``call/{id}``, ``call/{id}/+`` and
  ``device/{id}/status``, and reads ``state/+``;
- a colleague publishes only ``staff/{id}/+`` and reads its own ``page``, ``wear`` and ``shift``,
  every ``state/+`` and the colleagues' ``staff/+/presence``;
- the web server writes ``staff/{id}/+`` for colleagues with a PIN and only ``staff/{id}/presence``
  for those with a radio pager and no PIN (a manager sets it in the staff web app);
- the board only reads; the gateway reads pages and declines for the colleagues with radio pagers;
- the hub reads and writes everything under its store; nobody logs in anonymously.

Example::

    setup = write_setup(load_config("staffcall.toml"), Path("/etc/staffcall/broker"))
    # then: mosquitto -c /etc/staffcall/broker/mosquitto.conf   (or: staffcall broker run)
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from broker.contract import credentials
from broker.contract.chain import CALLS_TOPIC
from broker.contract.config import Config, ConfigError
from broker.contract.protocol import MAX_PAYLOAD_BYTES, PREFIX
from broker.mosquitto.runner import Broker

MAX_PACKET_BYTES = 16 * MAX_PAYLOAD_BYTES  # 64 KiB
"""The largest MQTT packet the broker takes; a client that sends a bigger one is disconnected and its
packet is dropped before it reaches anyone.  16x the protocol's MAX_PAYLOAD_BYTES, so every valid message
(payload, topic and header) fits with room to spare, yet one hostile 2 MiB publish can no longer be
copied into the queue of every subscriber (100 000 queued messages each) on a Pi with 1-4 GB."""

AUTOSAVE_CHANGES = 1
"""Save the persistence file after this many changes (``autosave_on_changes``).  Mosquitto counts a
persistent client's connect, a SUBSCRIBE, an UNSUBSCRIBE and a completed outgoing QoS 1 delivery as a
change.  With 1, the hub's persistent session and its subscriptions are on disk as soon as it has
subscribed, so a broker killed right after the hub came up still queues the calls published before the
hub is back (issue #13).  The cost (one rewrite of a small file per change) is in docs/performance.md."""

SERVICE_ACCOUNT = "mosquitto"
"""The account Mosquitto switches to when started as root and the conf names none (Debian creates it)."""


def render_acl(cfg: Config) -> str:
    root = f"{PREFIX}/{cfg.store.id}"
    blocks: list[list[str]] = []

    def block(identity: str, comment: str, rules: list[tuple[str, str]]) -> None:
        lines = [f"# {comment}", f"user {credentials.username(identity)}"]
        lines += [f"topic {access} {root}/{topic}" for access, topic in rules]
        blocks.append(lines)

    block("hub", "the hub: everything under its store", [("readwrite", "#")])
    if cfg.chain.enabled:  # the records the bridge carries to the chain (docs/chain.md)
        blocks[-1].append(f"topic write {chain_root(cfg)}/#")
    block(
        "board",
        "the live board: reads only",
        [("read", t) for t in ("state/+", "staff/+/presence", "device/+/status", "summary", "hub/status", "hub/health")]
        + ([("read", "page/+"), ("read", "integrations/status")] if cfg.metrics.enabled else []),
        # [metrics] counts pages by tier and shows the webhooks' backlog
    )
    block(
        "gateway",
        "the pager gateway: reads pages, declines for colleagues with radio pagers",
        [("read", "page/+"), ("readwrite", "gateway/status")]
        + [("write", f"staff/{s.id}/decline") for s in cfg.staff if s.pager],
    )
    block("monitor", "read-only view of everything (demo watcher, an engineer's mosquitto_sub)", [("read", "#")])
    block(
        "integrations",
        "the store's integrations (announcements, webhooks, Home Assistant): read what the protocol tells",
        [
            ("read", t)
            for t in ("state/+", "page/+", "summary", "hub/status", "hub/health", "staff/+/presence", "device/+/status")
        ]
        + [("write", "integrations/status")],
    )
    blocks[-1] += _homeassistant_acl(cfg)
    if cfg.homeassistant.enabled:
        block(
            "homeassistant",
            "Home Assistant: reads its discovery messages and what the entities show",
            [("read", t) for t in ("hub/status", "summary", "staff/+/presence", "ha/#")],
        )
        blocks[-1] += [
            f"topic read {cfg.homeassistant.discovery_prefix}/#",
            f"topic readwrite {cfg.homeassistant.discovery_prefix}/status",
        ]
    web_staff = [s.id for s in cfg.staff if s.pin_hash]  # only colleagues who can sign in to the staff web app
    radio_only = [s.id for s in cfg.staff if s.pager and not s.pin_hash]  # a manager sets their presence there
    block(
        "phones",
        "the web server: acts for colleagues signed in to the staff web app, sets radio pagers' presence; "
        "is every QR call point (one connection for all) and reports bad QR keys",
        [("read", t) for t in ("page/+", "state/+", "shift/+", "staff/+/presence", "summary", "hub/status")]
        + [("write", f"staff/{s}/+") for s in web_staff]
        + [("write", f"staff/{s}/presence") for s in radio_only]
        + [("write", f"call/{d.id}/bad_key") for d in cfg.devices if d.kind == "qr"]
        + [("write", f"call/{d.id}") for d in cfg.devices if d.kind == "qr"]  # it is every QR call point
        + [("write", f"call/{d.id}/+") for d in cfg.devices if d.kind == "qr"]
        + [("readwrite", f"device/{d.id}/status") for d in cfg.devices if d.kind == "qr"]
        + [("write", "call/invalid-device/bad_key")],
    )
    for d in cfg.devices:
        block(
            f"device:{d.id}",
            f"{d.kind} {d.id}: its own calls and status; reads call states",
            [
                ("write", f"call/{d.id}"),
                ("write", f"call/{d.id}/+"),
                ("readwrite", f"device/{d.id}/status"),
                ("read", "state/+"),
                ("read", "hub/status"),
            ],
        )
    for s in cfg.staff:
        block(
            f"staff:{s.id}",
            f"colleague {s.id}: acts as itself only; reads its own pages",
            [
                ("write", f"staff/{s.id}/+"),
                ("read", f"page/{s.id}"),
                ("read", f"wear/{s.id}"),
                ("read", f"shift/{s.id}"),
                ("read", "state/+"),
                ("read", "staff/+/presence"),
                ("read", "summary"),
                ("read", "hub/status"),
                ("read", "hub/health"),
            ],
        )
    header = [
        f"# Mosquitto ACL for staffcall store {cfg.store.id!r}, written by `staffcall broker init`.",
        "# Regenerate it from the config instead of editing it by hand.",
    ]
    return "\n\n".join(["\n".join(header), *("\n".join(b) for b in blocks)]) + "\n"


def _homeassistant_acl(cfg: Config) -> list[str]:
    """The integrations' writes for ``[homeassistant]``: the call points' states, and the discovery
    messages of this store only (outside ``staffcall/{store}/``, so written out in full here)."""
    if not cfg.homeassistant.enabled:
        return []
    root = f"{PREFIX}/{cfg.store.id}"
    node = "staffcall_" + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in cfg.store.id)
    prefix = cfg.homeassistant.discovery_prefix
    return [
        f"topic write {root}/ha/device/+",
        f"topic write {root}/ha/store",
        f"topic write {prefix}/binary_sensor/{node}/+/config",
        f"topic write {prefix}/sensor/{node}/+/config",
    ]


def render_conf(
    cfg: Config, folder: Path, data_dir: Path, log_file: Path | None = None, run_as: str | None = None
) -> str:
    """mosquitto.conf: no anonymous logins, the plain listener, and the TLS / WebSocket ones if configured.

    ``run_as``: the account Mosquitto switches to when started as root (its default is ``mosquitto``,
    which must then be able to read passwd, acl and the key)."""
    b = cfg.broker
    bind = f" {b.bind}" if b.bind else ""
    lines = [
        f"# Mosquitto for staffcall store {cfg.store.id!r}, written by `staffcall broker init`.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {folder / 'passwd'}",
        f"acl_file {folder / 'acl'}",
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_on_changes true",
        f"autosave_interval {AUTOSAVE_CHANGES}",
        f"max_queued_messages {max(100000, cfg.chain.max_queued_messages if cfg.chain.enabled else 0)}",
        *([f"max_queued_bytes {cfg.chain.max_queued_bytes}"] if cfg.chain.enabled else []),
        "max_inflight_messages 100",
        f"max_packet_size {MAX_PACKET_BYTES}",
        # Nagle off: a page is a small publish right after a PUBACK; with Nagle on it waits for the
        # client's delayed ACK, and call -> page grows from ~1 ms to 15-40 ms.
        "set_tcp_nodelay true",
        f"log_dest file {log_file}" if log_file else "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        *([f"user {run_as}"] if run_as else []),
        "",
        f"listener {b.port}{bind}",
        "protocol mqtt",
    ]
    if b.cert and b.key:
        lines += ["", f"listener {b.tls_port}{bind}", "protocol mqtt", f"certfile {b.cert}", f"keyfile {b.key}"]
        if b.ca:
            lines.append(f"cafile {b.ca}")
    if b.websocket_port:
        lines += ["", f"listener {b.websocket_port}{bind}", "protocol websockets"]
    if cfg.chain.enabled:
        lines += ["", *render_bridge(cfg)]
    return "\n".join(lines) + "\n"


def chain_root(cfg: Config) -> str:
    """``chain/<store>``: the topics this store's records use on the chain (``broker.contract.chain``)."""
    return CALLS_TOPIC.format(store=cfg.store.id).rsplit("/", 1)[0]


def render_bridge(cfg: Config) -> list[str]:
    """The bridge to the chain's cluster: this store's ``chain/<store>/#`` out at QoS 1, nothing in.

    A persistent session on both sides (``cleansession false``): while the WAN is down, Mosquitto
    keeps the records in the bridge's queue (on disk with the broker's persistence), up to the
    broker's ``max_queued_messages`` / ``max_queued_bytes``, and sends them when the link is back.
    ``try_private false``: NATS' MQTT listener refuses the bridge flag Mosquitto sets otherwise.
    Bridge-state notifications stay local (``$SYS/...`` is not this store's to publish on the chain)."""
    c = cfg.chain
    user, password = c.login()
    addresses = " ".join([f"{c.host}:{c.port}", *c.addresses])
    lines = [
        f"connection chain-{cfg.store.id}",
        f"address {addresses}",
        "round_robin false",
        f"remote_clientid staffcall-store-{cfg.store.id}",
        f"local_clientid staffcall-bridge-{cfg.store.id}",
        f"remote_username {user}",
        f"remote_password {password}",
        "bridge_protocol_version mqttv311",
        "try_private false",
        "cleansession false",
        "notifications true",
        "notifications_local_only true",
        f"notification_topic {PREFIX}/{cfg.store.id}/chain/bridge",
        "start_type automatic",
        f"restart_timeout {c.restart_timeout_s}",
        "keepalive_interval 30",
        f"topic {chain_root(cfg)}/# out 1",
    ]
    if c.ca:
        lines += [f"bridge_cafile {c.ca}", f"bridge_insecure {'true' if c.insecure else 'false'}"]
    return lines


@dataclass
class Setup:
    folder: Path
    conf: Path
    acl: Path
    passwd: Path
    credentials: Path
    account: str | None = None
    """The account given the data folder (``grant_access``); None when not set up as root."""


def mosquitto_passwd() -> str:
    found = shutil.which("mosquitto_passwd") or (
        "/usr/bin/mosquitto_passwd" if Path("/usr/bin/mosquitto_passwd").exists() else None
    )
    if not found:
        raise ConfigError("mosquitto_passwd is missing: sudo apt-get install mosquitto (it ships with the broker)")
    return found


def write_setup(
    cfg: Config,
    folder: Path,
    data_dir: Path | None = None,
    log_file: Path | None = None,
    run_as: str | None = None,
) -> Setup:
    """Write mosquitto.conf, acl, passwd (hashed) and credentials.toml (0600) into ``folder``.

    An existing credentials.toml keeps its passwords, so re-running init after adding a
    device does not lock out the ones already installed.  Run as root, the files and the data
    folder are handed to ``run_as`` (see ``grant_access``) so the broker can read and save them.
    """
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = (data_dir or folder / "data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    setup = Setup(folder, folder / "mosquitto.conf", folder / "acl", folder / "passwd", folder / "credentials.toml")
    keep = credentials.load(setup.credentials) if setup.credentials.exists() else {}
    passwords = credentials.generate(cfg, keep)
    credentials.write(setup.credentials, cfg.store.id, passwords)
    plain = "".join(f"{user}:{password}\n" for user, password in passwords.items())
    credentials.write_private(setup.passwd, plain)
    # -U hashes a "user:password" file in place (PBKDF2-SHA512 on Mosquitto 2).
    done = subprocess.run([mosquitto_passwd(), "-U", str(setup.passwd)], capture_output=True, text=True)
    if done.returncode != 0:
        setup.passwd.unlink(missing_ok=True)
        raise ConfigError(f"mosquitto_passwd failed: {done.stderr.strip() or done.stdout.strip()}")
    setup.acl.write_text(render_acl(cfg), encoding="utf-8")
    conf = render_conf(cfg, folder, data_dir, log_file, run_as)
    if cfg.chain.enabled:  # it holds the store's chain password
        credentials.write_private(setup.conf, conf)
    else:
        setup.conf.write_text(conf, encoding="utf-8")
    setup.account = grant_access(setup.conf, key=Path(cfg.broker.key) if cfg.broker.key else None)
    return setup


def conf_settings(conf: Path) -> dict[str, str]:
    """The global ``key value`` lines of a mosquitto.conf (the first of each key, before any listener)."""
    found: dict[str, str] = {}
    for line in conf.read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "listener":
            break
        if key and not key.startswith("#"):
            found.setdefault(key, value.strip())
    return found


def grant_access(conf: Path, key: Path | None = None) -> str | None:
    """Let the account Mosquitto runs as use the layout ``conf`` names; returns that account, or None.

    Started as root, Mosquitto switches to its ``user`` (``mosquitto`` when the conf names none)
    before it reads passwd and acl and before every save, so a data folder that belongs to root makes
    each save fail ("Permission denied") and the retained state is gone after a restart.  Here, when we
    are root: the data folder (and what is in it) and the log file belong to that account; passwd, acl
    and the TLS key belong to root with the account's group, mode 0640 (never world-readable).  Not
    root: nothing to do, Mosquitto keeps our own account.
    """
    settings = conf_settings(conf)
    account = settings.get("user", SERVICE_ACCOUNT)
    if os.geteuid() != 0 or account == "root":
        return None
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        raise ConfigError(
            f"{conf}: Mosquitto would run as {account!r}, which does not exist; install the mosquitto package "
            "(it creates the account) or pass --user with an existing account"
        ) from None
    uid, gid = entry.pw_uid, entry.pw_gid
    data = settings.get("persistence_location")
    if data:
        data_dir = Path(data)
        data_dir.mkdir(parents=True, exist_ok=True)
        for path in (data_dir, *data_dir.iterdir()):
            os.chown(path, uid, gid)
        os.chmod(data_dir, 0o700)
    log = settings.get("log_dest", "")
    if log.startswith("file "):
        log_file = Path(log.removeprefix("file ").strip())
        log_file.touch(mode=0o640, exist_ok=True)
        os.chown(log_file, uid, gid)
    for name in ("password_file", "acl_file"):
        if settings.get(name):
            _group_readable(Path(settings[name]), gid)
    if "remote_password" in conf.read_text(encoding="utf-8"):  # a chain bridge's login
        _group_readable(conf, gid)
    if key is not None and key.exists():
        _group_readable(key, gid)
    return account


def _group_readable(path: Path, gid: int) -> None:
    os.chown(path, 0, gid)
    os.chmod(path, 0o640)


def start_store_broker(
    cfg: Config, folder: Path, log_file: Path | None = None, run_as: str | None = None
) -> tuple[Setup, Broker]:
    """Set up and start the store's broker the way a store does: ``write_setup`` (logins, ACL, the
    generated conf) into ``folder``, then Mosquitto on that conf.  For the benches and the tests, so
    their figures and findings are those of the configuration a store runs.

    Example::

        setup, broker = start_store_broker(load_config("bench.toml"), Path(tmp) / "broker")
        ...
        broker.stop()
    """
    setup = write_setup(cfg, folder, log_file=log_file, run_as=run_as)
    broker = Broker(port=cfg.broker.port, workdir=str(setup.folder), conf=setup.conf)
    return setup, broker.start(allow_embedded=False)
