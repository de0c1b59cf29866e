"""The hub machine's one web server: Starlette pages, each with a JSON twin, pushed live by SSE.

``create_app(cfg, live)`` builds the app from the config and a shared ``LiveState``;
later parts (customers' QR pages at ``/c/{device}``, the staff app at ``/staff``) add
their routes through ``extra_routes`` and read the same ``request.app.state.live``.

Why Starlette + uvicorn: small, async (one idle SSE connection per open board costs a
coroutine, not a thread), Jinja templates built in; no bundler, one small JS file per
page, like Datasette.  Why server-sent events: the board only listens, ``EventSource``
reconnects by itself and passes through proxies as plain HTTP.

Example::

    live = LiveState(cfg.store.id)
    app = create_app(cfg, live)      # uvicorn.run(app, host=cfg.web.host, port=cfg.web.port)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.contract.config import Config, ConfigError
from broker.web.live import LiveState

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
HEARTBEAT_S = 15.0
PUSH_DEBOUNCE_S = 0.05


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


def create_app(
    cfg: Config,
    live: LiveState,
    today: Callable[[], dict[str, Any]] | None = None,
    clock: Callable[[], float] = time.time,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The web app; ``today`` gives today's figures when the hub's retained summary is missing."""

    def board_data() -> dict[str, Any]:
        fallback = None
        if live.summary is None and today is not None:
            fallback = today()
        return live.board(cfg, clock(), fallback)

    async def board_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "board.html", {"data": board_data(), "cfg": cfg})

    async def board_json(request: Request) -> Response:
        return JSONResponse(board_data())

    async def board_events(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        unlisten = live.listen(lambda: loop.call_soon_threadsafe(changed.set))

        async def stream():
            try:
                yield f"data: {json.dumps(board_data())}\n\n"
                while not await request.is_disconnected():
                    try:
                        await asyncio.wait_for(changed.wait(), HEARTBEAT_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    await asyncio.sleep(PUSH_DEBOUNCE_S)  # one push for a burst of messages
                    changed.clear()
                    yield f"data: {json.dumps(board_data())}\n\n"
            finally:
                unlisten()

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    routes: list[BaseRoute] = [
        Route("/", lambda request: RedirectResponse("/board")),
        Route("/board", board_page),
        Route("/board.json", board_json),
        Route("/board/events", board_events),
        *extra_routes,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.cfg = cfg
    app.state.live = live
    if cfg.web.password:
        app.add_middleware(BasicAuth, password=cfg.web.password)
    return app
