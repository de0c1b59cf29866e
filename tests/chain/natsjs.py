"""One nats-server with JetStream and the status stream, for the chain board's quick tests.

One Debian ``nats-server -js`` with the stream the cluster setup creates (``CHAIN_STATUS`` on
``chain.*.status``), and a publisher that sends ``StoreStatus`` records with nats-py as the stores'
bridges would.  The three-node cluster with per-store logins is ``chain_cluster`` (conftest).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from broker.contract.chain import StoreStatus, encode

NATS_SERVER = "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


class Publisher:
    """nats-py on its own event loop in a thread: the test publishes as the stores would."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc = self.run(self._connect(url))

    async def _connect(self, url: str):
        import nats

        nc = await nats.connect(url)
        self.js = nc.jetstream()
        return nc

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stream(self) -> None:
        self.run(self.js.add_stream(name="CHAIN_STATUS", subjects=["chain.*.status"], max_msgs_per_subject=5))

    def raw(self, subject: str, data: bytes) -> None:
        self.run(self.js.publish(subject, data))

    def status(self, store: str, region: str, **kw) -> None:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.raw(f"chain.{store}.status", encode(StoreStatus(store=store, region=region, at=at, **kw)))

    def close(self) -> None:
        self.run(self.nc.drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def nats_js(tmp_path) -> Iterator[tuple[str, Publisher]]:
    port = free_port()
    proc = subprocess.Popen(
        [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        url = f"nats://127.0.0.1:{port}"
        pub = Publisher(url)
        pub.stream()
        yield url, pub
        pub.close()
    finally:
        proc.terminate()
        proc.wait(10)
