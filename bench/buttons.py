"""Press -> call message on the broker: a button station's latency, next to a raw paho publish.

Runs the store's Mosquitto (the config, logins and ACL that ``staffcall broker init`` writes, every
client logged in as itself) and the real hub; presses a station on gpiozero's MockFactory (so the
figure covers the press logic, the SQLite outbox write and the MQTT publish, not GPIO edge
detection); a second client subscribed to ``call/+`` timestamps arrival on the same monotonic
clock.  Each call is cancelled through the hub before the next press, so every press is a
first press; the next press comes once the release has settled and ``--gap-s`` later (the hub's
and the broker's work for the cancelled call done, as between two customers).  Baseline: a client
(the hub's login, TCP_NODELAY) publishing a same-sized payload at QoS 1.

Target: press -> message p50 <= 10 ms.  Why it was 14-15 ms once: docs/performance.md ("Buttons").

    python bench/buttons.py [--presses 200] [--gap-s 0.2]
"""

from __future__ import annotations

import argparse
import getpass
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpiozero.pins.mock import MockFactory  # noqa: E402

from broker.callpoint.callpoint import CallPoint  # noqa: E402
from broker.contract.config import Config, load_config  # noqa: E402
from broker.contract.mqtt import connect_async, make_client, wait_connected  # noqa: E402
from broker.hub.shell import Hub  # noqa: E402
from broker.mosquitto.runner import free_port  # noqa: E402
from broker.mosquitto.setup import start_store_broker  # noqa: E402
from hardware.station import ButtonStation  # noqa: E402

CONFIG = """
[store]
id = "bench"
name = "Bench"
[broker]
port = {port}
credentials = "broker/credentials.toml"
[database]
path = "{db}"
[[staff]]
id = "anna"
name = "Anna"
zones = ["z"]
[[devices]]
id = "b1"
kind = "button"
zone = "z"
button_pin = 17
led_pin = 27
[buttons]
bounce_s = 0.01
"""


RAW = "staffcall/bench/bench/raw"


def connected(cfg: Config, name: str, identity: str):
    """A client as the product makes one (its own login, TCP_NODELAY), connected."""
    client = make_client(name, cfg.broker, identity=identity)
    connect_async(client, cfg.broker)
    client.loop_start()
    if not wait_connected(client, 10):
        raise SystemExit(f"bench: {identity} could not log in to the store broker")
    return client


class Arrivals:
    def __init__(self, cfg: Config, topic: str) -> None:
        self.cond = threading.Condition()
        self.got: list[tuple[float, bytes]] = []
        self.client = connected(cfg, "bench-arrivals", "monitor")  # reads everything, writes nothing
        self.client.on_message = self._on_message
        ready = threading.Event()
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.subscribe([(topic, 1), (RAW, 1)])
        ready.wait(5)

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.got.append((time.perf_counter(), msg.payload))
            self.cond.notify_all()

    def wait(self, marker: bytes, what: str, timeout: float = 10.0) -> float:
        """Arrival time of the first message containing ``marker`` (matched by content, not by count)."""

        def found() -> float | None:
            return next((t for t, payload in self.got if marker in payload), None)

        with self.cond:
            if not self.cond.wait_for(lambda: found() is not None, timeout):
                raise SystemExit(f"bench: {what} did not arrive within {timeout:.0f} s")
            return found()


def wait_until(pred, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: waited {timeout:.0f} s for {what}")
        time.sleep(0.001)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--gap-s", type=float, default=0.2, help="quiet time between a cancel and the next press")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(CONFIG.format(port=free_port(), db=f"{tmp}/hub.db"))
        cfg = load_config(path)
        # Our own account: a root bench would otherwise hand the broker to "mosquitto", which cannot enter tmp.
        _, broker = start_store_broker(cfg, Path(tmp) / "broker", run_as=getpass.getuser())
        hub = Hub(cfg)
        hub.start()
        hub.ready.wait(10)
        arrivals = Arrivals(cfg, "staffcall/bench/call/+")
        canceller = connected(cfg, "bench-cancel", "device:b1")  # the station's own login cancels
        point = CallPoint(cfg, "b1", f"{tmp}/b1.outbox.db")
        station = ButtonStation(cfg.devices_by_id["b1"], point, hold_s=3.0, bounce_s=0.01, pin_factory=MockFactory())
        point.start()
        while not station.connected:
            time.sleep(0.01)
        pin = station.button.pin

        press_ms: list[float] = []
        for i in range(args.presses):
            wait_until(lambda: not station.logic.pressed and not station.call_open, "the last press to settle")
            time.sleep(args.gap_s)
            before = station.call_id
            t0 = time.perf_counter()
            pin.drive_low()  # MockFactory runs the station's edge handler in this thread
            call_id = station.call_id
            if call_id is None or call_id == before:
                raise SystemExit(f"bench: press {i} made no new call (station status {station.status})")
            t1 = arrivals.wait(call_id.encode(), f"the call of press {i}")
            press_ms.append((t1 - t0) * 1000)
            pin.drive_high()
            # the hub has the call (its state came back): now cancel it, as the station's login
            wait_until(lambda: point.outbox.pending_count() == 0, f"the hub's state for press {i}")
            canceller.publish("staffcall/bench/call/b1/cancel", f'{{"id":"{call_id}"}}', qos=1)

        raw = connected(cfg, "bench-raw", "hub")  # the one login that may write outside its device topics
        raw_ms: list[float] = []
        for i in range(args.presses):
            time.sleep(args.gap_s)
            payload = b'{"id":"b1-raw-%010d-00000000","reason":null,"lang":null,"at":"2026-01-01T00:00:00.000Z"}' % i
            t0 = time.perf_counter()
            raw.publish(RAW, payload, qos=1)
            raw_ms.append((arrivals.wait(payload, f"raw message {i}") - t0) * 1000)
        for client in (raw, canceller, arrivals.client):
            client.disconnect()
            client.loop_stop()
        point.stop()
        station.close()
        hub.stop()
        broker.stop()

    p50, p95 = statistics.median(press_ms), pct(press_ms, 0.95)
    r50, r95 = statistics.median(raw_ms), pct(raw_ms, 0.95)
    print(f"presses: {args.presses}")
    print(f"press -> message on broker   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   max {max(press_ms):6.2f} ms")
    print(f"raw paho publish (baseline)  p50 {r50:6.2f} ms   p95 {r95:6.2f} ms   max {max(raw_ms):6.2f} ms")
    print(f"ratio p50 press/raw: {p50 / r50:.1f}x   target p50 <= 10 ms: {'met' if p50 <= 10 else 'NOT met'}")
    return 0 if p50 <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
