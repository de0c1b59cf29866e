"""The chain's cluster: three NATS nodes with JetStream and their MQTT listener, from one description.

Head office runs Debian's ``nats-server`` on three machines (or three units on one, for a test).
``render_node`` writes one node's config: its routes to the other two, JetStream on file storage,
the ``mqtt`` listener the stores' Mosquitto bridges log in to, and the logins: one per store, which
may publish only on its own ``chain.<store>.>`` (MQTT ``chain/<store>/...``), and the head office's
services (``_ingest``, ``_board``).  ``ensure_streams`` creates the two replicated streams the
records land in.  Passwords stay plain in the 0600 node configs (this Python has no bcrypt; NATS
also takes bcrypt hashes from ``nats server passwd`` for a chain that wants them).

Why NATS and not RabbitMQ: docs/chain.md.

Example::

    spec = ClusterSpec.local(Path("chain"), stores={"s1": "pw1", "s2": "pw2"})
    with Cluster(spec).start() as cluster:
        print(cluster.servers, cluster.mqtt_ports)
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALLS_STREAM = "CHAIN_CALLS"
STATUS_STREAM = "CHAIN_STATUS"
CALLS_SUBJECTS = "chain.*.calls"
STATUS_SUBJECTS = "chain.*.status"
ACCOUNT = "CHAIN"
SERVICES = ("_ingest", "_board")
"""Head office's own logins: the ingest and the chain board (JetStream API, every store's subjects)."""
CALLS_MAX_AGE_S = 35 * 86400
"""Call records stay in the stream five weeks: the files are the record; the stream is the buffer
an ingest that was down catches up from (and a second ingest could be started from)."""


def nats_binary() -> str:
    found = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)
    if not found:
        raise RuntimeError("nats-server is missing: sudo apt-get install nats-server")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    name: str
    host: str
    client_port: int
    cluster_port: int
    mqtt_port: int
    http_port: int
    store_dir: Path


@dataclass
class ClusterSpec:
    """The cluster's nodes and logins; ``stores`` maps a store id to its chain password."""

    nodes: list[Node]
    stores: dict[str, str]
    services: dict[str, str] = field(default_factory=dict)
    name: str = "staffcall-chain"
    max_file_store: str = "20G"

    @classmethod
    def local(cls, folder: Path, stores: dict[str, str], nodes: int = 3) -> ClusterSpec:
        """``nodes`` nodes on this machine's loopback with free ports (tests, the bench, a trial)."""
        made = [
            Node(f"n{i}", "127.0.0.1", free_port(), free_port(), free_port(), free_port(), folder / f"n{i}" / "js")
            for i in range(1, nodes + 1)
        ]
        return cls(made, stores, {s: secrets.token_urlsafe(18) for s in SERVICES})

    @property
    def servers(self) -> list[str]:
        return [f"nats://{n.host}:{n.client_port}" for n in self.nodes]


def store_permissions(store: str) -> dict[str, Any]:
    """A store publishes only as itself; it reads nothing (its bridge only sends)."""
    return {"publish": {"allow": [f"chain.{store}.>"]}, "subscribe": {"deny": [">"]}}


def render_node(spec: ClusterSpec, node: Node) -> str:
    """One node's nats-server config (JSON is valid NATS config syntax, and nothing needs quoting by hand)."""
    users: list[dict[str, Any]] = [
        {"user": store, "password": password, "permissions": store_permissions(store)}
        for store, password in sorted(spec.stores.items())
    ]
    users += [{"user": name, "password": password} for name, password in sorted(spec.services.items())]
    routes = [f"nats://{n.host}:{n.cluster_port}" for n in spec.nodes if n is not node]
    conf: dict[str, Any] = {
        "server_name": node.name,
        "listen": f"{node.host}:{node.client_port}",
        "http": f"{node.host}:{node.http_port}",
        "max_payload": 65536,
        "jetstream": {"store_dir": str(node.store_dir), "max_file_store": spec.max_file_store},
        "cluster": {"name": spec.name, "listen": f"{node.host}:{node.cluster_port}", "routes": routes},
        # MQTT sessions and their unacknowledged messages are kept in JetStream, replicated like the records.
        "mqtt": {"listen": f"{node.host}:{node.mqtt_port}", "stream_replicas": min(3, len(spec.nodes))},
        # No anonymous login: every client names a user of the chain's account.
        "accounts": {ACCOUNT: {"jetstream": "enabled", "users": users}},
    }
    return json.dumps(conf, indent=2) + "\n"


def write_configs(spec: ClusterSpec, folder: Path) -> list[Path]:
    """Each node's config (mode 0600: it holds the stores' passwords) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for node in spec.nodes:
        node.store_dir.mkdir(parents=True, exist_ok=True)
        path = folder / f"{node.name}.conf"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(render_node(spec, node), encoding="utf-8")
        paths.append(path)
    return paths


class Cluster:
    """The cluster's nodes as child processes (tests, the bench, a trial on one machine)."""

    def __init__(self, spec: ClusterSpec, folder: Path | None = None) -> None:
        self.spec = spec
        self.folder = folder or spec.nodes[0].store_dir.parent.parent
        self.procs: dict[str, subprocess.Popen] = {}
        self.confs = write_configs(spec, self.folder)

    @property
    def servers(self) -> list[str]:
        return self.spec.servers

    @property
    def mqtt_ports(self) -> list[int]:
        return [n.mqtt_port for n in self.spec.nodes]

    def node(self, name: str) -> Node:
        return next(n for n in self.spec.nodes if n.name == name)

    def start(self, timeout: float = 60.0) -> Cluster:
        for node, conf in zip(self.spec.nodes, self.confs, strict=True):
            self.start_node(node.name, conf, wait=False)
        self.wait_ready(timeout)
        return self

    def start_node(self, name: str, conf: Path | None = None, wait: bool = True, timeout: float = 60.0) -> None:
        conf = conf or self.folder / f"{name}.conf"
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.procs[name] = subprocess.Popen([nats_binary(), "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready(timeout, [name])

    def kill_node(self, name: str) -> None:
        """SIGKILL one node: a machine lost, for the fault tests."""
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def wait_ready(self, timeout: float = 60.0, names: list[str] | None = None) -> None:
        """Until each node answers ``/healthz`` (JetStream up, its streams current with the cluster)."""
        deadline = time.monotonic() + timeout
        for node in self.spec.nodes:
            if names is not None and node.name not in names:
                continue
            while True:
                proc = self.procs.get(node.name)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"nats node {node.name} exited ({proc.returncode}); see {node.name}.log")
                if healthy(node):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nats node {node.name} not healthy in {timeout:.0f} s")
                time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def healthy(node: Node) -> bool:
    try:
        with urllib.request.urlopen(f"http://{node.host}:{node.http_port}/healthz", timeout=2) as r:
            return json.loads(r.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


async def ensure_streams(js: Any, replicas: int = 3) -> None:
    """Create (or bring up to date) the two streams the stores' records land in; safe to run each start.

    ``js`` is a nats-py JetStream context."""
    from nats.js.api import DiscardPolicy, StorageType, StreamConfig

    wanted = [
        StreamConfig(
            name=CALLS_STREAM,
            subjects=[CALLS_SUBJECTS],
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=CALLS_MAX_AGE_S,
            discard=DiscardPolicy.OLD,
            duplicate_window=120,
        ),
        # The board wants each store's latest status only: one message per subject, a day at most.
        StreamConfig(
            name=STATUS_STREAM,
            subjects=[STATUS_SUBJECTS],
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_msgs_per_subject=1,
            max_age=86400,
            discard=DiscardPolicy.OLD,
        ),
    ]
    from nats.js.errors import NotFoundError

    for config in wanted:
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
