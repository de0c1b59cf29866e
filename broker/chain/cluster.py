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
"""Head office's own logins: the ingest (the whole JetStream API) and the chain board (statuses only)."""
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


def board_permissions() -> dict[str, Any]:
    """The chain board reads the statuses and nothing else: an ordered consumer on ``CHAIN_STATUS``.

    It may ask JetStream for that stream's consumers (create, info, delete, flow control) and
    receive on its inboxes; it can publish no record and read no call record."""
    api = "$JS.API"
    return {
        "publish": {
            "allow": [
                f"{api}.INFO",
                f"{api}.STREAM.INFO.{STATUS_STREAM}",
                f"{api}.CONSUMER.CREATE.{STATUS_STREAM}",
                f"{api}.CONSUMER.CREATE.{STATUS_STREAM}.>",
                f"{api}.CONSUMER.INFO.{STATUS_STREAM}.>",
                f"{api}.CONSUMER.DELETE.{STATUS_STREAM}.>",
                "$JS.FC.>",
            ]
        },
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def render_node(spec: ClusterSpec, node: Node) -> str:
    """One node's nats-server config (JSON is valid NATS config syntax, and nothing needs quoting by hand)."""
    users: list[dict[str, Any]] = [
        {"user": store, "password": password, "permissions": store_permissions(store)}
        for store, password in sorted(spec.stores.items())
    ]
    for name, password in sorted(spec.services.items()):
        user: dict[str, Any] = {"user": name, "password": password}
        if name == "_board":
            user["permissions"] = board_permissions()
        users.append(user)
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

    def __init__(self, spec: ClusterSpec, folder: Path | None = None, write: bool = True) -> None:
        """``write=False``: start the ``<node>.conf`` files already in ``folder`` (``staffcall chain cluster init``)."""
        self.spec = spec
        self.folder = folder or spec.nodes[0].store_dir.parent.parent
        self.procs: dict[str, subprocess.Popen] = {}
        if write:
            self.confs = write_configs(spec, self.folder)
        else:
            self.confs = [self.folder / f"{n.name}.conf" for n in spec.nodes]

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


# --- ``staffcall chain cluster init | streams``: what a chain's IT runs once ---------------------------------

NODE_UNIT = """\
# One node of the chain's NATS cluster (JetStream + MQTT listener); one per machine, three in all.
# %i names the node: {conf_dir}/%i.conf (written by `staffcall chain cluster init`).
[Unit]
Description=staffcall chain cluster node %i (nats-server)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=nats
Group=nats
ExecStart={nats} -c {conf_dir}/%i.conf
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=2
# Lame duck on stop: the node hands its streams' leadership over before it goes.
KillSignal=SIGUSR2
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""
SERVICE_UNIT = """\
# staffcall chain {name}: {what}
[Unit]
Description=staffcall chain {name}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=staffcall
Group=staffcall
ExecStart={staffcall} chain {name} {args}
Restart=always
RestartSec=2
TimeoutStopSec=30
MemoryMax=512M

[Install]
WantedBy=multi-user.target
"""


def read_stores(path: Path) -> dict[str, str]:
    """``[stores.<id>]`` tables (``password`` optional: one is made when missing) -> id: password."""
    import tomllib

    raw = tomllib.loads(path.read_text(encoding="utf-8")).get("stores", {})
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f'{path}: no [stores.<id>] tables (e.g. [stores.s0001] then password = "...")')
    out = {}
    for store, entry in raw.items():
        if not store.replace("-", "").replace("_", "").isalnum() or store.startswith("_"):
            raise ValueError(f"{path}: store id {store!r}: use letters, digits, - and _ (not starting with _)")
        password = entry.get("password") if isinstance(entry, dict) else None
        out[store] = password or secrets.token_urlsafe(18)
    return out


def _secret_file(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def init(
    out: Path, stores: dict[str, str], hosts: list[str] | None, store_dir: str, local: bool = False
) -> ClusterSpec:
    """Write the three nodes' configs, the logins (stores, ingest, board) and the systemd units into ``out``."""
    if local:
        spec = ClusterSpec.local(out, stores)
    else:
        hosts = hosts or ["chain-1", "chain-2", "chain-3"]
        nodes = [
            Node(f"n{i}", host, 4222, 6222, 1883, 8222, Path(store_dir) / f"n{i}" / "js")
            for i, host in enumerate(hosts, start=1)
        ]
        spec = ClusterSpec(nodes, stores, {s: secrets.token_urlsafe(18) for s in SERVICES})
    out.mkdir(parents=True, exist_ok=True)
    for node in spec.nodes:
        _secret_file(out / f"{node.name}.conf", render_node(spec, node))
        if local:
            node.store_dir.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        _secret_file(out / f"{service.lstrip('_')}.toml",
                     f'username = "{service}"\npassword = "{spec.services[service]}"\n')  # fmt: skip
    logins = "".join(f'[stores.{s}]\nusername = "{s}"\npassword = "{p}"\n\n' for s, p in sorted(stores.items()))
    _secret_file(out / "store-logins.toml", "# Each store's [chain] username and password.\n\n" + logins)
    servers = ",".join(spec.servers)
    units = out / "systemd"
    units.mkdir(exist_ok=True)
    (units / "staffcall-chain-node@.service").write_text(
        NODE_UNIT.format(nats="/usr/sbin/nats-server", conf_dir="/etc/staffcall-chain"), encoding="utf-8"
    )
    for name, what, args in (
        ("ingest", "every store's call records into Parquet, once per call",
         f"--data /srv/staffcall-chain --servers {servers} --credentials /etc/staffcall-chain/ingest.toml"),
        ("board", "the live page of every store",
         f"--servers {servers} --credentials /etc/staffcall-chain/board.toml --host 0.0.0.0 --port 8090"),
    ):  # fmt: skip
        unit = SERVICE_UNIT.format(name=name, what=what, staffcall="/opt/staffcall/venv/bin/staffcall", args=args)
        (units / f"staffcall-chain-{name}.service").write_text(unit, encoding="utf-8")
    return spec


async def make_streams(servers: list[str], user: str, password: str, replicas: int) -> None:
    import nats

    nc = await nats.connect(servers=servers, user=user, password=password, connect_timeout=10)
    try:
        await ensure_streams(nc.jetstream(timeout=20), replicas=replicas)
    finally:
        await nc.close()


def add_arguments(parser: Any) -> None:
    sub = parser.add_subparsers(dest="cluster_command", metavar="CLUSTER_COMMAND", required=True)
    p = sub.add_parser("init", help="write the three nodes' configs, the logins and the systemd units")
    p.add_argument("--out", required=True, type=Path, help="folder to write into (configs are mode 0600)")
    p.add_argument("--stores", required=True, type=Path, help="TOML with one [stores.<id>] table per store")
    p.add_argument("--hosts", help="the three nodes' addresses, comma separated (default chain-1,chain-2,chain-3)")
    p.add_argument("--store-dir", default="/var/lib/staffcall-chain", help="JetStream's folder on each node")
    p.add_argument("--local", action="store_true", help="three nodes on this machine's loopback (a trial)")
    p = sub.add_parser("streams", help="create (or bring up to date) the replicated streams on a running cluster")
    p.add_argument("--servers", required=True, help="the cluster's nodes, comma separated (nats://host:4222)")
    p.add_argument("--credentials", required=True, type=Path, help="the ingest's login file (ingest.toml)")
    p.add_argument("--replicas", type=int, default=3)
    parser.epilog = (
        "Example: staffcall chain cluster init --out /etc/staffcall-chain --stores stores.toml "
        "--hosts chain-1,chain-2,chain-3"
    )


def run(args: Any) -> int:
    import asyncio
    import sys
    import tomllib

    if args.cluster_command == "init":
        try:
            stores = read_stores(args.stores)
        except (OSError, ValueError) as exc:
            print(f"staffcall chain cluster init: {exc}", file=sys.stderr)
            return 2
        hosts = args.hosts.split(",") if args.hosts else None
        if hosts is not None and len(hosts) != 3:
            print("staffcall chain cluster init: --hosts takes three addresses", file=sys.stderr)
            return 2
        spec = init(args.out, stores, hosts, args.store_dir, local=args.local)
        print(f"wrote {len(spec.nodes)} node configs, {len(stores)} store logins and the units into {args.out}")
        print(f"then: staffcall chain cluster streams --servers {','.join(spec.servers)} "
              f"--credentials {args.out / 'ingest.toml'}")  # fmt: skip
        return 0
    login = tomllib.loads(args.credentials.read_text(encoding="utf-8"))
    asyncio.run(make_streams(args.servers.split(","), login["username"], login["password"], args.replicas))
    print(f"streams {CALLS_STREAM} and {STATUS_STREAM} ready ({args.replicas} replicas)")
    return 0
