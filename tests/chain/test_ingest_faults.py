"""The ingest under faults: killed -9 mid-batch, and a cluster node lost while it catches up.
Nothing lost, nothing doubled, counted in the files themselves."""

from __future__ import annotations

import random
import signal
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


KILLS = ("before_commit:2", "after_commit:1", "before_commit:1", "after_commit:1")
"""Where each run is killed: files renamed into place but not committed (the next start deletes them,
the cluster redelivers), then committed but not acknowledged (redelivered, skipped as known).  Three
flushes commit in all, each at most one fetch (5,000) plus a few: fewer records than the stream holds."""


def test_ingest_killed_mid_batch_loses_and_doubles_nothing(chain_cluster, tmp_path: Path) -> None:
    items, want = _calls(3, 8000)
    resent = random.Random(7).sample(items, 2000)  # a store's re-sends after a hub restart
    load_stream(chain_cluster, items + resent)
    assert wait(lambda: chain_cluster.stream_messages(CALLS_STREAM) == len(items) + len(resent), 120)
    data, log = tmp_path / "data", tmp_path / "ingest.log"
    for n, where in enumerate(KILLS):
        mark = tmp_path / f"paused-{n}"
        proc = ingest_process(chain_cluster, data, log, "--flush-rows", "1000", "--flush-s", "0.5", *FAST,
                              pause=where, mark=mark)  # fmt: skip
        try:
            assert wait(mark.exists, 120), f"never reached {where}:\n{log.read_text()[-3000:]}"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        if where.startswith("before_commit"):
            assert any(data.glob("store=*/month=*/*.parquet")), "the killed batch's files were on disk"
    assert set(parquet_keys(data)) < want, "the kills came while records were still waiting"
    proc = ingest_process(chain_cluster, data, log, "--flush-rows", "3000", *FAST)
    try:
        assert wait_keys(data, want, 180), log.read_text()[-3000:]
        assert wait(lambda: chain_cluster.ingest_waiting() == 0, 120), "every redelivery taken and acknowledged"
    finally:
        stop(proc)
    assert "removed" in log.read_text(), "a start found the files of a batch killed before its commit"
    keys = parquet_keys(data)
    doubled = {k: n for k, n in Counter(keys).items() if n > 1}
    assert not doubled, f"{len(doubled)} calls written twice after {len(KILLS)} kills, e.g. {list(doubled)[:3]}"
    assert set(keys) == want
    assert not list(data.glob("**/.*.tmp")), "no half-written file left behind"


def test_a_cluster_node_lost_during_ingest_loses_nothing(chain_cluster, tmp_path: Path) -> None:
    items, want = _calls(3, 3000)
    half = len(items) // 2
    load_stream(chain_cluster, items[:half])
    data, log = tmp_path / "data", tmp_path / "ingest.log"
    proc = ingest_process(chain_cluster, data, log, "--flush-rows", "2000", "--flush-s", "0.5", *FAST)
    try:
        assert wait(lambda: data.exists() and any(data.glob("store=*/month=*/*.parquet")), 120), log.read_text()
        chain_cluster.cluster.kill_node("n1")  # the node the stores' first records went to
        load_stream(chain_cluster, items[half:], server=1)  # stores keep sending through the others
        assert wait_keys(data, want, 180), log.read_text()[-3000:]
        assert wait(lambda: chain_cluster.ingest_waiting() == 0, 120), "every redelivery taken and acknowledged"
    finally:
        stop(proc)
    keys = parquet_keys(data)
    assert len(keys) == len(set(keys)) == len(want)
