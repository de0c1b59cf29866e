"""A store for the fault scenarios: the broker `staffcall broker init` sets up, the hub as its own process,
every device and colleague logged in as itself, and a monitor that times every page.

The figures each scenario records come from here, counted the same way everywhere:

- lost: a call a customer made that was never paged, or is missing from the event log in the end;
- duplicated: a call paged twice as a new call ("call" pages), or a press recorded twice;
- phantom: a call paged or recorded that no customer made;
- time deaf: the longest time from a real call's publish to its first page.

Example::

    store = FaultStore(tmp_path, devices=20)
    store.start_hub()
    store.on_shift("ben", "chloe")
    store.press("f01", "c1")
    assert store.wait_paged(["c1"])
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from broker.contract.config import load_config
from broker.contract.mqtt import connect_async, make_client
from broker.mosquitto.setup import start_store_broker
from tests.faults.helpers import rows, start_hub, stop, wait
from tests.security.conftest import Peer, peer, write_secure_config

T = "staffcall/s1"


@dataclass(frozen=True)
class Seen:
    at: float
    """When the monitor got it (the test's monotonic clock)."""
    topic: str
    payload: bytes
    retain: bool

    @property
    def json(self) -> dict:
        try:
            return json.loads(self.payload) if self.payload else {}
        except ValueError:
            return {}


class Watch:
    """The read-only ``monitor`` login: every page, state and hub message, with its arrival time."""

    def __init__(self, cfg) -> None:
        self.seen: list[Seen] = []
        self.cond = threading.Condition()
        self.client = make_client(f"fault-watch-{time.monotonic_ns()}", cfg.broker, identity="monitor")
        subscribed = threading.Event()
        topics = [f"{T}/page/+", f"{T}/state/+", f"{T}/hub/status", f"{T}/hub/health"]
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self._on_message
        connect_async(self.client, cfg.broker)
        self.client.loop_start()
        assert subscribed.wait(10), "the monitor could not subscribe"

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.seen.append(Seen(time.monotonic(), msg.topic, msg.payload, bool(msg.retain)))
            self.cond.notify_all()

    def snapshot(self, start: int = 0) -> list[Seen]:
        with self.cond:
            return self.seen[start:]

    def mark(self) -> int:
        with self.cond:
            return len(self.seen)

    def pages(self, start: int = 0) -> list[Seen]:
        return [m for m in self.snapshot(start) if "/page/" in m.topic]

    def wait_for(self, pred, timeout: float = 20.0, start: int = 0) -> Seen | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.seen[start:]:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class FaultStore:
    """One store under test; ``close()`` stops everything it started."""

    def __init__(
        self, folder: Path, devices: int = 0, db_dir: Path | None = None, min_free_mb: int = 1, **timers
    ) -> None:
        timers = {"ack": 120, "esc": 300, "unatt": 900, **timers}
        path = write_secure_config(folder, tls=False, **timers)
        self.db = (db_dir or folder) / "staffcall.db"
        text = path.read_text().replace(f'path = "{folder / "staffcall.db"}"', f'path = "{self.db}"', 1)
        text = text.replace("[database]\n", f"[database]\nmin_free_mb = {min_free_mb}\n", 1)
        self.extra = [f"f{i:02d}" for i in range(1, devices + 1)]
        for d in self.extra:
            text += f'\n[[devices]]\nid = "{d}"\nkind = "kiosk"\nzone = "toys"\n'
        path.write_text(text)
        self.config = path
        self.folder = folder
        self.cfg = load_config(path)
        self.log = folder / "hub.log"
        self.broker = None
        self.hub = None
        self.peers: dict[str, Peer] = {}
        self.sent: dict[str, float] = {}
        """Call ids customers made (a new call each), with the time they were published."""
        self.repeats: set[str] = set()
        """Repeat-press ids customers made (never a call of their own)."""
        _, self.broker = start_store_broker(
            self.cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=_user()
        )
        self.watch = Watch(self.cfg)

    # --- parts ----------------------------------------------------------------

    def start_hub(self, prefix: list[str] = (), env: dict | None = None, timeout: float = 30.0):
        """Start the hub process and wait until it says it is online (after any earlier "online")."""
        mark = self.watch.mark()
        self.hub = start_hub(self.config, log=self.log, prefix=prefix, env=env)
        online = self.watch.wait_for(
            lambda m: m.topic.endswith("hub/status") and m.payload == b"online" and not m.retain, timeout, mark
        )
        assert online, f"the hub did not come online in {timeout} s; its log:\n{self.hub_log()[-3000:]}"
        return self.hub

    def stop_hub(self) -> None:
        if self.hub is not None:
            stop(self.hub)

    def kill_hub(self) -> None:
        self.hub.kill()
        self.hub.wait(10)

    def hub_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def login(self, identity: str) -> Peer:
        if identity not in self.peers:
            self.peers[identity] = peer(self.cfg, identity)
            assert self.peers[identity].connack and not self.peers[identity].connack[0].is_failure, identity
        return self.peers[identity]

    def on_shift(self, *staff: str, status: str = "on_shift") -> None:
        for s in staff:
            self.login(f"staff:{s}").publish(f"{T}/staff/{s}/presence", json.dumps({"status": status}), retain=True)

    # --- customers ----------------------------------------------------------------

    def press(self, device: str, call_id: str, new: bool = True) -> float:
        """A customer's press from the device's own login: a new call (``new``) or a repeat press."""
        at = time.monotonic()
        if new:
            self.sent[call_id] = at
        else:
            self.repeats.add(call_id)
        self.login(f"device:{device}").publish(f"{T}/call/{device}", json.dumps({"id": call_id}))
        return at

    # --- what happened ----------------------------------------------------------------

    def first_pages(self) -> dict[str, float]:
        first: dict[str, float] = {}
        for m in self.watch.pages():
            call = m.json.get("id")
            if call and call not in first:
                first[call] = m.at
        return first

    def wait_paged(self, calls, timeout: float = 30.0) -> bool:
        return wait(lambda: set(calls) <= set(self.first_pages()), timeout)

    def deaf(self, calls) -> float:
        """The longest publish-to-first-page time of these calls (inf if one was never paged)."""
        first = self.first_pages()
        return max((first.get(c, float("inf")) - self.sent[c] for c in calls), default=0.0)

    def call_ids(self) -> list[str]:
        return [r["id"] for r in rows(self.db, "select id from calls")]

    def wait_recorded(self, calls, timeout: float = 30.0) -> bool:
        return wait(lambda: set(calls) <= set(self.call_ids()), timeout)

    def counts(self, calls=None) -> tuple[int, int, int]:
        """(lost, duplicated, phantom) over ``calls`` (default: every call customers made)."""
        calls = set(self.sent if calls is None else calls)
        paged = self.first_pages()
        recorded = self.call_ids()
        lost = len({c for c in calls if c not in paged or c not in recorded})
        new_pages: dict[str, int] = {}
        for m in self.watch.pages():
            if m.json.get("kind") == "call":
                new_pages[m.json.get("id")] = new_pages.get(m.json.get("id"), 0) + 1
        duplicated = sum(n - 1 for n in new_pages.values() if n > 1) + len(recorded) - len(set(recorded))
        press_ids = [r["id"] for r in rows(self.db, "select id from presses")]
        duplicated += len(press_ids) - len(set(press_ids))
        made = set(self.sent)
        phantom = {c for c in paged if c not in made and c != "hub-health"} | {c for c in recorded if c not in made}
        return lost, duplicated, len(phantom)

    def health(self, status: str, start: int = 0, timeout: float = 20.0) -> Seen | None:
        return self.watch.wait_for(
            lambda m: m.topic.endswith("hub/health") and m.json.get("status") == status, timeout, start
        )

    def reconnects(self) -> int:
        """How often the hub logged a lost broker connection."""
        return len(re.findall(r"lost the broker", self.hub_log()))

    def close(self) -> None:
        self.stop_hub()
        for p in self.peers.values():
            p.close()
        self.watch.close()
        self.broker.stop()


def _user() -> str:
    import getpass

    return getpass.getuser()
