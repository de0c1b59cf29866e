r"""Server-sent events, written once: the board, the QR call pages and the staff app push through it.

Every push is the page's whole JSON view (small), so a browser that reconnects needs no
replay: ``EventSource`` reconnects by itself and the first frame of a stream is the view
as it is now.  A comment line every ``heartbeat_s`` keeps proxies and phones' radios from
closing an idle connection, and the headers ask proxies (nginx: ``X-Accel-Buffering``) not
to buffer.  A change is announced from any thread (paho's); the notify hops onto the
event loop with ``call_soon_threadsafe``.  When the client goes away the stream stops
listening and calls ``on_close``.

Example:

    >>> frame({"calls": []})
    'data: {"calls": []}\n\n'
    >>> KEEP_ALIVE
    ': keep-alive\n\n'
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

Notify = Callable[[], None]
Listen = Callable[[Notify], Callable[[], None]]
"""Registers a notify (called on any thread after each change) and returns the unsubscribe."""

KEEP_ALIVE = ": keep-alive\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(view: dict[str, Any]) -> str:
    """One ``data:`` event carrying ``view`` as JSON."""
    return f"data: {json.dumps(view)}\n\n"


def event_stream(
    request: Request,
    listen: Listen,
    render: Callable[[], dict[str, Any]],
    *,
    heartbeat_s: float,
    debounce_s: float = 0.0,
    skip_unchanged: bool = False,
    on_close: Callable[[], None] | None = None,
) -> StreamingResponse:
    """A ``text/event-stream`` response: ``render()`` now, then again after each change.

    ``debounce_s`` waits that long after a change so a burst of messages makes one push;
    ``skip_unchanged`` leaves out a push identical to the previous change's push.
    """
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    unlisten = listen(lambda: loop.call_soon_threadsafe(changed.set))
    return StreamingResponse(
        _frames(request, changed, render, heartbeat_s, debounce_s, skip_unchanged, unlisten, on_close),
        media_type="text/event-stream",
        headers=HEADERS,
    )


async def _frames(
    request: Request,
    changed: asyncio.Event,
    render: Callable[[], dict[str, Any]],
    heartbeat_s: float,
    debounce_s: float,
    skip_unchanged: bool,
    unlisten: Callable[[], None],
    on_close: Callable[[], None] | None,
) -> AsyncIterator[str]:
    try:
        last = None
        yield frame(render())
        while not await request.is_disconnected():
            try:
                await asyncio.wait_for(changed.wait(), heartbeat_s)
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if debounce_s:
                await asyncio.sleep(debounce_s)
            changed.clear()
            data = frame(render())
            if not skip_unchanged or data != last:
                last = data
                yield data
    finally:
        unlisten()
        if on_close:
            on_close()
