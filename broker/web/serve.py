"""One web server for the hub machine: the live board plus the phones' pages.

``build_app(cfg)`` starts the board's ``LiveFeed`` and the ``PhonesServer`` and returns
the Starlette app from ``broker.web.app.create_app`` with the phones' routes added.
When ``[web] password`` guards the board, the customers' QR pages and the staff app
stay reachable without it (they carry their own HMAC keys and PIN sign-in).
``Parts.stop()`` stops the MQTT parts once the server is done.

Example::

    app, parts = build_app(cfg)   # uvicorn.run(app, host=cfg.web.host, port=cfg.web.port); then parts.stop()
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from broker.contract.config import Config
from broker.web.app import create_app
from broker.web.live import LiveFeed, LiveState
from broker.web.prometheus import MetricsFeed, start_metrics
from broker.web.server import PhonesServer
from broker.web.staffingboard import advice_source


@dataclass
class Parts:
    feed: LiveFeed | None
    phones: PhonesServer
    metrics_feed: MetricsFeed | None = None

    def stop(self) -> None:
        self.phones.stop()
        if self.feed:
            self.feed.stop()
        if self.metrics_feed:
            self.metrics_feed.stop()


def build_app(cfg: Config, today=None, with_board_feed: bool = True) -> tuple[Starlette, Parts]:
    live = LiveState(cfg.store.id)
    feed = LiveFeed(cfg, live).start() if with_board_feed else None
    phones = PhonesServer(cfg).start()
    clients = {"phones": phones.client.is_connected} | ({"board": feed.client.is_connected} if feed else {})
    metrics, metrics_feed = start_metrics(cfg, live, clients)
    app = create_app(cfg, live, today=today, phones=phones, metrics=metrics, staffing=advice_source(cfg))
    return app, Parts(feed, phones, metrics_feed)
