"""Running a private Mosquitto on a free loopback port (the demo, the tests, the bench).

A store runs the system Mosquitto (see ``deploy/``); this module is for everything
that needs a broker of its own that nobody else can reach.  When the ``mosquitto``
binary is missing, ``start_broker`` falls back to amqtt, a pure-Python broker, with
a warning: good enough for a demo on a laptop, not for a store.

Example::

    with start_broker() as broker:
        print(broker.host, broker.port)
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence {persist}
persistence_location {dir}/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
set_tcp_nodelay true
log_dest file {dir}/mosquitto.log
log_type error
log_type warning
log_type notice
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class Broker:
    """A private broker; ``stop`` or leaving the ``with`` block ends it."""

    host = "127.0.0.1"

    def __init__(
        self, port: int | None = None, workdir: str | None = None, persistence: bool = True, conf: Path | None = None
    ) -> None:
        """``conf``: run this mosquitto.conf (e.g. from ``staffcall broker init``) instead of an open one;
        ``port`` must then be a listener in it."""
        self.port = port or free_port()
        self.conf = conf
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="staffcall-mosquitto-")
        self.dir = Path(workdir or self._tmp.name)
        self.persistence = persistence
        self.proc: subprocess.Popen | None = None
        self.embedded = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, allow_embedded: bool = True) -> Broker:
        binary = mosquitto_binary()
        if binary:
            conf = self.conf or self.dir / "mosquitto.conf"
            if self.conf is None:
                conf.write_text(CONF.format(port=self.port, dir=self.dir, persist=str(self.persistence).lower()))
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elif allow_embedded and self.conf is None:
            log.warning(
                "mosquitto is not installed; using the embedded Python broker (amqtt) on 127.0.0.1:%d. "
                "It is enough for a first look but drops some QoS 1 deliveries under the demo's load, so some "
                "calls may end unattended; install Mosquitto: sudo apt-get install mosquitto",
                self.port,
            )
            self._start_embedded()
        else:
            raise RuntimeError("mosquitto is not installed: sudo apt-get install mosquitto mosquitto-clients")
        if not wait_port(self.host, self.port):
            err = self.proc.stderr.read().decode() if self.proc and self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"the broker did not start on port {self.port}: {err.strip()}")
        return self

    def _start_embedded(self) -> None:
        from amqtt.broker import Broker as AmqttBroker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        started = threading.Event()
        self.embedded = True

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            broker = AmqttBroker(config, loop=loop)
            loop.run_until_complete(broker.start())
            started.set()
            loop.run_forever()
            loop.run_until_complete(broker.shutdown())

        self._thread = threading.Thread(target=run, name="embedded-broker", daemon=True)
        self._thread.start()
        started.wait(10)

    def kill(self) -> None:
        """SIGKILL the broker: a crash, for fault tests."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start(allow_embedded=False)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_broker(port: int | None = None, allow_embedded: bool = True) -> Broker:
    return Broker(port).start(allow_embedded=allow_embedded)
