"""``staffcall pager-gateway``: bridge the hub's pages to a serial pager transmitter."""

from __future__ import annotations

import argparse
import signal

from broker.contract.config import add_config, load_config


def register(sub: argparse._SubParsersAction) -> None:
    gw = sub.add_parser(
        "pager-gateway",
        help="send pages to radio pagers through an ESPA 4.4.4 or TAP transmitter (long-running service)",
        description="Subscribe to the hub's pages and deliver those for staff with a 'pager' address in the config "
        "through the serial transmitter in [pager_gateway]; pages the transmitter refuses or misses are handed "
        "back to the hub, which pages the next colleague. See docs/pager-gateway.md.\n\n"
        "Example: staffcall pager-gateway --config /etc/staffcall/staffcall.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(gw)
    gw.add_argument("--port", help="override [pager_gateway] port (a device path or pyserial URL)")
    gw.set_defaults(func=run_gateway)


def run_gateway(args: argparse.Namespace) -> int:
    from staff_pager.gateway import PagerGateway

    cfg = load_config(args.config)
    if args.port:
        cfg.pager_gateway.port = args.port
    gateway = PagerGateway(cfg)
    if not gateway.addresses:
        print(f'staffcall: no [[staff]] has pager = "{cfg.pager_gateway.protocol}:..."; nothing to page')
        return 2
    signal.signal(signal.SIGTERM, lambda *_: gateway.stopping.set())
    gateway.run()
    return 0
