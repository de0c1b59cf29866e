"""The ``staffcall`` command: one entry point, one subcommand per part of the system.

Each part registers its own subcommands (a ``register(subparsers)`` function in its
``cli`` module).  ``staffcall <sub>`` imports only the module that registers ``<sub>``,
so the hub starts on a Pi that has no Kivy, and no part's command pulls in another part;
``staffcall --help`` (or an unknown word) imports them all to list every subcommand.

Example::

    staffcall demo
    staffcall hub --config staffcall.toml
"""

from __future__ import annotations

import argparse
import importlib
import sys

from broker.contract.settings import ConfigError

COMMANDS = {
    "hub": "broker.hub.cli",
    "demo": "broker.demo.cli",
    "broker": "broker.mosquitto.cli",
    "report": "broker.reports.report",
    "board": "broker.web.cli",
    "qr": "broker.web.cli",
    "web": "broker.web.cli",
    "pager-gateway": "staff_pager.gateway_cli",
    "pager": "staff_pager.pager_cli",
    "hash-pin": "staff_pager.pager_cli",
    "kiosk": "kiosk.cli",
    "kiosk-screens": "kiosk.cli",
    "buttons": "hardware.cli",
    "integrations": "broker.integrations.cli",
    "chain": "broker.chain.cli",
    "staffing": "broker.reports.staffing",
    "simulate": "broker.reports.staffing",
}
"""Subcommand -> the module whose ``register(subparsers)`` adds it; ``staffcall --help`` lists them in this order."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` alone (importing one part), or for every subcommand when None or unknown."""
    parser = argparse.ArgumentParser(prog="staffcall", description="staffcall: in-store kiosk and staff-call system")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def command_word(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def configure_logging(verbose: bool) -> None:
    """Timestamps and levels on stderr, for the commands that log.

    A command that never logs says so with ``set_defaults(logs=False)`` and then does not import
    ``logging`` at all: ``staffcall report``, which a manager runs for a glance, saves 3-5 ms of its
    0.1 s budget.
    """
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(command_word(argv))
    args = parser.parse_args(argv)
    if args.verbose or getattr(args, "logs", True):
        configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"staffcall: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
