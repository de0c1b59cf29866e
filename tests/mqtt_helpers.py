"""A test's own MQTT client: publish like a device or pager, collect what the hub sends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool

    @property
    def json(self):
        return json.loads(self.payload) if self.payload else None


class Listener:
    def __init__(self, port: int, topics: list[str], client_id: str = "", will=None) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(t, 1) for t in topics])
        assert subscribed.wait(5), "subscription not acknowledged"

    def _on_message(self, client, userdata, msg) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain)))
            self._cond.notify_all()

    def publish(self, topic: str, payload, retain: bool = False) -> None:
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(self, pred: Callable[[Received], bool], timeout: float = 5.0, start: int = 0) -> Received:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages[start:]:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {m.topic} {m.payload[:150]!r}" for m in self.messages[-15:])
                    raise AssertionError(f"no matching message within {timeout}s; last seen:\n{seen}")
                self._cond.wait(left)

    def state(self, call_id: str, status: str, timeout: float = 5.0) -> dict:
        m = self.wait_for(
            lambda m: m.topic.endswith(f"/state/{call_id}") and m.payload and m.json["status"] == status, timeout
        )
        return m.json

    def page(self, staff: str, call_id: str, kind: str | None = None, timeout: float = 5.0, start: int = 0) -> dict:
        def match(m: Received) -> bool:
            return (
                m.topic.endswith(f"/page/{staff}")
                and m.json["id"] == call_id
                and (kind is None or m.json["kind"] == kind)
            )

        return self.wait_for(match, timeout, start).json

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
