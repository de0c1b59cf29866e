"""A store's closed calls reach the chain's files through the real path: hub -> Mosquitto -> bridge -> NATS
cluster -> ingest -> Parquet; and a store's login cannot publish as another store."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq

from broker.chain.cluster import CALLS_STREAM
from broker.contract.chain import CallRecord, encode
from tests.chain.conftest import ChainStore, chain_password, ingest_process, parquet_keys, wait_keys
from tests.faults.helpers import stop, wait


def test_closed_calls_reach_the_chain_once_and_without_text(chain_cluster, tmp_path: Path) -> None:
    stores = [ChainStore(tmp_path / s, s, chain_cluster, node=i) for i, s in enumerate(("s1", "s2"))]
    data = tmp_path / "data"
    ingest = ingest_process(chain_cluster, data, tmp_path / "ingest.log")
    try:
        for store in stores:
            store.start_hub()
            store.on_shift("anna", "ben")
        want = set()
        for n in range(5):
            for store in stores:
                call = f"{store.store}-c{n}"
                store.login("device:kiosk-1").publish(
                    f"{store.root}/call/kiosk-1", json.dumps({"id": call, "text": "my phone number is 0701234567"})
                )
                store.close_call(call)
                want.add((store.store, call))
        assert wait(lambda: {c for _, c in want} <= stores[0].closed() | stores[1].closed(), 30)
        assert wait_keys(data, want, 60), (
            f"in the files: {sorted(set(parquet_keys(data)))}; ingest log:\n{(tmp_path / 'ingest.log').read_text()}"
        )
    finally:
        stop(ingest)
        for store in stores:
            store.close()
    keys = parquet_keys(data)
    assert sorted(keys) == sorted(want), "every closed call exactly once"
    table = pq.read_table(sorted(data.glob("store=s1/month=*/*.parquet"))[0])
    row = table.to_pylist()[0]
    assert row["region"] == "north" and row["status"] == "resolved" and row["staff"] in ("anna", "ben")
    assert row["time_to_greet_s"] is not None and row["text"] == ""  # [chain] share_text is off


def test_a_store_cannot_publish_as_another(chain_cluster, tmp_path: Path) -> None:
    """s1's own chain login publishes a record on s2's topic, through the cluster's MQTT listener: dropped."""
    port = chain_cluster.cluster.mqtt_ports[1]
    forged = CallRecord(
        store="s2",
        call_id="forged-1",
        device="k",
        zone="z",
        status="resolved",
        opened_at="2026-12-03T10:00:00.000Z",
        local_date="2026-12-03",
        local_weekday=3,
        local_hour=11,
        target_greet_s=60.0,
    )
    own = CallRecord(**{**{f: getattr(forged, f) for f in forged.__struct_fields__}, "store": "s1", "call_id": "own-1"})
    for topic, record in (("chain/s2/calls", forged), ("chain/s1/calls", own)):
        subprocess.run(
            [
                "mosquitto_pub",
                "-p",
                str(port),
                "-u",
                "s1",
                "-P",
                chain_password("s1"),
                "-V",
                "mqttv311",
                "-q",
                "1",
                "-i",
                f"s1-forger-{time.monotonic_ns()}",
                "-t",
                topic,
                "-s",
            ],
            input=encode(record),
            check=False,
            timeout=30,
        )
    data = tmp_path / "data"
    ingest = ingest_process(chain_cluster, data, tmp_path / "ingest.log")
    try:
        assert wait_keys(data, {("s1", "own-1")}, 60), (tmp_path / "ingest.log").read_text()
    finally:
        stop(ingest)
    assert parquet_keys(data) == [("s1", "own-1")]
    assert chain_cluster.stream_messages(CALLS_STREAM) == 1, "the forged record never reached the stream"
    logs = "".join(p.read_text() for p in (tmp_path / "cluster").rglob("n*.log"))
    assert 'Publish Violation - User "s1", Subject "chain.s2.calls"' in logs
