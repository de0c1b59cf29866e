"""Call -> first page latency through a real Mosquitto and the real hub, against the raw broker hop.

Starts a private Mosquitto and `staffcall hub` (a separate process, as in a store) with 20 staff
and 50 kiosks, then, in the same run:

1. raw hop: publish -> receive through the broker, at the same rate (the floor of one hop);
2. call -> page: a kiosk's call -> the hub -> the first page to a colleague (two hops plus the hub).

Each call is resolved as soon as its page arrives, so the kiosk is free for its next call.

    python bench/latency.py [--rate 100] [--seconds 10]

Target: call->page p50 <= 3x the raw hop p50; p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from broker.mosquitto import Broker  # noqa: E402

STAFF = 20
KIOSKS = 50


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def write_config(path: Path, port: int, db: Path) -> None:
    parts = [f'[store]\nid = "b"\nname = "Bench"\n[broker]\nport = {port}\n[database]\npath = "{db}"\n']
    parts += [f'[[staff]]\nid = "s{i}"\nname = "Staff {i}"\nzones = ["z{i % 5}"]\n' for i in range(STAFF)]
    parts += [f'[[devices]]\nid = "k{i}"\nkind = "kiosk"\nzone = "z{i % 5}"\n' for i in range(KIOSKS)]
    path.write_text("\n".join(parts))


def raw_hop(port: int, rate: float, count: int) -> list[float]:
    sent: dict[int, float] = {}
    got: list[float] = []
    done = threading.Event()
    sub = client(port, "bench-raw-sub")

    def on_message(c, u, msg):
        got.append(time.perf_counter() - sent[int(msg.payload)])
        if len(got) == count:
            done.set()

    sub.on_message = on_message
    ready = threading.Event()
    sub.on_subscribe = lambda *a: ready.set()
    sub.subscribe("bench/raw", qos=1)
    ready.wait(5)
    pub = client(port, "bench-raw-pub")
    for i in range(count):
        sent[i] = time.perf_counter()
        pub.publish("bench/raw", str(i), qos=1)
        time.sleep(1 / rate)
    done.wait(10)
    sub.loop_stop()
    pub.loop_stop()
    return got


def call_to_page(port: int, rate: float, count: int) -> list[float]:
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()
    watch = client(port, "bench-pages")
    actor = client(port, "bench-actor")

    def on_message(c, u, msg):
        now = time.perf_counter()
        page = json.loads(msg.payload)
        if page["id"] in sent and page["id"] not in got:
            got[page["id"]] = now - sent[page["id"]]
            staff = msg.topic.rsplit("/", 1)[1]
            actor.publish(f"staffcall/b/staff/{staff}/resolve", json.dumps({"id": page["id"]}), qos=1)
            if len(got) == count:
                done.set()

    watch.on_message = on_message
    ready = threading.Event()
    watch.on_subscribe = lambda *a: ready.set()
    watch.subscribe("staffcall/b/page/+", qos=1)
    ready.wait(5)
    for i in range(STAFF):
        actor.publish(f"staffcall/b/staff/s{i}/presence", '{"status": "on_shift"}', qos=1, retain=True)
    time.sleep(0.5)
    pub = client(port, "bench-kiosks")
    for i in range(count):
        call_id = f"bench-{i}"
        sent[call_id] = time.perf_counter()
        pub.publish(f"staffcall/b/call/k{i % KIOSKS}", json.dumps({"id": call_id}), qos=1)
        time.sleep(1 / rate)
    done.wait(15)
    for c in (watch, actor, pub):
        c.loop_stop()
    return list(got.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=100.0, help="messages per second (default 100)")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each phase runs (default 10)")
    args = ap.parse_args()
    count = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp, Broker().start(allow_embedded=False) as broker:
        cfg = Path(tmp) / "bench.toml"
        write_config(cfg, broker.port, Path(tmp) / "bench.db")
        hub = subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "hub", "--config", str(cfg)], stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(1.5)
            raw = raw_hop(broker.port, args.rate, count)
            calls = call_to_page(broker.port, args.rate, count)
        finally:
            hub.terminate()
            hub.wait(10)
    print(f"{count} messages at {args.rate:g}/s; {STAFF} staff, {KIOSKS} kiosks; hub in its own process")
    print(f"{'':<22}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values in (("raw broker hop", raw), ("call -> first page", calls)):
        ms = [v * 1000 for v in values]
        print(f"{label:<22}{len(ms):>6}{pct(ms, 50):>9.2f}{pct(ms, 99):>9.2f}{max(ms):>9.2f}")
    ratio = statistics.median(calls) / statistics.median(raw)
    p99 = pct([v * 1000 for v in calls], 99)
    print(
        f"ratio call->page p50 / raw hop p50: {ratio:.2f}x (target <= 3x); call->page p99 {p99:.2f} ms "
        f"(target <= 20 ms); lost: {count - len(calls)}"
    )
    return 0 if len(calls) == count else 1


if __name__ == "__main__":
    sys.exit(main())
