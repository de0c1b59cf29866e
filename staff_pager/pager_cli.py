"""``staffcall pager`` (the staff app or the terminal pager) and ``staffcall hash-pin``."""

from __future__ import annotations

import argparse
import getpass
import sys

from broker.contract.config import add_config, load_config


def register(sub: argparse._SubParsersAction) -> None:
    pager = sub.add_parser(
        "pager",
        help="the staff pager: the Kivy app, or --text for a terminal",
        description="The staff pager: sign in, set presence, get pages, answer them (On my way, Greeted, "
        "Resolved, Pass), see the open calls and your shift.\n\n"
        "Example: staffcall pager --config staffcall.toml\n"
        "Example: staffcall pager --text --staff anna --on-shift",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(pager)
    pager.add_argument("--text", action="store_true", help="terminal pager: pages as text, one-letter commands")
    pager.add_argument("--staff", help="sign in as this staff id (required with --text)")
    pager.add_argument("--lang", help="language (default: [store] language)")
    pager.add_argument("--on-shift", action="store_true", help="start on shift (terminal pager)")
    pager.add_argument(
        "--state-dir", help="folder for the unsent-actions file of each colleague (default: [pager] state_dir)"
    )
    pager.add_argument("--windowed", action="store_true", help="the app in a window instead of full screen")
    pager.set_defaults(func=run_pager)

    pin = sub.add_parser(
        "hash-pin",
        help="hash a staff PIN for pin_hash in the config",
        description='Print the salted scrypt hash of a PIN, for `pin_hash = "..."` in a [[staff]] entry '
        "(used when [pager] require_pin = true). Reads the PIN from the terminal, or from stdin when piped.\n\n"
        "Example: staffcall hash-pin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pin.set_defaults(func=run_hash_pin)


def run_pager(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.state_dir:
        cfg.pager.state_dir = args.state_dir
    if args.text:
        from staff_pager.text import TextPager

        if not args.staff:
            print(
                "staffcall pager: --text needs --staff ID (one of: " + ", ".join(cfg.staff_by_id) + ")", file=sys.stderr
            )
            return 2
        from broker.callpoint.outbox import OutboxLocked

        try:
            pager = TextPager(cfg, args.staff, lang=args.lang)
        except (ValueError, OutboxLocked) as exc:
            print(f"staffcall pager: {exc}", file=sys.stderr)
            return 2
        return pager.run(presence="on_shift" if args.on_shift else None)
    from staff_pager.app import run_app

    return run_app(cfg, staff=args.staff, lang=args.lang, fullscreen=not args.windowed)


def run_hash_pin(args: argparse.Namespace) -> int:
    from broker.contract.pins import hash_pin

    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        print(f"staffcall hash-pin: {exc}", file=sys.stderr)
        return 2
    return 0
