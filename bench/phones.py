"""Phones figures: QR Call tap -> page shown on a staff page, and push latency with 200 phones connected.

A private Mosquitto and hub run in this process; the web server (``staffcall web``)
runs as its own process so its RSS is the server's alone.  Phones are SSE clients
(httpx), the same stream the pages' EventSource reads.  Baseline, in the same run: a
bare paho publish -> receive through the same broker.

Usage: python bench/phones.py [--taps 20] [--phones 200]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker.config import load_config  # noqa: E402
from broker.hub import Hub  # noqa: E402
from broker.mosquitto import Broker  # noqa: E402
from phones.keys import qr_key  # noqa: E402
from tests.mqtt_helpers import Listener  # noqa: E402
from tests.phones.conftest import PHONES_TOML, PIN, PIN_HASH, SECRET, free_port  # noqa: E402  # noqa: E402, F401


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def write_toml(path: Path, broker_port: int, web_port: int, tmp: Path) -> None:
    from tests.conftest import STORE_TOML

    base = STORE_TOML.format(port=broker_port, db=str(tmp / "staffcall.db"), ack=30, esc=90, greet=120, unatt=600)
    base = base.replace('zones = ["electronics"]\n', f'zones = ["electronics"]\npin_hash = "{PIN_HASH}"\n', 1)
    extra = PHONES_TOML.format(secret=SECRET, web_port=web_port, grace=30, outbox=str(tmp))
    path.write_text(base + extra + f"port = {web_port}\ncall_every_s = 0.001\ncalls_per_ip = 1000000\n")


async def sse_lines(client: httpx.AsyncClient, url: str, queue: asyncio.Queue, tag) -> None:
    async with client.stream("GET", url) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                await queue.put((tag, time.perf_counter(), json.loads(line[6:])))


async def main_async(args, web: str, lst: Listener, cfg) -> dict:
    k = qr_key(SECRET, "qr-paint")
    limits = httpx.Limits(max_connections=args.phones + 20, max_keepalive_connections=args.phones + 20)
    async with (
        httpx.AsyncClient(base_url=web, timeout=30, limits=limits) as staff,
        httpx.AsyncClient(base_url=web, timeout=30) as phone,
    ):
        assert (await staff.post("/staff/api/login", json={"staff": "anna", "pin": PIN})).status_code == 200
        await staff.post("/staff/api/presence", json={"status": "on_shift"})
        await phone.get(f"/c/qr-paint?k={k}")
        q: asyncio.Queue = asyncio.Queue()
        staff_task = asyncio.create_task(sse_lines(staff, "/staff/events", q, "staff"))
        await q.get()
        tap = []
        for _ in range(args.taps):
            t0 = time.perf_counter()
            r = (await phone.post("/c/qr-paint/call", json={"k": k})).json()
            call = r["call"]
            while True:
                _, t, view = await q.get()
                if view.get("alert") and view["alert"]["id"] == call:
                    tap.append((t - t0) * 1000)
                    break
            lst.publish("staffcall/s1/call/qr-paint/cancel", {"id": call})
            while True:
                _, _, view = await q.get()
                if not view.get("alert"):
                    break
        # 200 phones: half customers following one call, half staff views (all of anna's session, one stream each).
        r = (await phone.post("/c/qr-paint/call", json={"k": k})).json()
        call = r["call"]
        tasks = []
        pq: asyncio.Queue = asyncio.Queue()
        clients = [httpx.AsyncClient(base_url=web, timeout=60) for _ in range(args.phones // 2)]
        for i, c in enumerate(clients):
            c.cookies.update(phone.cookies)
            tasks.append(asyncio.create_task(sse_lines(c, f"/c/qr-paint/events?k={k}&call={call}", pq, f"c{i}")))
        for i in range(args.phones - len(clients)):
            tasks.append(asyncio.create_task(sse_lines(staff, "/staff/events", pq, f"s{i}")))
        for _ in range(args.phones):
            await pq.get()
        await asyncio.sleep(0.5)
        while not pq.empty():
            pq.get_nowait()
        push = []
        lst.publish("staffcall/s1/staff/anna/ack", {"id": call})
        t0 = time.perf_counter()
        seen: set[str] = set()
        try:
            while len(seen) < args.phones:
                tag, t, _ = await asyncio.wait_for(pq.get(), 10)
                if tag not in seen:
                    seen.add(tag)
                    push.append((t - t0) * 1000)
        except TimeoutError:
            print(f"only {len(seen)} of {args.phones} phones got the update within 10 s")
        for t in tasks + [staff_task]:
            t.cancel()
        for c in clients:
            await c.aclose()
        return {"tap": tap, "push": push}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taps", type=int, default=20)
    ap.add_argument("--phones", type=int, default=200)
    args = ap.parse_args()
    faulthandler.dump_traceback_later(170, exit=True)  # a hung run says where
    tmp = Path(tempfile.mkdtemp(prefix="phones-bench-"))
    broker = Broker().start(allow_embedded=False)
    web_port = free_port()
    toml = tmp / "staffcall.toml"
    write_toml(toml, broker.port, web_port, tmp)
    cfg = load_config(toml)
    hub = Hub(cfg)
    hub.start()
    hub.ready.wait(10)
    lst = Listener(broker.port, ["staffcall/s1/bench/#"])
    base = []
    for i in range(20):
        t0 = time.perf_counter()
        lst.publish("staffcall/s1/bench/x", str(i))
        lst.wait_for(lambda m, i=i: m.payload == str(i).encode())
        base.append((time.perf_counter() - t0) * 1000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "web", "--config", str(toml)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    web = f"http://127.0.0.1:{web_port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{web}/staff", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        time.sleep(1.0)
        res = asyncio.run(main_async(args, web, lst, cfg))
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
        lst.close()
        hub.stop()
        broker.stop()
    b50 = statistics.median(base)
    t50 = statistics.median(res["tap"])
    p99 = pct(res["push"], 0.99)
    print(f"baseline  paho publish -> receive         p50 {b50:7.2f} ms")
    print(f"QR Call tap -> page on a staff page       p50 {t50:7.2f} ms  ({t50 / b50:.1f}x baseline)  target <= 50 ms")
    print(f"push to {len(res['push'])} phones  p99 {p99:7.2f} ms  ({p99 / b50:.1f}x baseline)  target <= 100 ms")
    print(f"web server RSS with {args.phones} phones          {rss:7.1f} MB   target <= 120 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
