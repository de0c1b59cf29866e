"""``staffcall hub``: the store hub as a long-running service.

Example::

    staffcall hub --config /etc/staffcall/staffcall.toml
"""

from __future__ import annotations

import argparse
import logging
import signal

from broker.contract.config import add_config, load_config


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


def run_hub(args: argparse.Namespace) -> int:
    from broker.hub.shell import Hub

    cfg = load_config(args.config)
    hub = Hub(cfg)

    def stop(*_: object) -> None:
        hub.stopping.set()
        hub.inbox.put(None)

    signal.signal(signal.SIGTERM, stop)
    logging.getLogger(__name__).info("hub for store %r, event log %s", cfg.store.id, cfg.database.path)
    return hub.run()
