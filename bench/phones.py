"""Phones figures: QR Call tap -> page shown on a staff page, and push latency with 200 phones connected.

Everything runs on loopback in its own process: the store's Mosquitto (the config, logins
and ACL that ``staffcall broker init`` writes), ``staffcall hub``, ``staffcall web`` (so the web
server's RSS is its own) and, as the baseline, a bare Starlette SSE server fed by one paho
subscription (``--baseline-server``).  Every MQTT client is logged in as the part it plays: the
web server as "phones", Anna's actions as "staff:anna", the watcher as "monitor", the baseline's
publisher as "hub" (the one login that may write outside the parts' own topics).

- Tap -> page, HTTP/SSE level: the phone's ``POST /c/{device}/call`` -> the call on the
  wire -> the hub pages Anna -> her ``/staff/events`` stream carries the alert.  Baseline:
  one raw MQTT hop (publish -> receive through the same broker, TCP_NODELAY like our clients).
- Tap -> page in a real browser: Debian's headless Chromium, a QR page at 390x844 and a
  signed-in staff page; from the Call button's click on one page to the moment the staff
  page's alert is visible (both read ``performance.timeOrigin + performance.now()``).
- 200 phones: half customers following one call, half staff streams (Anna's session),
  all plain SSE clients (httpx).  Each round changes the call (ack, greet, resolve), and
  the latency is from the MQTT publish to each stream's next event.  Baseline: the same
  200 streams and rounds against the bare SSE server.

Usage: python bench/phones.py [--taps 20] [--browser-taps 10] [--phones 200] [--cycles 3]
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
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._store import ROOT_TOPIC, close, connected, start_store  # noqa: E402
from broker.contract.config import Config, load_config  # noqa: E402
from broker.contract.pins import hash_pin  # noqa: E402
from broker.mosquitto.runner import free_port  # noqa: E402
from broker.web.keys import qr_key  # noqa: E402

T = ROOT_TOPIC
WAIT_S = 10.0
SECRET = "bench-secret-0123456789abcdef"
PIN = "4711"
PUSH = f"{T}/bench/push"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--no-first-run"]
PHONES_TOML = """
[[devices]]
id = "qr-paint"
kind = "qr"
zone = "electronics"
label = "Paint, aisle 7"

[web]
qr_secret = "{secret}"
public_url = "http://127.0.0.1:{web_port}"
port = {web_port}
free_text = true
staff_offline_after_s = 30
outbox_dir = "{outbox}"
call_every_s = 0.001
calls_per_ip = 1000000
"""


class BenchError(Exception):
    """A phase did not complete: says which, instead of hanging."""


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


# --- the baseline: a bare Starlette SSE endpoint fed by one MQTT subscription ---------------------


def baseline_server(port: int, config: str) -> None:
    """Run the bare SSE server (a child process): every message on ``bench/push`` goes to every stream."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    streams: set[asyncio.Queue] = set()
    loop_box: list[asyncio.AbstractEventLoop] = []

    def fan_out(data: bytes) -> None:
        for q in list(streams):
            q.put_nowait(data)

    def on_message(client, userdata, msg) -> None:
        if loop_box:
            loop_box[0].call_soon_threadsafe(fan_out, msg.payload)

    async def events(request):
        if not loop_box:
            loop_box.append(asyncio.get_running_loop())
        q: asyncio.Queue = asyncio.Queue()
        streams.add(q)

        async def gen():
            try:
                yield "data: {}\n\n"
                while True:
                    yield f"data: {(await q.get()).decode()}\n\n"
            finally:
                streams.discard(q)

        return StreamingResponse(gen(), media_type="text/event-stream")

    client = connected(load_config(config), "bench-baseline-sse", "monitor", subscribe=[PUSH])
    client.on_message = on_message
    uvicorn.run(Starlette(routes=[Route("/events", events)]), host="127.0.0.1", port=port, log_level="warning")


# --- helpers ---------------------------------------------------------------------------------------


class Mqtt:
    """A bench MQTT client (TCP_NODELAY via make_client) that records what arrives, with waits that say what hung."""

    def __init__(self, cfg: Config, name: str, identity: str, topics: list[str] = ()) -> None:
        self.got: list[tuple[float, str, bytes]] = []
        self.cond = threading.Condition()
        self.client = connected(cfg, name, identity, subscribe=list(topics))
        self.client.on_message = self._on_message

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.got.append((time.perf_counter(), msg.topic, msg.payload))
            self.cond.notify_all()

    def publish(self, topic: str, payload) -> None:
        self.client.publish(topic, payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos=1)

    def wait(self, pred, what: str, start: int = 0) -> tuple[float, str, bytes]:
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                for item in self.got[start:]:
                    if pred(item):
                        return item
                left = deadline - time.monotonic()
                if (left <= 0 or not self.cond.wait(left)) and time.monotonic() >= deadline:
                    raise BenchError(f"waited {WAIT_S:.0f} s for {what}")

    def close(self) -> None:
        close(self.client)


def raw_hop(cfg: Config, n: int) -> list[float]:
    sub = Mqtt(cfg, "bench-hop-sub", "monitor", [f"{T}/bench/hop"])
    pub = Mqtt(cfg, "bench-hop-pub", "hub")
    out = []
    for i in range(n):
        start = len(sub.got)
        t0 = time.perf_counter()
        pub.publish(f"{T}/bench/hop", str(i))
        t, _, _ = sub.wait(lambda m, i=i: m[2] == str(i).encode(), f"raw hop {i}", start)
        out.append((t - t0) * 1000)
    sub.close()
    pub.close()
    return out


async def qget(q: asyncio.Queue, what: str):
    try:
        return await asyncio.wait_for(q.get(), WAIT_S)
    except TimeoutError:
        raise BenchError(f"waited {WAIT_S:.0f} s for {what}") from None


async def sse_lines(client: httpx.AsyncClient, url: str, queue: asyncio.Queue, tag) -> None:
    async with client.stream("GET", url) as r:
        if r.status_code != 200:
            raise BenchError(f"{url}: HTTP {r.status_code}")
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                await queue.put((tag, time.perf_counter(), json.loads(line[6:])))


def wait_until(url: str, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise BenchError(f"{what} did not answer {url}")


# --- the phases ------------------------------------------------------------------------------------


async def tap_to_page(web: str, taps: int, mqtt: Mqtt) -> list[float]:
    """Phone POST /call -> the alert on Anna's staff stream; the phone cancels its own call after each tap.

    The next tap waits until the *phone's* view shows the call closed: the server's call
    point and its staff view are two MQTT subscribers, and a tap that comes before the call
    point has seen the cancel rejoins the old call (this race hung the first version of this bench).
    """
    k = qr_key(SECRET, "qr-paint")
    async with httpx.AsyncClient(base_url=web, timeout=WAIT_S) as staff, httpx.AsyncClient(base_url=web) as phone:
        if (await staff.post("/staff/api/login", json={"staff": "anna", "pin": PIN})).status_code != 200:
            raise BenchError("Anna could not sign in")
        await staff.post("/staff/api/presence", json={"status": "on_shift"})
        await phone.get(f"/c/qr-paint?k={k}")
        q: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(sse_lines(staff, "/staff/events", q, "staff"))
        await qget(q, "Anna's first staff view")
        out = []
        try:
            for i in range(taps):
                t0 = time.perf_counter()
                r = (await phone.post("/c/qr-paint/call", json={"k": k})).json()
                if not r.get("new"):
                    raise BenchError(f"tap {i} did not make a new call: {r}")
                call = r["call"]
                while True:
                    _, t, view = await qget(q, f"the alert for {call} on Anna's page")
                    if (view.get("alert") or {}).get("id") == call:
                        out.append((t - t0) * 1000)
                        break
                await phone.post("/c/qr-paint/cancel", json={"k": k, "call": call, "token": r["token"]})
                for _ in range(int(WAIT_S / 0.01)):
                    v = (await phone.get(f"/c/qr-paint/view.json?k={k}&call={call}&token={r['token']}")).json()
                    if v.get("screen") == "cancelled":
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise BenchError(f"the phone never saw {call} cancelled")
                mqtt.wait(lambda m, c=call: m[1] == f"{T}/state/{c}" and b'"cancelled"' in m[2], f"{call} cancelled")
        finally:
            task.cancel()
        return out


def browser_tap_to_page(web: str, taps: int) -> list[float]:
    """Real Chromium: click Call on a QR page -> the alert visible on a signed-in staff page."""
    from playwright.sync_api import sync_playwright

    k = qr_key(SECRET, "qr-paint")
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        phone_size = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
        staff = browser.new_context(**phone_size).new_page()
        staff.goto(f"{web}/staff")
        staff.select_option("#who", "anna")
        staff.fill("#pin", PIN)
        staff.click("button[type=submit]")
        staff.wait_for_selector("[data-status=on_shift]")
        staff.click("[data-status=on_shift]")
        staff.evaluate(
            """() => { window.shownAt = {};
              new MutationObserver(() => { const id = document.body.dataset.alert;
                if (id && !window.shownAt[id] && !document.getElementById('alert').hidden)
                  window.shownAt[id] = performance.timeOrigin + performance.now(); })
              .observe(document.body,
                {attributes: true, subtree: true, attributeFilter: ['data-alert', 'hidden']}); }"""
        )
        for _ in range(taps):
            ctx = browser.new_context(**phone_size)  # a new phone each tap: its own cookie and storage
            page = ctx.new_page()
            page.goto(f"{web}/c/qr-paint?k={k}&lang=en")
            page.wait_for_function("document.body.dataset.view === 'welcome'")
            page.evaluate(
                "document.getElementById('call').addEventListener('click',"
                " () => { window.tappedAt = performance.timeOrigin + performance.now(); }, {capture: true})"
            )
            page.click("#call")
            page.wait_for_function("document.body.dataset.view === 'waiting'")
            call = page.evaluate("JSON.parse(localStorage.getItem('staffcall:qr-paint')).call")
            staff.wait_for_function(f"window.shownAt[{json.dumps(call)}]", timeout=WAIT_S * 1000)
            shown = staff.evaluate(f"window.shownAt[{json.dumps(call)}]")
            out.append(shown - page.evaluate("window.tappedAt"))
            page.click("#cancel")
            page.wait_for_function("document.body.dataset.view === 'cancelled'")
            staff.wait_for_function("!document.body.dataset.alert")
            ctx.close()
        browser.close()
    return out


async def push_rounds(
    web: str, phones: int, cycles: int, mqtt: Mqtt, actor: Mqtt, baseline: str | None = None
) -> list[float]:
    """``phones`` SSE streams; each round one MQTT publish, timed to each stream's next event.

    ``actor`` publishes the round: Anna's own login (her pager's ack, greet, resolve), or for
    the baseline the hub's.
    With ``baseline`` the streams are the bare server's and the publish is on ``bench/push``.
    Returns the latencies in ms; a stream that misses a round fails the run (``BenchError``).
    """
    k = qr_key(SECRET, "qr-paint")
    limits = httpx.Limits(max_connections=phones + 20, max_keepalive_connections=phones + 20)
    out: list[float] = []
    async with (
        httpx.AsyncClient(base_url=baseline or web, timeout=60, limits=limits) as streams,
        httpx.AsyncClient(base_url=web, timeout=WAIT_S) as phone,
        httpx.AsyncClient(base_url=web, timeout=WAIT_S, limits=limits) as customers,
    ):
        if baseline is None:
            await streams.post("/staff/api/login", json={"staff": "anna", "pin": PIN})
            await streams.post("/staff/api/presence", json={"status": "on_shift"})
            await phone.get(f"/c/qr-paint?k={k}")
        for cycle in range(cycles):
            q: asyncio.Queue = asyncio.Queue()
            tasks = []
            call = None
            if baseline is None:
                r = (await phone.post("/c/qr-paint/call", json={"k": k})).json()
                if not r.get("new"):
                    raise BenchError(f"cycle {cycle}: no new call: {r}")
                call = r["call"]
                mqtt.wait(lambda m, c=call: m[1] == f"{T}/page/anna" and c.encode() in m[2], f"the page for {call}")
                customers.cookies.update(phone.cookies)
                for i in range(phones // 2):
                    url = f"/c/qr-paint/events?k={k}&call={call}"
                    tasks.append(asyncio.create_task(sse_lines(customers, url, q, f"c{i}")))
                for i in range(phones - phones // 2):
                    tasks.append(asyncio.create_task(sse_lines(streams, "/staff/events", q, f"s{i}")))
            else:
                for i in range(phones):
                    tasks.append(asyncio.create_task(sse_lines(streams, "/events", q, f"b{i}")))
            for _ in range(phones):
                await qget(q, f"first events of {phones} streams")
            await asyncio.sleep(0.3)
            rounds = [("ack", "acknowledged"), ("greet", "greeted"), ("resolve", "resolved")]
            for action, status in rounds:
                while not q.empty():
                    q.get_nowait()
                t0 = time.perf_counter()
                if baseline is None:
                    actor.publish(f"{T}/staff/anna/{action}", {"id": call})
                else:
                    actor.publish(PUSH, json.dumps({"round": action, "cycle": cycle}))
                seen: set[str] = set()
                while len(seen) < phones:
                    tag, t, _ = await qget(q, f"{phones - len(seen)} of {phones} streams after {action}")
                    if tag not in seen:
                        seen.add(tag)
                        out.append((t - t0) * 1000)
                if baseline is None:
                    mqtt.wait(lambda m, c=call, s=status: m[1] == f"{T}/state/{c}" and s.encode() in m[2], status)
                await asyncio.sleep(0.2)  # let late duplicate events pass before the next round
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taps", type=int, default=20)
    ap.add_argument("--browser-taps", type=int, default=10)
    ap.add_argument("--phones", type=int, default=200)
    ap.add_argument("--cycles", type=int, default=3, help="calls in the 200-phone phase (3 push rounds each)")
    ap.add_argument("--baseline-server", nargs=2, metavar=("PORT", "CONFIG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_server:
        baseline_server(int(args.baseline_server[0]), args.baseline_server[1])
        return 0
    faulthandler.dump_traceback_later(300, exit=True)  # a hung run says where
    tmp = Path(tempfile.mkdtemp(prefix="phones-bench-"))
    web_port, base_port = free_port(), free_port()
    extra = PHONES_TOML.format(secret=SECRET, web_port=web_port, outbox=tmp)
    store = start_store(tmp, extra=extra, anna_pin_hash=hash_pin(PIN))
    toml, cfg = store.config_path, store.cfg
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = []
    web = f"http://127.0.0.1:{web_port}"
    base = f"http://127.0.0.1:{base_port}"
    mqtt = anna = hub_login = None
    try:
        mqtt = Mqtt(cfg, "bench-watch", "monitor", [f"{T}/page/+", f"{T}/state/+", f"{T}/hub/status"])
        anna = Mqtt(cfg, "bench-anna", "staff:anna")
        hub_login = Mqtt(cfg, "bench-push", "hub")
        hub = subprocess.Popen([sys.executable, "-m", "broker.cli", "hub", "--config", str(toml)], **quiet)
        procs.append(hub)
        mqtt.wait(lambda m: m[1] == f"{T}/hub/status" and b"online" in m[2], "the hub to come online")
        server = subprocess.Popen([sys.executable, "-m", "broker.cli", "web", "--config", str(toml)], **quiet)
        procs.append(server)
        bare = subprocess.Popen([sys.executable, __file__, "--baseline-server", str(base_port), str(toml)], **quiet)
        procs.append(bare)
        wait_until(f"{web}/staff", "staffcall web", server)
        wait_until(f"{base}/nothing", "the baseline SSE server", bare)
        time.sleep(1.0)  # the web server's call points connect
        print("raw MQTT hop ...", flush=True)
        hop = raw_hop(cfg, 50)
        print("tap -> page (HTTP/SSE) ...", flush=True)
        tap = asyncio.run(tap_to_page(web, args.taps, mqtt))
        print("tap -> page (Chromium) ...", flush=True)
        btap = browser_tap_to_page(web, args.browser_taps) if args.browser_taps else []
        rss_idle = rss_mb(server.pid)
        print(f"{args.phones} phones ...", flush=True)
        push = asyncio.run(push_rounds(web, args.phones, args.cycles, mqtt, anna))
        rss = rss_mb(server.pid)
        hwm = rss_mb(server.pid, "VmHWM")
        print(f"{args.phones} streams on the bare SSE server ...", flush=True)
        bpush = asyncio.run(push_rounds(web, args.phones, args.cycles, mqtt, hub_login, baseline=base))
        brss = rss_mb(bare.pid)
    except BenchError as exc:
        print(f"bench failed: {exc}")
        return 1
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)
        for client in (mqtt, anna, hub_login):
            if client:
                client.close()
        store.stop()
    h50 = statistics.median(hop)
    t50, b50 = statistics.median(tap), statistics.median(bpush)
    p99, bp99 = pct(push, 0.99), pct(bpush, 0.99)
    print()
    print("store broker: the config `staffcall broker init` writes; every client logged in as itself (ACL on)")
    print(
        f"raw MQTT hop (baseline)                     n={len(hop):4}  p50 {h50:7.2f} ms  p99 {pct(hop, 0.99):7.2f} ms"
    )
    print(
        f"tap -> page, HTTP/SSE                       n={len(tap):4}  p50 {t50:7.2f} ms  p99 {pct(tap, 0.99):7.2f} ms"
        f"  ({t50 / h50:.1f}x raw hop)  target p50 <= 50 ms"
    )
    if btap:
        c50 = statistics.median(btap)
        print(
            f"tap -> page, Chromium click -> alert shown  n={len(btap):4}  p50 {c50:7.2f} ms"
            f"  p99 {pct(btap, 0.99):7.2f} ms  ({c50 / h50:.1f}x raw hop)  target p50 <= 50 ms"
        )
    print(
        f"push, bare Starlette SSE (baseline)         n={len(bpush):4}  p50 {b50:7.2f} ms  p99 {bp99:7.2f} ms"
        f"  RSS {brss:.1f} MB"
    )
    print(
        f"push, {args.phones} phones on staffcall web         n={len(push):4}  p50 {statistics.median(push):7.2f} ms"
        f"  p99 {p99:7.2f} ms  ({p99 / bp99:.1f}x baseline p99)  target p99 <= 100 ms"
    )
    print(
        f"staffcall web RSS: {rss_idle:.1f} MB before the phones, {rss:.1f} MB with {args.phones} connected"
        f" (peak {hwm:.1f} MB)  target <= 120 MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
