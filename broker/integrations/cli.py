"""``staffcall integrations``: run the store's enabled integrations (a service on the hub machine).

Each integration is off until its TOML section turns it on; see docs/integrations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from broker.contract.config import add_config, load_config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "integrations",
        help="voice announcements, webhooks, Home Assistant: the integrations the config turns on",
        description="Run the store's integrations (each off until its section in the config turns it on).\n\n"
        "Example: staffcall integrations --config /etc/staffcall/staffcall.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(parser)
    parser.set_defaults(func=run)


def enabled(cfg) -> list:
    """The integrations this config turns on (each module imported only when it is on)."""
    found: list = []
    # Each integration adds itself here: `if cfg.<section>.enabled: from broker.integrations.x import X`.
    if any(hook.enabled for hook in cfg.webhooks):
        from broker.integrations.webhooks import Webhooks

        found.append(Webhooks(cfg))
    if cfg.homeassistant.enabled:
        from broker.integrations.homeassistant import HomeAssistant

        found.append(HomeAssistant(cfg))
    if cfg.announce.enabled:
        from broker.integrations.announce import Announcer

        found.append(Announcer(cfg))
    return found


def run(args: argparse.Namespace) -> int:
    from broker.integrations.host import IntegrationHost

    cfg = load_config(args.config)
    integrations = enabled(cfg)
    if not integrations:
        log.warning("no integration is turned on in %s; see docs/integrations.md", args.config)
    host = IntegrationHost(cfg, integrations).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    host.stop()
    return 0
