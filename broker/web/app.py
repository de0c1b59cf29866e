r"""The hub machine's one web server, composed in one place: the board, the QR call pages, the staff app.

``create_app(cfg, live)`` builds the board alone (``staffcall board``); with ``phones``, a
started ``PhonesServer``, it adds the customers' QR pages and the staff app
(``staffcall web``, see ``serve.build_app``).  Each audience's routes are their own module:
``board.py``, ``qr.py``, ``staff.py``; every live feed goes through ``sse.py``.

Why Starlette + uvicorn: small, async (one idle SSE connection per open board costs a
coroutine, not a thread), Jinja templates built in; no bundler, one small JS file per
page, like Datasette.  Why server-sent events: the board only listens, ``EventSource``
reconnects by itself and passes through proxies as plain HTTP.

``[web] password`` guards the board; the phones' pages (``PUBLIC_PREFIXES``) stay open
without it, since they carry their own keys (HMAC in the QR code, PIN sign-in).

Example (then ``uvicorn.run(app, host=cfg.web.host, port=cfg.web.port)``):

    >>> from broker.contract.config import parse_config
    >>> cfg = parse_config('[store]\nid = "s1"\nname = "Paint shop"\n')
    >>> app = create_app(cfg, LiveState(cfg.store.id))
    >>> [route.path for route in app.routes]
    ['/', '/board', '/board.json', '/board/events', '/static']
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.contract.config import Config, ConfigError
from broker.web.board import BoardPages
from broker.web.live import LiveState
from broker.web.pages import STATIC
from broker.web.staffingboard import StaffingPage

if TYPE_CHECKING:  # the board alone (``staffcall board``) loads none of the phones' parts
    from broker.core.staffing import Advice
    from broker.web.prometheus import StoreMetrics
    from broker.web.server import PhonesServer

PUBLIC_PREFIXES = ("/c/", "/staff", "/phones-static/")
"""Paths that stay open when ``[web] password`` guards the board: phones have their own keys."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(cfg: Config) -> None:
    """Refuse to serve beyond this machine without a password."""
    if not is_loopback(cfg.web.host) and not cfg.web.password:
        raise ConfigError(
            f"[web] host = {cfg.web.host!r} exposes the board to the network: set [web] password "
            '(e.g. password = "a long phrase"), or use host = "127.0.0.1"'
        )


class BasicAuth:
    """HTTP Basic auth on every path (any user name, the ``[web] password``)."""

    def __init__(self, app: ASGIApp, password: str, realm: str = "staffcall") -> None:
        self.app, self.password, self.realm = app, password.encode(), realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._ok(dict(scope["headers"]).get(b"authorization", b"")):
            await self.app(scope, receive, send)
            return
        resp = Response(
            "password required", status_code=401, headers={"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        )
        await resp(scope, receive, send)

    def _ok(self, header: bytes) -> bool:
        if not header.lower().startswith(b"basic "):
            return False
        try:
            _, _, given = base64.b64decode(header[6:].strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, self.password)


class BasicAuthExceptPhones(BasicAuth):
    """The board's password on every path but the phones' own (``PUBLIC_PREFIXES``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    cfg: Config,
    live: LiveState,
    today: Callable[[], dict[str, Any]] | None = None,
    clock: Callable[[], float] = time.time,
    phones: PhonesServer | None = None,
    metrics: StoreMetrics | None = None,
    staffing: Callable[[], Sequence[Advice]] | None = None,
) -> Starlette:
    """The web app; ``today`` gives today's figures when the hub's retained summary is missing.

    ``metrics`` (``[metrics] enabled``) adds ``/metrics``, behind the board's password like the board."""
    routes: list[BaseRoute] = BoardPages(cfg, live, today, clock).routes()
    if phones is not None:
        from broker.web.qr import QrPages
        from broker.web.staff import StaffApp

        routes += [
            *QrPages(phones).routes(),
            *StaffApp(phones).routes(),
            Mount("/phones-static", StaticFiles(directory=str(STATIC)), name="phones-static"),
        ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics.endpoint))
    if staffing is not None:  # the manager's grid (broker.web.staffingboard), behind the board's password
        routes += StaffingPage(cfg, staffing).routes()
    routes.append(Mount("/static", StaticFiles(directory=str(STATIC)), name="static"))
    app = Starlette(routes=routes)
    app.state.cfg = cfg
    app.state.live = live
    app.state.staffing = staffing is not None
    if phones is not None:
        app.state.phones = phones
    if cfg.web.password:
        guard = BasicAuth if phones is None else BasicAuthExceptPhones
        app.add_middleware(guard, password=cfg.web.password)
    return app
