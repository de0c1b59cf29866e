"""Call -> first page latency through the store's Mosquitto and the real hub, against the raw broker hop.

Sets up the broker exactly as `staffcall broker init` does (the generated mosquitto.conf, one login per
part, the ACL) and starts `staffcall hub` (a separate process, as in a store) with 20 staff and 50
kiosks, each client logged in as itself; then, in the same run:

1. raw hop: publish -> receive through the broker, at the same rate (the floor of one hop; the hub's
   login publishes, the monitor's receives);
2. call -> page: a kiosk's call -> the hub -> the first page to a colleague (two hops plus the hub).

Each call is resolved as soon as its page arrives, so the kiosk is free for its next call.

    python bench/latency.py [--rate 100] [--seconds 10]

Target: call->page p50 <= 3x the raw hop p50; p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import getpass
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from broker.contract.config import Config, load_config  # noqa: E402
from broker.contract.mqtt import connect_async, make_client, wait_connected  # noqa: E402
from broker.mosquitto.runner import free_port  # noqa: E402
from broker.mosquitto.setup import start_store_broker  # noqa: E402

STAFF = 20
KIOSKS = 50


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def client(cfg: Config, name: str, identity: str) -> mqtt.Client:
    """A client as the product makes one (its own login, TCP_NODELAY), connected."""
    c = make_client(name, cfg.broker, identity=identity)
    connect_async(c, cfg.broker)
    c.loop_start()
    if not wait_connected(c, 10):
        raise SystemExit(f"bench: {identity} could not log in to the store broker")
    return c


def subscribe(c: mqtt.Client, topic: str) -> None:
    ready = threading.Event()
    c.on_subscribe = lambda *a: ready.set()
    c.subscribe(topic, qos=1)
    if not ready.wait(5):
        raise SystemExit(f"bench: no SUBACK for {topic}")


def write_config(path: Path, port: int, db: Path) -> None:
    parts = [
        f'[store]\nid = "b"\nname = "Bench"\n[broker]\nport = {port}\ncredentials = "broker/credentials.toml"\n'
        f'[database]\npath = "{db}"\n'
    ]
    parts += [f'[[staff]]\nid = "s{i}"\nname = "Staff {i}"\nzones = ["z{i % 5}"]\n' for i in range(STAFF)]
    parts += [f'[[devices]]\nid = "k{i}"\nkind = "kiosk"\nzone = "z{i % 5}"\n' for i in range(KIOSKS)]
    path.write_text("\n".join(parts))


def raw_hop(cfg: Config, rate: float, count: int) -> list[float]:
    sent: dict[int, float] = {}
    got: list[float] = []
    done = threading.Event()
    sub = client(cfg, "bench-raw-sub", "monitor")

    def on_message(c, u, msg):
        got.append(time.perf_counter() - sent[int(msg.payload)])
        if len(got) == count:
            done.set()

    sub.on_message = on_message
    subscribe(sub, "staffcall/b/bench/raw")
    pub = client(cfg, "bench-raw-pub", "hub")
    for i in range(count):
        sent[i] = time.perf_counter()
        pub.publish("staffcall/b/bench/raw", str(i), qos=1)
        time.sleep(1 / rate)
    done.wait(10)
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()
    return got


def call_to_page(cfg: Config, rate: float, count: int) -> list[float]:
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()
    watch = client(cfg, "bench-pages", "monitor")
    staff = [client(cfg, f"bench-pager-s{i}", f"staff:s{i}") for i in range(STAFF)]
    kiosks = [client(cfg, f"bench-kiosk-k{i}", f"device:k{i}") for i in range(KIOSKS)]

    def on_message(c, u, msg):
        now = time.perf_counter()
        page = json.loads(msg.payload)
        if page["id"] in sent and page["id"] not in got:
            got[page["id"]] = now - sent[page["id"]]
            who = msg.topic.rsplit("/", 1)[1]
            staff[int(who[1:])].publish(f"staffcall/b/staff/{who}/resolve", json.dumps({"id": page["id"]}), qos=1)
            if len(got) == count:
                done.set()

    watch.on_message = on_message
    subscribe(watch, "staffcall/b/page/+")
    for i, c in enumerate(staff):
        c.publish(f"staffcall/b/staff/s{i}/presence", '{"status": "on_shift"}', qos=1, retain=True)
    time.sleep(0.5)
    for i in range(count):
        call_id = f"bench-{i}"
        sent[call_id] = time.perf_counter()
        kiosks[i % KIOSKS].publish(f"staffcall/b/call/k{i % KIOSKS}", json.dumps({"id": call_id}), qos=1)
        time.sleep(1 / rate)
    done.wait(15)
    for c in (watch, *staff, *kiosks):
        c.disconnect()
        c.loop_stop()
    return list(got.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=100.0, help="messages per second (default 100)")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each phase runs (default 10)")
    args = ap.parse_args()
    count = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        write_config(path, free_port(), Path(tmp) / "bench.db")
        cfg = load_config(path)
        # Our own account: a root bench would otherwise hand the broker to "mosquitto", which cannot enter tmp.
        _, broker = start_store_broker(cfg, Path(tmp) / "broker", run_as=getpass.getuser())
        hub = subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "hub", "--config", str(path)], stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(1.5)
            raw = raw_hop(cfg, args.rate, count)
            calls = call_to_page(cfg, args.rate, count)
        finally:
            hub.terminate()
            hub.wait(10)
            broker.stop()
    print(f"{count} messages at {args.rate:g}/s; {STAFF} staff, {KIOSKS} kiosks; hub in its own process")
    print("store broker: the config `staffcall broker init` writes; every client logged in as itself (ACL on)")
    print(f"{'':<22}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values in (("raw broker hop", raw), ("call -> first page", calls)):
        ms = [v * 1000 for v in values]
        print(f"{label:<22}{len(ms):>6}{pct(ms, 50):>9.2f}{pct(ms, 99):>9.2f}{max(ms):>9.2f}")
    ratio = statistics.median(calls) / statistics.median(raw)
    p99 = pct([v * 1000 for v in calls], 99)
    p99_ratio = p99 / pct([v * 1000 for v in raw], 99)
    print(
        f"ratio call->page p50 / raw hop p50: {ratio:.2f}x (target <= 3x, stretch 2.5x); p99: {p99_ratio:.2f}x; "
        f"call->page p99 {p99:.2f} ms (target <= 20 ms); lost: {count - len(calls)}"
    )
    return 0 if len(calls) == count else 1


if __name__ == "__main__":
    sys.exit(main())
