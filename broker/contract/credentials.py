"""One broker login per part of the system: who is who, and the file that holds the passwords.

Logins are the ids themselves (``kiosk-1``, ``anna``), so the generated ACL can name each
one in its own ``user`` block; the services get names that start with ``_`` (``_hub``,
``_board``, ``_gateway``, ``_monitor``), which no device or staff id can (ids start with a
letter or digit), so they never collide.  The credentials file is TOML written by
``staffcall broker init`` with mode 0600; each machine needs only the lines of the parts it
runs.

Example::

    >>> username("device:kiosk-1"), username("staff:anna"), username("hub")
    ('kiosk-1', 'anna', '_hub')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tomllib
from collections.abc import Iterable
from pathlib import Path

from broker.contract.config import Config, ConfigError
from broker.contract.protocol import valid_id

SERVICES = ("hub", "board", "gateway", "monitor", "phones", "integrations")
"""hub: everything under its store; board: reads what the live board shows; gateway: pages to
radio pagers (reads pages, declines for their wearers); monitor: reads everything (the demo's
watcher, an engineer's mosquitto_sub); phones: the web server's staff app, acting for the
colleagues who sign in there with a PIN, and its reports of bad QR keys."""

OPTIONAL_SERVICES = ("homeassistant",)
"""Logins a store has only when its config turns the part on: homeassistant is Home Assistant's own
login to the store's broker (reads the discovery and the state topics, ``[homeassistant]``)."""


def username(identity: str) -> str:
    """``hub`` -> ``_hub``; ``device:kiosk-1`` -> ``kiosk-1``; ``staff:anna`` -> ``anna``."""
    if identity in SERVICES or identity in OPTIONAL_SERVICES:
        return f"_{identity}"
    kind, _, ident = identity.partition(":")
    if kind in ("device", "staff") and valid_id(ident):
        return ident
    raise ValueError(f"identity {identity!r} must be one of {', '.join(SERVICES)}, 'device:<id>' or 'staff:<id>'")


def owned_client_id(client_id: str, user: str, password: str) -> str:
    """The MQTT client id a login really uses for ``client_id``: the name plus a tag keyed by its password.

    Mosquitto lets any login connect with any client id, and a connect with an id in use unseats the
    client that holds it (its Will fires; a resumed session hands over its queue). Mosquitto 2.0 has no
    rule that ties ids to a login and still lets one login hold several connections (the web server holds
    one per colleague's Will), so the tie is made here: only who knows a login's password can name its
    sessions. The same (name, login) always gives the same id, so persistent sessions survive restarts.

    >>> owned_client_id("staffcall-hub-s1", "_hub", "secret")
    'staffcall-hub-s1-5cbaf51c6b386436'
    """
    tag = hmac.new(password.encode(), f"{user}\0{client_id}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"{client_id}-{tag}"


def identities(cfg: Config) -> list[str]:
    """Every part of the store that gets its own login."""
    optional = ["homeassistant"] if cfg.homeassistant.enabled else []
    return [*SERVICES, *optional, *(f"device:{d.id}" for d in cfg.devices), *(f"staff:{s.id}" for s in cfg.staff)]


def generate(cfg: Config, keep: dict[str, str] | None = None) -> dict[str, str]:
    """username -> password for every part; passwords in ``keep`` stay (re-running init keeps devices working)."""
    keep = keep or {}
    return {username(i): keep.get(username(i)) or secrets.token_urlsafe(24) for i in identities(cfg)}


def render(store: str, passwords: dict[str, str]) -> str:
    lines = [
        f'# staffcall broker logins for store "{store}", written by `staffcall broker init`.',
        "# Secret: keep it mode 0600. Copy to each machine only the lines of the parts that machine runs.",
        "[passwords]",
    ]
    lines += [f'"{user}" = "{password}"' for user, password in passwords.items()]
    return "\n".join(lines) + "\n"


def write(path: Path, store: str, passwords: dict[str, str]) -> None:
    write_private(path, render(store, passwords))


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (created 0600, never world-readable for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def load(path: str | Path) -> dict[str, str]:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"[broker] credentials: {p} does not exist; run `staffcall broker init` and copy its credentials.toml here"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"[broker] credentials: {p} not valid TOML ({exc}); re-run broker init") from None
    passwords = raw.get("passwords")
    if not isinstance(passwords, dict) or not all(isinstance(v, str) for v in passwords.values()):
        raise ConfigError(f'[broker] credentials: {p} needs a [passwords] table of login = "password" lines')
    return passwords


def login(path: str | Path, identity: str) -> tuple[str, str]:
    """The (username, password) of one part, or a ConfigError saying which line is missing."""
    user = username(identity)
    passwords = load(path)
    if user not in passwords:
        raise ConfigError(
            f"[broker] credentials: {path} has no login {user!r} for {identity}; add the line from the "
            "credentials.toml that `staffcall broker init` wrote (re-run init after adding the part to the config)"
        )
    return user, passwords[user]


def missing(path: str | Path, wanted: Iterable[str]) -> list[str]:
    have = load(path)
    return [i for i in wanted if username(i) not in have]
