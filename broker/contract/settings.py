"""The few settings a report reads, straight from the store's TOML, and the ``--config`` option.

``staffcall report --today`` has 0.1 s, start-up included.  Validating the whole config with
msgspec (``broker/contract/config.py``) costs about a sixth of that in imports alone, for the four
settings a report uses: the store's time zone, promise and language, the event log's path and
the colleagues' names.  So the report reads just those here, checks each (a wrong one is a
``ConfigError`` naming the key and the fix, as the full config would say), and leaves the rest
of the file to the parts that use it.  A test keeps these equal to what ``load_config`` gives.

Example::

    >>> s = parse_report_settings('[store]\\nid = "s1"\\nname = "S"\\ntarget_greet_s = 45\\n', "/etc/staffcall")
    >>> s.timezone, s.target_greet_s, s.database_path
    ('Europe/Stockholm', 45.0, '/etc/staffcall/staffcall.db')
"""

from __future__ import annotations

import argparse
import os
import tomllib


class ConfigError(ValueError):
    """The config file cannot be used; the message names the key and the fix."""


def add_config(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option every part's command shares; here so no part imports another's CLI."""
    parser.add_argument("--config", "-c", default="staffcall.toml", help="the store's TOML config")


DEFAULT_TIMEZONE = "Europe/Stockholm"
DEFAULT_TARGET_GREET_S = 60.0
DEFAULT_DATABASE = "staffcall.db"
DEFAULT_LANGUAGE = "sv"


class ReportSettings:
    """What a report needs of the config."""

    __slots__ = ("timezone", "target_greet_s", "database_path", "staff_names", "language")

    def __init__(
        self,
        timezone: str,
        target_greet_s: float,
        database_path: str,
        staff_names: dict[str, str],
        language: str = DEFAULT_LANGUAGE,
    ):
        self.timezone = timezone
        self.target_greet_s = target_greet_s
        self.database_path = database_path
        self.staff_names = staff_names
        self.language = language


def parse_report_settings(text: str, base: str, source: str = "config") -> ReportSettings:
    """The report's settings from TOML ``text``; relative paths are taken from the folder ``base``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc}); check quotes and brackets there") from None

    def fail(where: str, why: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {why}")

    store = raw.get("store")
    if not isinstance(store, dict):
        raise fail("[store]", "missing; add it (see staffcall.example.toml)")
    timezone = store.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(timezone, str):
        raise fail("[store] timezone", "must be a time zone name such as Europe/Stockholm")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        raise fail("[store] timezone", f"{timezone!r} is not a known time zone (e.g. Europe/Stockholm)") from None
    target = store.get("target_greet_s", DEFAULT_TARGET_GREET_S)
    if isinstance(target, bool) or not isinstance(target, int | float) or not target > 0:
        raise fail("[store] target_greet_s", "must be a number of seconds above 0")
    language = store.get("language", DEFAULT_LANGUAGE)
    if not isinstance(language, str):
        raise fail("[store] language", 'must be a catalog code such as "sv" or "en"')
    database = raw.get("database", {})
    path = database.get("path", DEFAULT_DATABASE) if isinstance(database, dict) else None
    if not isinstance(path, str) or not path:
        raise fail("[database] path", "must be the event log's file name")
    if path != ":memory:" and not os.path.isabs(path):
        path = os.path.join(base, path)
    names: dict[str, str] = {}
    staff = raw.get("staff", [])
    for i, person in enumerate(staff if isinstance(staff, list) else [None]):
        if not isinstance(person, dict) or not isinstance(person.get("id"), str):
            raise fail(f"[[staff]] #{i + 1}", "needs an id (and a name)")
        name = person.get("name", person["id"])
        names[person["id"]] = name if isinstance(name, str) else person["id"]
    return ReportSettings(timezone, float(target), path, names, language)


def load_report_settings(path: str) -> ReportSettings:
    """The report's settings from the config file at ``path``."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; copy staffcall.example.toml to {path} and edit it, or run 'staffcall demo'"
        ) from None
    return parse_report_settings(text, os.path.dirname(os.path.abspath(path)), path)
