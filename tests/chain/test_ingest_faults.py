"""The ingest under faults: killed -9 mid-batch, and a cluster node lost while it catches up.
Nothing lost, nothing doubled, counted in the files themselves."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from pathlib import Path

from broker.chain.cluster import CALLS_STREAM
from tests.chain.conftest import ingest_process, load_stream, parquet_keys, record, wait_keys
from tests.faults.helpers import stop, wait

FAST = ("--ack-wait", "5")
"""Records a killed ingest held come back after 5 s, not 30: the test waits less, the path is the same."""


def _calls(stores: int, per_store: int) -> tuple[list[tuple[str, bytes]], set[tuple[str, str]]]:
    items, want = [], set()
    for n in range(per_store):
        for s in range(1, stores + 1):
            store, call = f"s{s}", f"c{n:05d}"
            items.append((f"chain.{store}.calls", record(store, call, day=1 + n % 28)))
            want.add((store, call))
    return items, want


def test_ingest_killed_mid_batch_loses_and_doubles_nothing(chain_cluster, tmp_path: Path) -> None:
    items, want = _calls(3, 15000)
    resent = random.Random(7).sample(items, 2000)  # a store's re-sends after a hub restart
    load_stream(chain_cluster, items + resent)
    assert wait(lambda: chain_cluster.stream_messages(CALLS_STREAM) == len(items) + len(resent), 60)
    data, log = tmp_path / "data", tmp_path / "ingest.log"
    kills = 0
    rng = random.Random(11)
    # Small flushes, each run killed right after one of its flushes began to land: some kills fall
    # between a file's rename and the index's commit, others between the commit and the acks.
    while kills < 4:
        proc = ingest_process(chain_cluster, data, log, "--flush-rows", "400", "--flush-s", "0.5", *FAST)
        before = len(list(data.glob("store=*/month=*/*"))) if data.exists() else 0
        grew = wait(lambda before=before: data.exists() and len(list(data.glob("store=*/month=*/*"))) > before, 30)
        time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        if not grew or set(parquet_keys(data)) >= want:
            break
    assert kills >= 2 and set(parquet_keys(data)) < want, "the kills came while records were still waiting"
    proc = ingest_process(chain_cluster, data, log, "--flush-rows", "1500", *FAST)
    try:
        assert wait_keys(data, want, 120), log.read_text()[-3000:]
        assert wait(lambda: chain_cluster.ingest_waiting() == 0, 60), "every redelivery taken and acknowledged"
    finally:
        stop(proc)
    keys = parquet_keys(data)
    doubled = {k: n for k, n in Counter(keys).items() if n > 1}
    assert not doubled, f"{len(doubled)} calls written twice after {kills} kills, e.g. {list(doubled)[:3]}"
    assert set(keys) == want
    assert not list(data.glob("**/.*.tmp")), "no half-written file left behind"


def test_a_cluster_node_lost_during_ingest_loses_nothing(chain_cluster, tmp_path: Path) -> None:
    items, want = _calls(3, 3000)
    half = len(items) // 2
    load_stream(chain_cluster, items[:half])
    data, log = tmp_path / "data", tmp_path / "ingest.log"
    proc = ingest_process(chain_cluster, data, log, "--flush-rows", "2000", "--flush-s", "0.5", *FAST)
    try:
        assert wait(lambda: data.exists() and any(data.glob("store=*/month=*/*.parquet")), 60), log.read_text()
        chain_cluster.cluster.kill_node("n1")  # the node the stores' first records went to
        load_stream(chain_cluster, items[half:], server=1)  # stores keep sending through the others
        assert wait_keys(data, want, 120), log.read_text()[-3000:]
        assert wait(lambda: chain_cluster.ingest_waiting() == 0, 60), "every redelivery taken and acknowledged"
    finally:
        stop(proc)
    keys = parquet_keys(data)
    assert len(keys) == len(set(keys)) == len(want)
