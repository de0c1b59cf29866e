"""The ``staffcall`` command: one entry point, one subcommand per part of the system.

Each part registers its own subcommands (a ``register(subparsers)`` function in its
``cli`` module) and imports its heavy libraries only when run, so the hub starts on a
Pi that has no Kivy.

Example::

    staffcall demo
    staffcall hub --config staffcall.toml
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

from broker.contract.config import ConfigError, load_config

PARTS = [
    "broker.cli",
    "broker.mosquitto.cli",
    "broker.reports.report",
    "broker.web.cli",
    "staff_pager.gateway_cli",
    "staff_pager.pager_cli",
    "kiosk.cli",
    "hardware.cli",
    "broker.web.phones_cli",
]
"""Modules with a ``register(subparsers)`` function, in the order of ``staffcall --help``."""


def register(sub: argparse._SubParsersAction) -> None:
    hub = sub.add_parser(
        "hub",
        help="run the store hub (long-running service)",
        description="Run the store hub: routes calls to staff, escalates, records everything.\n\n"
        "Example: staffcall hub --config /etc/staffcall/staffcall.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(hub)
    hub.set_defaults(func=run_hub)

    demo = sub.add_parser(
        "demo",
        help="a simulated store on this computer, with nothing configured",
        description="Start a private broker, the hub and a simulated store (time sped up); show the calls "
        "live and end with a response-time summary.\n\nExample: staffcall demo --speed 30",
    )
    demo.add_argument("--speed", type=float, default=30.0, help="how much faster than real time (default 30)")
    demo.add_argument("--calls", type=int, default=8, help="background calls besides the scripted story")
    demo.add_argument("--seed", type=int, default=7, help="random seed for the simulated staff")
    demo.add_argument("--db", default=None, help="keep the event log in this file (default: a temporary file)")
    demo.add_argument("--plain", action="store_true", help="print one line per change instead of a live table")
    demo.set_defaults(func=run_demo)


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default="staffcall.toml", help="the store's TOML config")


def run_hub(args: argparse.Namespace) -> int:
    from broker.hub.shell import Hub

    cfg = load_config(args.config)
    hub = Hub(cfg)
    signal.signal(signal.SIGTERM, lambda *_: hub.stopping.set() or hub.inbox.put(None))
    logging.getLogger(__name__).info("hub for store %r, event log %s", cfg.store.id, cfg.database.path)
    return hub.run()


def run_demo(args: argparse.Namespace) -> int:
    from broker.demo.run import run

    return run(speed=args.speed, background_calls=args.calls, seed=args.seed, db=args.db, plain=args.plain)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="staffcall", description="staffcall: in-store kiosk and staff-call system")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in PARTS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
