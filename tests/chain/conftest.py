"""A chain on this machine, from real parts: a three-node NATS cluster (Debian's nats-server), store
stacks (Mosquitto from ``staffcall broker init`` with its bridge to the chain + ``staffcall hub``),
and ``staffcall chain ingest``, each its own process.

For the chain's other tests too: ``chain_cluster`` gives a started cluster with the streams made;
``ChainStore`` a store whose bridge reaches the cluster through a link the test can cut;
``ingest_process`` the ingest; ``parquet_keys`` what the files hold.

Example::

    def test_x(chain_cluster, tmp_path):
        store = ChainStore(tmp_path / "s1", "s1", chain_cluster)
        store.start_hub()
        store.on_shift("anna", "ben")
        store.call("c1")
        ...
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.chain.cluster import CALLS_STREAM, Cluster, ClusterSpec
from broker.contract.config import load_config
from broker.contract.mqtt import connect_async, make_client
from broker.mosquitto.setup import start_store_broker
from tests.faults.helpers import CuttableLink, start_hub, stop, wait
from tests.security.conftest import Peer, peer, write_secure_config

STORES = ("s1", "s2", "s3")


def run_async(coro: Any) -> Any:
    """``asyncio.run`` in a thread of its own: the session's Playwright browser keeps an event loop
    running in the main thread, where ``asyncio.run`` refuses to start another."""
    result: dict[str, Any] = {}

    def go() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def chain_password(store: str) -> str:
    return f"pw-{store}-0123456789"


class ChainCluster:
    """A started three-node cluster whose streams exist; ``kill_node``/``start_node`` for faults."""

    def __init__(self, folder: Path, stores: tuple[str, ...] = STORES) -> None:
        for attempt in range(3):
            # Free ports are picked before the nodes bind them: on a busy machine another process may take
            # one in between, and that node exits at start.  New ports, a clean folder, another try.
            run = folder / f"try{attempt}"
            self.spec = ClusterSpec.local(run, {s: chain_password(s) for s in stores})
            self.cluster = Cluster(self.spec, run)
            try:
                self.cluster.start()
                break
            except RuntimeError:
                self.cluster.stop()
                if attempt == 2:
                    raise
        self.servers = ",".join(self.spec.servers)
        self.ingest_password = self.spec.services["_ingest"]
        self.load_tag = 0
        """Message ids of ``load_stream``'s rounds: ``<tag>-<item>``, a new tag per load."""
        self.ingest_login = folder / "ingest.toml"
        self.ingest_login.write_text(f'username = "_ingest"\npassword = "{self.ingest_password}"\n')
        self.board_login = folder / "board.toml"
        self.board_login.write_text(f'username = "_board"\npassword = "{self.spec.services["_board"]}"\n')
        # The streams as a chain's IT makes them: the setup command, not the test.
        cmd = [sys.executable, "-m", "broker.cli", "chain", "cluster", "streams", "--servers", self.servers,
               "--credentials", str(self.ingest_login)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def stream_messages(self, stream: str) -> int:
        async def count() -> int:
            import nats

            try:  # a node just lost, a leader being elected: -1, "ask again"
                nc = await nats.connect(servers=self.live_servers(), user="_ingest", password=self.ingest_password)
            except Exception:
                return -1
            try:
                return (await nc.jetstream(timeout=10).stream_info(stream)).state.messages
            except Exception:
                return -1
            finally:
                await nc.close()

        return run_async(count())

    def ingest_waiting(self) -> int | None:
        """Records the ingest's consumer has not had acknowledged yet (None before it exists)."""

        async def ask() -> int | None:
            import nats

            from broker.chain.ingest import DURABLE

            try:  # a node down or a leader being elected: "not known yet", asked again
                nc = await nats.connect(servers=self.live_servers(), user="_ingest", password=self.ingest_password)
            except Exception:
                return None
            try:
                info = await nc.jetstream(timeout=10).consumer_info(CALLS_STREAM, DURABLE)
            except Exception:
                return None
            finally:
                await nc.close()
            return info.num_pending + info.num_ack_pending

        return run_async(ask())

    def live_servers(self) -> list[str]:
        """The nodes whose process runs (a killed node is left out, so a client does not wait on it)."""
        alive = [n for n in self.spec.nodes if (p := self.cluster.procs.get(n.name)) is not None and p.poll() is None]
        return [f"nats://{n.host}:{n.client_port}" for n in alive] or self.spec.servers

    def stop(self) -> None:
        self.cluster.stop()


@pytest.fixture
def chain_cluster(tmp_path: Path) -> Iterator[ChainCluster]:
    cluster = ChainCluster(tmp_path / "cluster")
    yield cluster
    cluster.stop()


class ChainStore:
    """A store in the chain: its broker (with the generated bridge), its hub process, its customers and staff.

    The bridge dials ``link`` (a TCP relay to a cluster node's MQTT port): ``link.cut()`` is the WAN gone."""

    def __init__(self, folder: Path, store: str, chain: ChainCluster, node: int = 0, share_text: bool = False):
        folder.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.root = f"staffcall/{store}"
        self.link = CuttableLink(chain.cluster.mqtt_ports[node])
        path = write_secure_config(folder, tls=False, ack=60, esc=300, unatt=900)
        text = path.read_text().replace('id = "s1"', f'id = "{store}"', 1)
        text += (
            f'\n[chain]\nenabled = true\nhost = "127.0.0.1"\nport = {self.link.port}\nusername = "{store}"\n'
            f'password = "{chain_password(store)}"\nregion = "north"\nrestart_timeout_s = 1\n'
            f"share_text = {'true' if share_text else 'false'}\nstatus_every_s = 5\n"
        )
        path.write_text(text)
        self.config = path
        self.cfg = load_config(path)
        self.folder = folder
        self.db = Path(self.cfg.database.path)
        self.log = folder / "hub.log"
        self.hub: subprocess.Popen | None = None
        self.peers: dict[str, Peer] = {}
        self.pages: dict[str, str] = {}
        """call id -> the colleague first paged."""
        self.cond = threading.Condition()
        _, self.broker = start_store_broker(
            self.cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=_me()
        )
        self._watch()

    def _watch(self) -> None:
        self.monitor = make_client(f"chain-watch-{time.monotonic_ns()}", self.cfg.broker, identity="monitor")
        subscribed = threading.Event()
        self.monitor.on_connect = lambda c, *a: c.subscribe(
            [(f"{self.root}/page/+", 1), (f"{self.root}/hub/status", 1)]
        )
        self.monitor.on_subscribe = lambda *a: subscribed.set()
        self.online = threading.Event()

        def on_message(client, userdata, msg) -> None:
            if msg.topic.endswith("hub/status"):
                if msg.payload == b"online" and not msg.retain:
                    self.online.set()
                return
            page = json.loads(msg.payload)
            with self.cond:
                if page.get("kind") == "call":
                    self.pages.setdefault(page["id"], msg.topic.rsplit("/", 1)[1])
                self.cond.notify_all()

        self.monitor.on_message = on_message
        connect_async(self.monitor, self.cfg.broker)
        self.monitor.loop_start()
        assert subscribed.wait(10), "the monitor could not subscribe"

    def start_hub(self, timeout: float = 30.0) -> None:
        self.online.clear()
        self.hub = start_hub(self.config, log=self.log)
        assert self.online.wait(timeout), f"hub {self.store} not online; its log:\n{self.hub_log()[-3000:]}"

    def hub_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def login(self, identity: str) -> Peer:
        if identity not in self.peers:
            self.peers[identity] = peer(self.cfg, identity)
        return self.peers[identity]

    def on_shift(self, *staff: str) -> None:
        for s in staff:
            self.login(f"staff:{s}").publish(
                f"{self.root}/staff/{s}/presence", json.dumps({"status": "on_shift"}), retain=True
            )

    def call(self, call_id: str, device: str = "kiosk-1") -> None:
        """A customer presses; the colleague paged greets and resolves it (all through the store's broker)."""
        self.login(f"device:{device}").publish(f"{self.root}/call/{device}", json.dumps({"id": call_id}))

    def wait_paged(self, call_id: str, timeout: float = 30.0) -> str:
        with self.cond:
            assert self.cond.wait_for(lambda: call_id in self.pages, timeout), f"{self.store}: {call_id} never paged"
            return self.pages[call_id]

    def close_call(self, call_id: str) -> None:
        staff = self.wait_paged(call_id)
        me = self.login(f"staff:{staff}")
        for action in ("greet", "resolve"):
            me.publish(f"{self.root}/staff/{staff}/{action}", json.dumps({"id": call_id}))

    def closed(self) -> set[str]:
        from tests.faults.helpers import rows

        return {r["id"] for r in rows(self.db, "select id from calls where status in ('resolved', 'cancelled')")}

    def close(self) -> None:
        if self.hub is not None:
            stop(self.hub)
        for p in self.peers.values():
            p.close()
        self.monitor.disconnect()
        self.monitor.loop_stop()
        self.link.close()
        self.broker.stop()


def _me() -> str:
    import getpass

    return getpass.getuser()


def ingest_process(
    chain: ChainCluster, data: Path, log: Path, *extra: str, pause: str = "", mark: Path | None = None
) -> subprocess.Popen:
    """``staffcall chain ingest`` as its own process (its output appended to ``log``).

    ``pause`` (``before_commit:N`` / ``after_commit:N``): run it through ``tests.chain.ingest_hooked``,
    which stops at that step of the N-th flush and creates ``mark``."""
    out = open(log, "ab")  # noqa: SIM115 - the child keeps it
    env = {**os.environ, "STAFFCALL_CHAIN_PASSWORD": chain.ingest_password}
    if pause:
        env.update(STAFFCALL_TEST_PAUSE=pause, STAFFCALL_TEST_MARK=str(mark))
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.chain.ingest_hooked" if pause else "broker.cli",
                "chain",
                "ingest",
                "--data",
                str(data),
                "--servers",
                chain.servers,
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    finally:
        out.close()


def parquet_keys(data: Path) -> list[tuple[str, str]]:
    """Every (store, call id) in the chain's files, duplicates kept."""
    import pyarrow.parquet as pq

    for _ in range(20):  # a compaction may remove a file between the listing and the read: list again
        keys: list[tuple[str, str]] = []
        try:
            for path in sorted(data.glob("store=*/month=*/*.parquet")):
                table = pq.read_table(path, columns=["store", "call_id"])
                keys += list(zip(table.column("store").to_pylist(), table.column("call_id").to_pylist(), strict=True))
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        return keys
    raise AssertionError("the files kept changing while being read")


def wait_keys(data: Path, want: set[tuple[str, str]], timeout: float) -> bool:
    return wait(lambda: want <= set(parquet_keys(data)), timeout)


def record(store: str, call_id: str, day: int = 3) -> bytes:
    """One call record as a store's hub sends it (for tests that load the stream directly)."""
    from broker.contract.chain import CallRecord, encode

    return encode(
        CallRecord(
            store=store,
            region="north",
            call_id=call_id,
            device="kiosk-1",
            zone="toys",
            status="resolved",
            staff="anna",
            opened_at=f"2026-12-{day:02d}T10:00:00.000Z",
            local_date=f"2026-12-{day:02d}",
            local_weekday=day % 7,
            local_hour=11,
            time_to_greet_s=42.0,
            target_greet_s=60.0,
        )
    )


def load_stream(chain: ChainCluster, items: list[tuple[str, bytes]], server: int = 0, timeout: float = 180.0) -> None:
    """Publish (subject, payload) into the cluster as each store's own login would, until the stream
    holds them all: the bridge's QoS 1, resent until stored.  A store's login cannot receive (so no
    JetStream acks); each item carries its own message id instead, every round publishes them all
    again, and the stream's duplicate window drops those already stored.  A node lost or a leader
    being elected in between costs a round, never a record."""
    import nats

    async def publish_all() -> None:
        by_store: dict[str, list[tuple[int, str, bytes]]] = {}
        for i, (subject, payload) in enumerate(items):
            by_store.setdefault(subject.split(".")[1], []).append((i, subject, payload))
        chosen = chain.spec.servers[server]
        servers = [chosen] + [s for s in chain.live_servers() if s != chosen]
        for store, mine in by_store.items():
            nc = await nats.connect(servers=servers, user=store, password=chain_password(store), dont_randomize=True)
            for i, subject, payload in mine:
                await nc.publish(subject, payload, headers={"Nats-Msg-Id": f"{chain.load_tag}-{i}"})
            await nc.flush(timeout=30)
            await nc.close()

    want = chain.stream_messages(CALLS_STREAM) + len(items)
    chain.load_tag += 1
    deadline = time.monotonic() + timeout
    while True:
        run_async(publish_all())
        if wait(lambda: chain.stream_messages(CALLS_STREAM) >= want, 20):
            return
        assert time.monotonic() < deadline, f"the stream holds {chain.stream_messages(CALLS_STREAM)} of {want}"


from tests.chain.natsjs import nats_js  # noqa: E402, F401  (the board tests' single-node fixture)
