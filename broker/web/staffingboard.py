"""``/board/staffing``: the staffing advice grid for the manager, linked from the board.

The same grid as the HTML report (``broker.reports.staffgrid``) over the last ``WEEKS`` weeks of the
event log, in ``[store] language`` (``?lang=`` overrides).  The advice replays weeks of calls, so it is
computed off the event loop and kept for ``KEEP_S``; a page asked for meanwhile gets the kept one.
It is behind the board's password like the board itself.

Example (``app.create_app`` adds it when given an advice source)::

    >>> from broker.contract.config import parse_config
    >>> page = StaffingPage(parse_config('[store]\\nid = "s1"\\nname = "S"\\n'), lambda: [])
    >>> [route.path for route in page.routes()]
    ['/board/staffing']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from broker.contract.config import Config
from broker.web.customer import pick_language
from broker.web.pages import templates

if TYPE_CHECKING:  # the advice (and the replay) load when the page is first asked for
    from broker.core.staffing import Advice

WEEKS = 8
KEEP_S = 3600.0
"""Advice changes with weeks of calls, not minutes: an hour-old grid is as good."""


def advice_source(
    cfg: Config, weeks: int = WEEKS, clock: Callable[[], float] = time.time
) -> Callable[[], list[Advice]]:
    """The ``weeks`` weeks before today's advice from the event log, computed at most once per ``KEEP_S``."""
    lock = threading.Lock()
    kept: dict[str, object] = {}

    def compute() -> list[Advice]:
        from datetime import datetime, timedelta
        from pathlib import Path
        from zoneinfo import ZoneInfo

        from broker.hub.eventlog import connect
        from broker.reports.staffing import advise

        with lock:
            if kept and time.monotonic() - float(kept["at"]) < KEEP_S:  # type: ignore[arg-type]
                return kept["rows"]  # type: ignore[return-value]
            if not Path(cfg.database.path).exists():
                return []
            tz = ZoneInfo(cfg.store.timezone)
            today = datetime.fromtimestamp(clock(), tz).replace(hour=0, minute=0, second=0, microsecond=0)
            conn = connect(cfg.database.path).conn
            try:
                _, rows = advise(
                    cfg, conn, (today - timedelta(weeks=weeks)).timestamp(), today.timestamp(), 0.9, None, 1
                )
            finally:
                conn.close()
            kept.update(at=time.monotonic(), rows=rows)
            return rows

    return compute


class StaffingPage:
    def __init__(self, cfg: Config, advice: Callable[[], Sequence[Advice]]) -> None:
        self.cfg, self.advice = cfg, advice

    async def page(self, request: Request) -> Response:
        from broker.contract.i18n import Catalog
        from broker.hub.words import LOCALES
        from broker.reports.staffgrid import staffing_grid

        lang = pick_language(request.query_params.get("lang"), "", self.cfg.store.language)
        words = Catalog(LOCALES, lang)
        rows = await run_in_threadpool(self.advice)
        grid = staffing_grid(list(rows), words, lambda z: self.cfg.zone_name(z, lang))
        ctx = {"grid": grid, "lang": lang, "store": self.cfg.store.name}
        return templates.TemplateResponse(request, "board_staffing.html", ctx)

    def routes(self) -> list[BaseRoute]:
        return [Route("/board/staffing", self.page)]
