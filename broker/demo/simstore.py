"""A simulated store for the demo: customers at call points and staff with pagers.

Everything speaks the real protocol over the real broker: customers press through
``CallPoint`` (the same code as the kiosk and the buttons), staff answer pages like
the pager apps do.  A scripted story shows every step of the ladder; a few random
background calls behave the way people do (most answer, some pass, some miss it).

Times are in store seconds on the demo's scaled clock.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from broker.callpoint.callpoint import CallPoint
from broker.contract import protocol as p
from broker.contract.clock import Clock
from broker.contract.config import Config
from broker.contract.mqtt import connect_async, make_client


class Scheduler:
    """Runs callbacks at store times on one thread (the demo's stage manager)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sim-scheduler", daemon=True)

    def at(self, t: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (t, next(self._seq), fn))
            self._cond.notify()

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        self.at(self.clock.now() + seconds, fn)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > self.clock.now()):
                    wait = self.clock.real_seconds(self._heap[0][0] - self.clock.now()) if self._heap else None
                    self._cond.wait(wait)
                if self._stop:
                    return
                _, _, fn = heapq.heappop(self._heap)
            fn()


@dataclass
class Step:
    """One staff reaction to a page: ``action`` after ``delay`` store seconds."""

    delay: float
    action: str  # ack | greet | greet_at_device | resolve | decline


# The story: call id -> (start time, device, reason, {staff: steps}, customer extras).
STORY: dict[str, tuple[float, str, str, dict[str, list[Step]], dict]] = {
    # Paged, acknowledged with a name, greeted at the kiosk, resolved, a happy face.
    "story-help": (
        0,
        "kiosk-1",
        "product",
        {"anna": [Step(15, "ack"), Step(50, "greet_at_device"), Step(170, "resolve")]},
        {"feedback": 4},
    ),
    # Chloe misses the page: after ack_timeout_s the next colleague is paged and goes.
    "story-next": (
        10,
        "button-1",
        "fitting_room",
        {"chloe": [], "*": [Step(12, "ack"), Step(45, "greet"), Step(120, "resolve")]},
        {"feedback": 3},
    ),
    # Nobody of the zone answers: escalated to everyone at escalate_after_s; the manager goes.
    # The customer presses again while waiting (a repeat press).
    "story-escalate": (
        20,
        "kiosk-2",
        "pickup",
        {"maria": [Step(8, "ack"), Step(40, "greet"), Step(90, "resolve")]},
        {"repeat_at": 70, "feedback": 2},
    ),
    # Acknowledged but not greeted within greet_timeout_s: re-paged, then greets.
    "story-repage": (
        30,
        "kiosk-3",
        "paint_mixing",
        {"erik": [Step(10, "ack"), Step(150, "greet_at_device"), Step(200, "resolve")]},
        {"feedback": 4},
    ),
    # David passes (decline): re-routed at once; the customer finds it alone and cancels.
    "story-cancel": (5, "button-2", "product", {"david": [Step(6, "decline")]}, {"cancel_at": 45}),
    # The pickup door in the warehouse zone: nobody answers at any tier -> unattended.
    "story-unattended": (60, "button-3", "pickup", {}, {}),
}

REASONS = ["product", "fitting_room", "pickup", "checkout", "advice"]


class SimStaff:
    """One colleague with a pager: presence on shift, reacts to pages by a plan."""

    def __init__(self, store: SimStore, staff_id: str) -> None:
        self.store = store
        self.id = staff_id
        self.handled: set[str] = set()
        topics = store.topics
        self.client = make_client(
            f"demo-pager-{staff_id}",
            store.cfg.broker,
            will=(topics.presence(staff_id), json.dumps({"status": "offline"})),
            identity=f"staff:{staff_id}",
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def start(self) -> None:
        connect_async(self.client, self.store.cfg.broker)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.publish(self.store.topics.presence(self.id), json.dumps({"status": "off"}), qos=1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *args) -> None:
        client.subscribe(self.store.topics.page(self.id), qos=1)
        client.publish(self.store.topics.presence(self.id), json.dumps({"status": "on_shift"}), qos=1, retain=True)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        page = json.loads(msg.payload)
        call_id = page["id"]
        if call_id in self.handled or page.get("kind") == "unattended":
            return
        self.handled.add(call_id)
        for step in self.store.plan_for(call_id, self.id):
            self.store.sched.after(step.delay, lambda s=step: self.act(call_id, page["device"], s.action))

    def act(self, call_id: str, device: str, action: str) -> None:
        if action == "greet_at_device":
            self.store.points[device].greet(call_id, staff=self.id)
            return
        self.client.publish(self.store.topics.staff_action(self.id, action), json.dumps({"id": call_id}), qos=1)


class SimStore:
    def __init__(self, cfg: Config, clock: Clock, background_calls: int = 8, seed: int = 7) -> None:
        self.cfg = cfg
        self.clock = clock
        self.topics = p.Topics(cfg.store.id)
        self.sched = Scheduler(clock)
        self.rng = random.Random(seed)
        self.background = background_calls
        self._tmp = tempfile.TemporaryDirectory(prefix="staffcall-demo-")
        self.points: dict[str, CallPoint] = {}
        self.staff = {s.id: SimStaff(self, s.id) for s in cfg.staff}
        self.plans: dict[str, dict[str, list[Step]]] = {}
        self.extras: dict[str, dict] = {}
        self.t0 = 0.0

    def plan_for(self, call_id: str, staff: str) -> list[Step]:
        if call_id in self.plans:
            return self.plans[call_id].get(staff, [])
        # A background call: people mostly answer, sometimes pass, sometimes miss it.
        r = self.rng.random()
        if r < 0.15:
            return [Step(self.rng.uniform(3, 10), "decline")]
        if r < 0.30:
            return []
        ack = self.rng.uniform(4, 25)
        greet = ack + self.rng.uniform(10, 45)
        how = "greet_at_device" if self.rng.random() < 0.5 else "greet"
        self.plans.setdefault(call_id, {})[staff] = steps = [
            Step(ack, "ack"),
            Step(greet, how),
            Step(greet + self.rng.uniform(40, 180), "resolve"),
        ]
        for other in self.staff:
            self.plans[call_id].setdefault(other, [])
        return steps

    def start(self) -> None:
        for staff in self.staff.values():
            staff.start()
        for device in self.cfg.devices:
            point = CallPoint(
                self.cfg,
                device.id,
                str(Path(self._tmp.name) / f"{device.id}.db"),
                on_state=self._on_state,
                client_id=f"demo-device-{device.id}",
            )
            point.start()
            self.points[device.id] = point
        self.sched.start()
        self.t0 = self.clock.now() + 2  # two store seconds for everyone to connect
        for call_id, (at, device, reason, plan, extras) in STORY.items():
            self.plans[call_id] = {s: plan.get(s, plan.get("*", [])) for s in self.staff}
            self.extras[call_id] = extras
            self.sched.at(self.t0 + at, lambda c=call_id, d=device, r=reason: self.points[d].call(r, "en", call_id=c))
            if "repeat_at" in extras:
                self.sched.at(self.t0 + extras["repeat_at"], lambda d=device, r=reason: self.points[d].call(r, "en"))
            if "cancel_at" in extras:
                self.sched.at(self.t0 + extras["cancel_at"], lambda d=device, c=call_id: self.points[d].cancel(c))
        devices = [d.id for d in self.cfg.devices if d.id != "button-3"]
        for i in range(self.background):
            at = self.t0 + 240 + i * 300 / max(self.background, 1) + self.rng.uniform(0, 20)
            device, reason = self.rng.choice(devices), self.rng.choice(REASONS)
            self.sched.at(at, lambda d=device, r=reason: self._background_call(d, r))

    def _background_call(self, device: str, reason: str) -> None:
        point = self.points[device]
        if point.open_call() is None:
            point.call(reason, "en")

    def _on_state(self, call_id: str, state: p.StateMsg | None) -> None:
        """The customer's side: after a resolve, one face (sometimes none)."""
        if state is None or state.status != "resolved":
            return
        extras = self.extras.get(call_id, {})
        score = extras.get("feedback") or (self.rng.choice([3, 4, 4, 2]) if self.rng.random() < 0.7 else None)
        if score and not extras.get("feedback_sent"):
            extras["feedback_sent"] = True
            self.extras[call_id] = extras
            self.sched.after(5, lambda: self.points[state.device].feedback(call_id, score))

    def stop(self) -> None:
        self.sched.stop()
        for point in self.points.values():
            point.stop()
        for staff in self.staff.values():
            staff.stop()
        self._tmp.cleanup()
