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

Every word on the board comes from the catalogs in ``[store] language`` (``?lang=`` overrides it for one
screen): the web pages' ``board_*`` texts plus the kiosk's reason labels, so a reason reads as the customer
tapped it.  ``?tv=1`` is the unattended wall screen: no pointer, no scroll, reconnects by itself and dims
at night (``?dim=21:00-07:00``, the store's timezone; ``dim=off`` never dims).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from broker.contract.config import Config
from broker.web.customer import catalog, pick_language
from broker.web.live import LiveState
from broker.web.pages import templates
from broker.web.sse import event_stream

HEARTBEAT_S = 15.0
PUSH_DEBOUNCE_S = 0.05
NIGHT = ("21:00", "07:00")
"""When a ``?tv=1`` board dims by default: a store is closed, nobody reads it from the floor."""


def board_texts(lang: str) -> dict[str, str]:
    """The words the board's script needs in ``lang``: its own ``board_*`` and the kiosk's ``reason.*``.

    >>> board_texts("sv")["reason.product"], board_texts("en")["board_presence_off"]
    ('Hjälp att hitta en vara', 'Not on shift today')
    """
    return {k: v for k, v in catalog(lang).items() if k.startswith(("board_", "reason."))}


def night_hours(asked: str | None) -> tuple[str, str] | None:
    """``?dim=`` as (from, until) local times; ``off`` never dims; anything else unreadable is the default.

    >>> night_hours(None), night_hours("22:30-6:00"), night_hours("off"), night_hours("<script>")
    (('21:00', '07:00'), ('22:30', '06:00'), None, ('21:00', '07:00'))
    """
    if asked == "off":
        return None
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)", (asked or "")[:20])
    if not m:
        return NIGHT
    h1, m1, h2, m2 = m.groups()
    return f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"


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
        q = request.query_params
        lang = pick_language(q.get("lang"), "", self.cfg.store.language)
        texts = board_texts(lang)
        cfg = self.cfg
        view = {
            "lang": lang,
            "tz": cfg.store.timezone,
            "tv": q.get("tv") in ("1", "true", "yes"),
            "night": night_hours(q.get("dim")),
            "staffing": getattr(request.app.state, "staffing", False),
            "zones": {z: cfg.zone_name(z, lang) for z in {d.zone for d in cfg.devices} | set(cfg.zones_by_id)},
        }
        ctx = {"data": self.data(), "cfg": cfg, "t": lambda key, **kw: texts.get(key, key).format(**kw)}
        return templates.TemplateResponse(request, "board.html", {**ctx, "texts": texts, "view": view})

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
