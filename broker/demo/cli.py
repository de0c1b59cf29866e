"""``staffcall demo``: a simulated store on this computer, with nothing configured.

Example::

    staffcall demo --speed 30
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
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


def run_demo(args: argparse.Namespace) -> int:
    from broker.demo.run import run

    return run(speed=args.speed, background_calls=args.calls, seed=args.seed, db=args.db, plain=args.plain)
