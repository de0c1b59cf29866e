"""``staffcall chain cluster init`` and ``streams``: the written configs start a real cluster, logins and all."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from broker.chain.cluster import Cluster, ClusterSpec, Node
from tests.chain.conftest import run_async


def staffcall(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "broker.cli", "chain", *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def spec_from(out) -> ClusterSpec:
    """The nodes as the written configs describe them (to start and watch those very files)."""
    nodes = []
    for i in (1, 2, 3):
        conf = json.loads((out / f"n{i}.conf").read_text())
        host, port = conf["listen"].rsplit(":", 1)
        nodes.append(Node(conf["server_name"], host, int(port), int(conf["cluster"]["listen"].rsplit(":", 1)[1]),
                          int(conf["mqtt"]["listen"].rsplit(":", 1)[1]), int(conf["http"].rsplit(":", 1)[1]),
                          out / f"n{i}"))  # fmt: skip
    return ClusterSpec(nodes, {})


async def publish_as(servers, user, password, subject, data=b"{}") -> list[str]:
    """Publish once; the errors the cluster answered (a permissions violation is one)."""
    import nats

    errors: list[str] = []

    async def on_error(exc):
        errors.append(str(exc))

    nc = await nats.connect(servers=servers, user=user, password=password, error_cb=on_error)
    try:
        await nc.publish(subject, data)
        await nc.flush(timeout=10)
        for _ in range(50):  # the violation comes back asynchronously
            if errors:
                break
            await __import__("asyncio").sleep(0.1)
    finally:
        await nc.close()
    return errors


async def stream_counts(servers, login) -> tuple[int, int]:
    import nats

    nc = await nats.connect(servers=servers, user=login["username"], password=login["password"])
    try:
        js = nc.jetstream(timeout=10)
        calls, status = await js.stream_info("CHAIN_CALLS"), await js.stream_info("CHAIN_STATUS")
        return calls.state.messages, status.state.messages
    finally:
        await nc.close()


def test_init_writes_configs_that_start_a_cluster_with_its_logins(tmp_path):
    stores = tmp_path / "stores.toml"
    stores.write_text('[stores.s1]\npassword = "pw-s1-0123456789"\n\n[stores.s2]\n')
    out = tmp_path / "chain"
    done = staffcall("cluster", "init", "--out", str(out), "--stores", str(stores), "--local")
    assert done.returncode == 0, done.stderr
    for name in ("n1.conf", "n2.conf", "n3.conf", "ingest.toml", "board.toml", "store-logins.toml"):
        assert (out / name).stat().st_mode & 0o077 == 0, name  # passwords: owner only
    units = out / "systemd"
    assert "nats-server -c /etc/staffcall-chain/%i.conf" in (units / "staffcall-chain-node@.service").read_text()
    assert "--credentials /etc/staffcall-chain/board.toml" in (units / "staffcall-chain-board.service").read_text()
    logins = tomllib.loads((out / "store-logins.toml").read_text())["stores"]
    assert logins["s1"]["password"] == "pw-s1-0123456789" and len(logins["s2"]["password"]) >= 20
    ingest = tomllib.loads((out / "ingest.toml").read_text())
    board = tomllib.loads((out / "board.toml").read_text())

    spec = spec_from(out)
    cluster = Cluster(spec, out, write=False)  # the files init wrote
    with cluster.start(timeout=90):
        servers = spec.servers
        done = staffcall(
            "cluster", "streams", "--servers", ",".join(servers), "--credentials", str(out / "ingest.toml")
        )
        assert done.returncode == 0, done.stderr
        assert run_async(stream_counts(servers, ingest)) == (0, 0)
        # A store publishes as itself; as another store it is refused and nothing lands.
        assert run_async(publish_as(servers, "s2", logins["s2"]["password"], "chain.s2.status")) == []
        refused = run_async(publish_as(servers, "s2", logins["s2"]["password"], "chain.s1.calls"))
        assert any("permissions violation" in e.lower() for e in refused), refused
        # The board may read statuses but publish nothing of the chain's.
        refused = run_async(publish_as(servers, "_board", board["password"], "chain.s1.status"))
        assert any("permissions violation" in e.lower() for e in refused), refused
        assert run_async(stream_counts(servers, ingest)) == (0, 1)


@pytest.mark.parametrize("text, why", [("", "no [stores"), ("[stores._x]\n", "store id")])
def test_init_explains_a_bad_stores_file(tmp_path, text, why):
    stores = tmp_path / "stores.toml"
    stores.write_text(text)
    done = staffcall("cluster", "init", "--out", str(tmp_path / "o"), "--stores", str(stores))
    assert done.returncode == 2 and why in done.stderr
