"""The one SSE helper (broker/web/sse.py) that the board, the QR pages and the staff app share.

Driven as Starlette drives it: the response's body iterator, a request that says when the
client has gone, and change notices from another thread (paho's, in the server).
"""

from __future__ import annotations

import asyncio
import threading

from broker.web.sse import HEADERS, KEEP_ALIVE, event_stream, frame

WAIT_S = 10.0  # generous: a loaded 2-core CI machine


class Client:
    """Stands in for a Starlette request: only whether the browser is still there."""

    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


class Source:
    """A view and its listeners, changed from another thread as paho would."""

    def __init__(self) -> None:
        self.view = {"n": 0}
        self.renders = 0
        self.listeners: list = []

    def listen(self, notify):
        self.listeners.append(notify)
        return lambda: self.listeners.remove(notify)

    def render(self) -> dict:
        self.renders += 1
        return dict(self.view)

    def change(self, n: int | None = None) -> None:
        if n is not None:
            self.view = {"n": n}
        t = threading.Thread(target=lambda: [notify() for notify in list(self.listeners)])
        t.start()
        t.join()


def _run(coro) -> None:
    """``asyncio.run`` on a thread of its own: a browser test before may leave a loop on this one."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # handed back to the test's thread
            failure.append(exc)

    t = threading.Thread(target=main)
    t.start()
    t.join(WAIT_S * 3)
    assert not t.is_alive(), "the stream did not finish"
    if failure:
        raise failure[0]


async def _next(frames) -> str:
    return await asyncio.wait_for(anext(frames), WAIT_S)


def test_pushes_the_view_then_each_change_with_keep_alives_between():
    async def run() -> None:
        src, client = Source(), Client()
        resp = event_stream(client, src.listen, src.render, heartbeat_s=0.05)
        assert resp.media_type == "text/event-stream"
        assert all(resp.headers[k] == v for k, v in HEADERS.items())
        frames = resp.body_iterator
        assert await _next(frames) == frame({"n": 0})
        assert await _next(frames) == KEEP_ALIVE  # nothing changed within heartbeat_s
        src.change(1)
        got = await _next(frames)
        while got == KEEP_ALIVE:  # a keep-alive may come first on a slow machine
            got = await _next(frames)
        assert got == frame({"n": 1})
        client.gone = True
        await frames.aclose()

    _run(run())


def test_a_burst_of_changes_makes_one_push_and_unchanged_views_are_skipped():
    async def run() -> None:
        src, client = Source(), Client()
        resp = event_stream(client, src.listen, src.render, heartbeat_s=0.05, debounce_s=0.01, skip_unchanged=True)
        frames = resp.body_iterator
        assert await _next(frames) == frame({"n": 0})
        src.view = {"n": 2}
        for _ in range(3):
            src.change()
        assert await _next(frames) == frame({"n": 2})
        assert src.renders == 2
        src.change()  # same view again: rendered, not pushed
        assert [await _next(frames) for _ in range(3)] == [KEEP_ALIVE] * 3
        assert src.renders == 3
        await frames.aclose()

    _run(run())


def test_a_client_that_goes_away_stops_listening_and_closes_once():
    async def run() -> None:
        src, client = Source(), Client()
        closed: list[int] = []
        resp = event_stream(client, src.listen, src.render, heartbeat_s=0.05, on_close=lambda: closed.append(1))
        frames = resp.body_iterator
        assert len(src.listeners) == 1
        await _next(frames)
        client.gone = True
        src.change(3)  # a change as it goes: no push, the stream ends
        assert [f async for f in frames] == []
        assert src.listeners == [] and closed == [1]

    _run(run())
