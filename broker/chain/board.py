"""``staffcall chain board``: one live web page of every store, fed by the stores' statuses on the chain cluster.

The board subscribes with nats-py to ``chain.*.status`` in the JetStream stream ``CHAIN_STATUS``
(an ordered consumer delivering the last status of each store first, then every new one), keeps
them in a ``StoreBoard`` and pushes the page's whole view over server-sent events
(``broker.web.sse``) after each status and whenever a store goes offline or comes back (checked
every ``TICK_S`` on the board's monotonic clock).  A status that does not decode, or that names
another store than its subject, is counted as rejected and dropped: the subject is what the
cluster's per-store permissions vouch for.

Routes: ``/board`` (the page; ``?lang=sv|en``), ``/board.json`` (its JSON twin), ``/board/events``.

Example::

    staffcall chain board --servers nats://chain-1:4222,nats://chain-2:4222 --user board --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker.chain.storeboard import StoreBoard
from broker.chain.texts import LANGUAGES, texts
from broker.contract.chain import OFFLINE_AFTER_S, decode_status

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STREAM = "CHAIN_STATUS"
SUBJECT = "chain.*.status"
TICK_S = 1.0
HEARTBEAT_S = 15.0
PUSH_DEBOUNCE_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "One live web page of every store: open calls, longest wait now, today's promise kept, stores offline "
        "(no status for two minutes) first.\n\n"
        "Example: staffcall chain board --servers nats://chain-1:4222 --user board --port 8090"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--servers", required=True, help="the chain cluster's NATS URLs, comma-separated")
    parser.add_argument("--user", help="the board's login on the cluster")
    parser.add_argument(
        "--password-env", default="STAFFCALL_CHAIN_PASSWORD", help="environment variable holding its password"
    )
    parser.add_argument(
        "--credentials", help='a TOML file with username = "..." and password = "..." (staffcall chain cluster init)'
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to serve on (default 8090)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="the page's default language")
    parser.add_argument(
        "--offline-after", type=float, default=OFFLINE_AFTER_S, metavar="S", help="seconds without a status = offline"
    )


class Listeners:
    """Who to tell after a change (the open SSE streams); ``notify`` may be called from any thread."""

    def __init__(self) -> None:
        self._notify: set[Callable[[], None]] = set()

    def listen(self, notify: Callable[[], None]) -> Callable[[], None]:
        self._notify.add(notify)
        return lambda: self._notify.discard(notify)

    def notify(self) -> None:
        for n in list(self._notify):
            n()


async def follow(
    board: StoreBoard, listeners: Listeners, servers: list[str], user: str | None, password: str | None,
    clock: Callable[[], float] = time.monotonic,
) -> Any:  # fmt: skip
    """Subscribe to every store's status; returns the NATS connection (drain it to stop)."""
    import msgspec
    import nats
    from nats.js.api import DeliverPolicy

    started = time.time()

    async def on_status(msg: Any) -> None:
        parts = msg.subject.split(".")
        try:
            status = decode_status(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            board.reject()
            log.warning("rejected a status on %s: %s", msg.subject, exc)
            return
        if len(parts) != 3 or status.store != parts[1]:
            board.reject()
            log.warning("rejected a status for %r on %s: not its own subject", status.store, msg.subject)
            return
        age = 0.0
        with contextlib.suppress(Exception):  # a replayed status: dated back by its age in the stream
            stored = msg.metadata.timestamp.timestamp()
            if stored < started:
                age = time.time() - stored
        if board.apply(status, clock(), age):
            listeners.notify()

    async def on_error(exc: Exception) -> None:
        log.warning("chain cluster: %s", exc)

    options: dict[str, Any] = {"servers": servers, "max_reconnect_attempts": -1, "error_cb": on_error}
    if user:
        options.update(user=user, password=password or "")
    nc = await nats.connect(**options)
    js = nc.jetstream()
    await js.subscribe(
        SUBJECT, stream=STREAM, cb=on_status, ordered_consumer=True, deliver_policy=DeliverPolicy.LAST_PER_SUBJECT
    )
    return nc


def create_app(
    board: StoreBoard,
    servers: list[str] | None = None,
    lang: str = "en",
    user: str | None = None,
    password: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """The board's Starlette app; with ``servers`` it follows the cluster while it runs."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.templating import Jinja2Templates

    from broker.web.sse import event_stream

    templates = Jinja2Templates(directory=str(HERE / "templates"))
    listeners = Listeners()

    def data() -> dict[str, Any]:
        return board.view(clock())

    async def page(request: Request) -> Response:
        asked = request.query_params.get("lang")
        chosen = asked if asked in LANGUAGES else lang
        words = texts(chosen)
        ctx = {"lang": chosen, "texts": json.dumps(words), "t": words, "data": json.dumps(data())}
        return templates.TemplateResponse(request, "chain_board.html", ctx)

    async def as_json(request: Request) -> Response:
        return JSONResponse(data())

    async def events(request: Request) -> Response:
        return event_stream(request, listeners.listen, data, heartbeat_s=HEARTBEAT_S, debounce_s=PUSH_DEBOUNCE_S)

    async def tick() -> None:
        """Push when a store goes offline (or comes back): nothing else would tell the page."""
        last = board.offline(clock())
        while True:
            await asyncio.sleep(TICK_S)
            now = board.offline(clock())
            if now != last:
                last = now
                listeners.notify()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any):
        ticker = asyncio.create_task(tick())
        nc = await follow(board, listeners, servers, user, password, clock) if servers else None
        try:
            yield
        finally:
            ticker.cancel()
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.drain()

    routes = [
        Route("/", lambda request: RedirectResponse("/board")),
        Route("/board", page),
        Route("/board.json", as_json),
        Route("/board/events", events),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.listeners = listeners
    return app


def run(args: argparse.Namespace) -> int:
    import uvicorn

    board = StoreBoard(args.offline_after)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    user, password = args.user, os.environ.get(args.password_env) if args.user else None
    if args.credentials:
        import tomllib
        from pathlib import Path

        login = tomllib.loads(Path(args.credentials).read_text(encoding="utf-8"))
        user, password = login["username"], login["password"]
    app = create_app(board, servers, args.lang, user, password)
    print(f"chain board on http://{args.host}:{args.port}/board", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
