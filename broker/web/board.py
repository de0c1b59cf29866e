r"""The store board's routes: ``/board``, its JSON twin ``/board.json`` and its live feed ``/board/events``.

The board only listens: every page view and every push is ``LiveState.board`` (fed by the
hub's MQTT messages in ``live.py``) at the wall clock's now.  When the hub's retained
summary of today is not there yet, ``today()`` (the event log, ``cli.today_figures``)
stands in.  A burst of messages makes one push (``PUSH_DEBOUNCE_S``).

Example (``app.create_app`` composes the routes):

    >>> from broker.contract.config import parse_config
    >>> cfg = parse_config('[store]\nid = "s1"\nname = "Paint shop"\n')
    >>> board = BoardPages(cfg, LiveState("s1"), today=lambda: {"calls": 7})
    >>> board.data()["calls"], board.data()["today"]["calls"]
    ([], 7)
    >>> [route.path for route in board.routes()]
    ['/', '/board', '/board.json', '/board/events']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from broker.contract.config import Config
from broker.web.live import LiveState
from broker.web.pages import templates
from broker.web.sse import event_stream

HEARTBEAT_S = 15.0
PUSH_DEBOUNCE_S = 0.05


class BoardPages:
    """The board's three views of one ``LiveState``."""

    def __init__(
        self,
        cfg: Config,
        live: LiveState,
        today: Callable[[], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg, self.live, self.today, self.clock = cfg, live, today, clock

    def data(self) -> dict[str, Any]:
        fallback = None
        if self.live.summary is None and self.today is not None:
            fallback = self.today()
        return self.live.board(self.cfg, self.clock(), fallback)

    async def page(self, request: Request) -> Response:
        return templates.TemplateResponse(request, "board.html", {"data": self.data(), "cfg": self.cfg})

    async def json(self, request: Request) -> Response:
        return JSONResponse(self.data())

    async def events(self, request: Request) -> Response:
        return event_stream(request, self.live.listen, self.data, heartbeat_s=HEARTBEAT_S, debounce_s=PUSH_DEBOUNCE_S)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", lambda request: RedirectResponse("/board")),
            Route("/board", self.page),
            Route("/board.json", self.json),
            Route("/board/events", self.events),
        ]
