"""Can ``staffcall chain ingest`` keep up with a chain's stores, and catch up a store back from a week offline?

Starts the three-node NATS cluster (``broker.chain.cluster``, Debian's nats-server, JetStream R3 file
storage) on this machine, then:

1. A busy stretch of ``--stores`` stores (default 1,000), ``--calls`` records each, published into
   the cluster as each store's bridge would: one record per closed call on ``chain.<store>.calls``,
   through the replicated ``CHAIN_CALLS`` stream.  The first ``--mqtt`` stores (default 100) publish
   as Mosquitto's bridge does: MQTT 3.1.1 to a node's MQTT listener with the store's login, QoS 1,
   a persistent session, each record resent until acknowledged (paho-mqtt); the others are
   lightweight NATS publishers on their subjects.  Publishing is done before the ingest starts, so
   the ingest's rate is its own.
2. Baseline, same run, same stream: a raw JetStream pull consumer that fetches and acks every
   record (no decoding, no files): the cluster's own delivery rate on this machine.
3. ``staffcall chain ingest`` (its own process, real flags, fsync on) drains the same stream into
   Parquet: calls/s, and its peak RSS (polled).
4. A store back after a week offline: ``--week`` records (15,000 calls a day x 7) of one store land
   at once while the ingest runs live; the time until all are in the files.

Targets (issue 19): ingest >= 5,000 calls/s on a 2-core machine; a week caught up < 60 s; RSS <= 300 MB.

Run::

    python bench/chain.py                          # 1,000 stores x 200 calls, a 105,000-call week
    python bench/chain.py --stores 200 --calls 100 --week 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.chain.cluster import CALLS_STREAM, Cluster, ClusterSpec, ensure_streams  # noqa: E402
from broker.contract.chain import CallRecord, encode  # noqa: E402


def record(store: str, n: int, day: int) -> bytes:
    return encode(
        CallRecord(
            store=store,
            region=f"r{hash(store) % 8}",
            call_id=f"{store}-{day:02d}-{n:06d}",
            device="kiosk-1",
            zone="paint",
            reason="product",
            status="resolved",
            staff="anna",
            staff_name="Anna",
            opened_at=f"2026-11-{day:02d}T10:{n % 60:02d}:00.000Z",
            local_date=f"2026-11-{day:02d}",
            local_weekday=day % 7,
            local_hour=8 + n % 12,
            time_to_ack_s=12.5,
            time_to_greet_s=48.0,
            time_to_close_s=300.0,
            target_greet_s=60.0,
            repeat_presses=n % 3,
            feedback_score=1 + n % 4,
        )
    )


async def publish(cluster: Cluster, items: list[tuple[str, bytes]], expect_total: int) -> float:
    """Publish as the stores' logins (grouped per store), then wait until the stream holds ``expect_total``."""
    import nats

    spec = cluster.spec
    started = time.monotonic()
    by_store: dict[str, list[tuple[str, bytes]]] = {}
    for subject, payload in items:
        by_store.setdefault(subject.split(".")[1], []).append((subject, payload))
    stores = list(by_store)
    for i in range(0, len(stores), 50):  # 50 store connections at a time
        conns = await asyncio.gather(
            *(
                nats.connect(servers=[spec.servers[j % 3]], user=s, password=spec.stores[s])
                for j, s in enumerate(stores[i : i + 50])
            )
        )
        for nc, store in zip(conns, stores[i : i + 50], strict=True):
            for subject, payload in by_store[store]:
                await nc.publish(subject, payload)
        for nc in conns:
            await nc.flush(timeout=60)
            await nc.close()
    nc = await nats.connect(servers=spec.servers, user="_ingest", password=spec.services["_ingest"])
    js = nc.jetstream(timeout=30)
    while (await js.stream_info(CALLS_STREAM)).state.messages < expect_total:
        await asyncio.sleep(0.2)
    await nc.close()
    return time.monotonic() - started


async def baseline(cluster: Cluster, total: int) -> float:
    """Raw JetStream: a pull consumer of its own fetching and acking every record (no files)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    spec = cluster.spec
    nc = await nats.connect(servers=spec.servers, user="_ingest", password=spec.services["_ingest"])
    js = nc.jetstream(timeout=30)
    sub = await js.pull_subscribe(
        "chain.*.calls",
        durable="bench-baseline",
        stream=CALLS_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=200_000, ack_wait=120),
    )
    got, started = 0, time.monotonic()
    while got < total:
        try:
            msgs = await sub.fetch(5000, timeout=2)
        except TimeoutError:
            continue
        for m in msgs:
            await m.ack()
        got += len(msgs)
    await nc.flush()
    took = time.monotonic() - started
    await js.delete_consumer(CALLS_STREAM, "bench-baseline")
    await nc.close()
    return took


class Ingest:
    """``staffcall chain ingest`` as its own process; its peak RSS polled from outside."""

    def __init__(self, cluster: Cluster, data: Path, log: Path) -> None:
        env = {**os.environ, "STAFFCALL_CHAIN_PASSWORD": cluster.spec.services["_ingest"]}
        servers = ",".join(cluster.spec.servers)
        cmd = [sys.executable, "-m", "broker.cli", "chain", "ingest", "--data", str(data), "--servers", servers]
        self.proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
        self.peak = 0
        self.child_peak = 0
        """The kept summaries' rebuild (a child of the ingest, beside it): its own peak."""
        self._done = threading.Event()
        threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        p = psutil.Process(self.proc.pid)
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, p.memory_info().rss)
                for child in p.children(recursive=True):
                    self.child_peak = max(self.child_peak, child.memory_info().rss)
            except psutil.Error:
                if not p.is_running():
                    return
            time.sleep(0.5)

    def stop(self) -> None:
        self._done.set()
        self.proc.terminate()
        self.proc.wait(60)


async def waiting(cluster: Cluster) -> int:
    import nats

    from broker.chain.ingest import DURABLE

    spec = cluster.spec
    nc = await nats.connect(servers=spec.servers, user="_ingest", password=spec.services["_ingest"])
    try:
        info = await nc.jetstream(timeout=10).consumer_info(CALLS_STREAM, DURABLE)
        return info.num_pending + info.num_ack_pending
    except Exception:
        return -1
    finally:
        await nc.close()


def rows_in(data: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in data.glob("store=*/month=*/*.parquet"))


def until(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.5)
    return False


def publish_mqtt(cluster: Cluster, items: list[tuple[str, bytes]], timeout: float = 600.0) -> float:
    """Publish as the stores' bridges would: MQTT QoS 1 on ``chain/<store>/calls``, one persistent
    session per store spread over the nodes; returns once every record is acknowledged (PUBACK)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    started = time.monotonic()
    by_store: dict[str, list[bytes]] = {}
    for subject, payload in items:
        by_store.setdefault(subject.split(".")[1], []).append(payload)
    clients, infos = [], []
    for j, (store, payloads) in enumerate(by_store.items()):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bridge-{store}", clean_session=False,
                        protocol=mqtt.MQTTv311)  # fmt: skip
        c.username_pw_set(store, cluster.spec.stores[store])
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", cluster.mqtt_ports[j % len(cluster.mqtt_ports)], keepalive=60)
        c.loop_start()
        clients.append(c)
        infos += [c.publish(f"chain/{store}/calls", p, qos=1) for p in payloads]
    deadline = time.monotonic() + timeout
    for info in infos:
        info.wait_for_publish(max(1.0, deadline - time.monotonic()))
    unacked = sum(not i.is_published() for i in infos)
    for c in clients:
        c.disconnect()
        c.loop_stop()
    if unacked:
        raise SystemExit(f"bench: {unacked} MQTT records never acknowledged")
    return time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stores", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=200, help="records per store in the busy stretch")
    ap.add_argument("--week", type=int, default=105_000, help="records of the store back after a week offline")
    ap.add_argument("--mqtt", type=int, default=100, help="stores that publish over MQTT QoS 1 as the bridge does")
    args = ap.parse_args()
    stores = [f"st{i:04d}" for i in range(args.stores)]
    total = args.stores * args.calls
    with tempfile.TemporaryDirectory(prefix="staffcall-chain-bench-") as tmp:
        folder = Path(tmp)
        spec = ClusterSpec.local(folder / "cluster", {s: f"pw-{s}" for s in stores})
        started = time.monotonic()
        cluster = Cluster(spec, folder / "cluster").start()
        try:
            print(
                f"cluster: 3 nats-server nodes (JetStream R3, file storage) ready in {time.monotonic() - started:.1f} s"
            )

            async def setup() -> None:
                import nats

                nc = await nats.connect(servers=spec.servers, user="_ingest", password=spec.services["_ingest"])
                await ensure_streams(nc.jetstream(timeout=30))
                await nc.close()

            asyncio.run(setup())
            items = [(f"chain.{s}.calls", record(s, n, 1 + n % 28)) for n in range(args.calls) for s in stores]
            via_mqtt = set(stores[: args.mqtt])
            mqtt_items = [i for i in items if i[0].split(".")[1] in via_mqtt]
            if mqtt_items:
                took = publish_mqtt(cluster, mqtt_items)
                print(
                    f"published: {len(via_mqtt):,} stores x {args.calls:,} = {len(mqtt_items):,} records over MQTT "
                    f"QoS 1 (the bridge's semantics: persistent sessions, every PUBACK) in {took:.1f} s "
                    f"({len(mqtt_items) / took:,.0f}/s)"
                )
            rest = [i for i in items if i[0].split(".")[1] not in via_mqtt]
            took = asyncio.run(publish(cluster, rest, total))
            print(
                f"published: {args.stores - len(via_mqtt):,} stores x {args.calls:,} = {len(rest):,} records in "
                f"{took:.1f} s ({len(rest) / took:,.0f}/s, NATS publishes on chain.<store>.calls, each store's login)"
            )

            base_s = asyncio.run(baseline(cluster, total))
            base_rate = total / base_s
            print(
                f"baseline: raw JetStream pull + ack, no files: {total:,} in {base_s:.1f} s = {base_rate:,.0f} calls/s"
            )

            data = folder / "data"
            ingest = Ingest(cluster, data, folder / "ingest.log")
            t0 = time.monotonic()
            ok = until(lambda: asyncio.run(waiting(cluster)) == 0, 900) and rows_in(data) >= total
            ingest_s = time.monotonic() - t0  # (includes the process's start, ~1-2 s)
            rate = total / ingest_s
            target = "OK" if ok and rate >= 5000 else "MISSED"
            print(
                f"ingest:   {total:,} calls into Parquet in {ingest_s:.1f} s = {rate:,.0f} calls/s "
                f"({rate / base_rate:.2f}x the baseline; target >= 5,000/s: {target}); "
                f"{len(list(data.glob('store=*')))} store partitions"
            )

            week = [(f"chain.{stores[0]}.calls", record(stores[0], n, 1 + n // 15000)) for n in range(args.week)]
            week = [(s, p.replace(b'"call_id":"', b'"call_id":"week-')) for s, p in week]
            t1 = time.monotonic()
            asyncio.run(publish(cluster, week, total + args.week))
            ok = until(lambda: asyncio.run(waiting(cluster)) == 0, 300) and rows_in(data) >= total + args.week
            week_s = time.monotonic() - t1
            target = "OK" if ok and week_s < 60 else "MISSED"
            print(
                f"week:     a store back after a week offline: {args.week:,} records published and in the "
                f"files (and acknowledged) in {week_s:.1f} s (target < 60 s: {target})"
            )
            left = asyncio.run(waiting(cluster))
            ingest.stop()
            rss = ingest.peak / 2**20
            print(
                f"rss:      ingest peak {rss:.0f} MB (target <= 300 MB: {'OK' if rss <= 300 else 'MISSED'}); "
                f"its summaries' rebuild (a child process) peak {ingest.child_peak / 2**20:.0f} MB; "
                f"{left} records left unacknowledged at the end"
            )
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
