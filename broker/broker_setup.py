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

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from broker import credentials
from broker.config import Config, ConfigError
from broker.protocol import PREFIX


def render_acl(cfg: Config) -> str:
    root = f"{PREFIX}/{cfg.store.id}"
    blocks: list[list[str]] = []

    def block(identity: str, comment: str, rules: list[tuple[str, str]]) -> None:
        lines = [f"# {comment}", f"user {credentials.username(identity)}"]
        lines += [f"topic {access} {root}/{topic}" for access, topic in rules]
        blocks.append(lines)

    block("hub", "the hub: everything under its store", [("readwrite", "#")])
    block(
        "board",
        "the live board: reads only",
        [("read", t) for t in ("state/+", "staff/+/presence", "device/+/status", "summary", "hub/status")],
    )
    block(
        "gateway",
        "the pager gateway: reads pages, declines for colleagues with radio pagers",
        [("read", "page/+"), ("readwrite", "gateway/status")]
        + [("write", f"staff/{s.id}/decline") for s in cfg.staff if s.pager],
    )
    block("monitor", "read-only view of everything (demo watcher, an engineer's mosquitto_sub)", [("read", "#")])
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
            ],
        )
    header = [
        f"# Mosquitto ACL for staffcall store {cfg.store.id!r}, written by `staffcall broker init`.",
        "# Regenerate it from the config instead of editing it by hand.",
    ]
    return "\n\n".join(["\n".join(header), *("\n".join(b) for b in blocks)]) + "\n"


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
        "autosave_interval 10",
        "max_queued_messages 100000",
        "max_inflight_messages 100",
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
    return "\n".join(lines) + "\n"


@dataclass
class Setup:
    folder: Path
    conf: Path
    acl: Path
    passwd: Path
    credentials: Path


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
    device does not lock out the ones already installed.
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
    setup.conf.write_text(render_conf(cfg, folder, data_dir, log_file, run_as), encoding="utf-8")
    return setup
