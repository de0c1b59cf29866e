"""One web server for the hub machine: the live board plus the phones' pages.

``build_app(cfg)`` starts the board's ``LiveFeed`` and the ``PhonesServer`` and returns
the Starlette app from ``broker.web.app.create_app`` with the phones' routes added.
When ``[web] password`` guards the board, the customers' QR pages and the staff app
stay reachable without it (they carry their own HMAC keys and PIN sign-in).

Example::

    app, parts = build_app(cfg)   # uvicorn.run(app, host=cfg.web.host, port=cfg.web.port); then parts.stop()
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from starlette.types import Receive, Scope, Send

from broker.contract.config import Config
from broker.web.app import BasicAuth, create_app
from broker.web.live import LiveFeed, LiveState
from broker.web.server import PUBLIC_PREFIXES, PhonesServer, routes


class BasicAuthExceptPhones(BasicAuth):
    """The board's password on every path but the phones' own (``PUBLIC_PREFIXES``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


@dataclass
class Parts:
    feed: LiveFeed | None
    phones: PhonesServer

    def stop(self) -> None:
        self.phones.stop()
        if self.feed:
            self.feed.stop()


def build_app(cfg: Config, today=None, with_board_feed: bool = True):
    live = LiveState(cfg.store.id)
    feed = LiveFeed(cfg, live).start() if with_board_feed else None
    phones = PhonesServer(cfg).start()
    # create_app would guard every path; the phones' paths get the exception above instead.
    open_cfg = msgspec.structs.replace(cfg, web=msgspec.structs.replace(cfg.web, password=None))
    app = create_app(open_cfg, live, today=today, extra_routes=routes(phones))
    app.state.phones = phones
    if cfg.web.password:
        app.add_middleware(BasicAuthExceptPhones, password=cfg.web.password)
    return app, Parts(feed, phones)
