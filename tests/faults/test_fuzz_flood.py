"""At least 10,000 generated messages on every inbound topic against a real hub on a real broker."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from tests.broker.core.test_fuzz import payload, topic
from tests.faults.helpers import record

EXAMPLES, PER_EXAMPLE = 50, 200
sent = {"messages": 0, "good": 0, "examples": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large, HealthCheck.too_slow],
)
@given(data=st.data())
def _flood(hub, device, attacker, data) -> None:
    # Draw everything first: Hypothesis may abandon an example mid-draw (too much data), and then
    # nothing of it must have been sent.
    messages = [data.draw(st.tuples(topic, payload)) for _ in range(PER_EXAMPLE)]
    n = sent["examples"]
    sent["examples"] += 1
    good = [f"flood-{n}-{i}" for i in range(2)]
    publish(device, "staffcall/s1/call/kiosk-2", good[0])
    for t, p in messages:
        attacker.publish(t, p, qos=1)
    sent["messages"] += len(messages)
    publish(device, "staffcall/s1/call/button-1", good[1])
    sent["good"] += 2
    assert hub.settle(quiet_s=0.05, timeout=30)
    assert hub._thread.is_alive()


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def publish(c: mqtt.Client, topic: str, call_id: str) -> None:
    info = c.publish(topic, f'{{"id": "{call_id}"}}', qos=1)
    info.wait_for_publish(10)
    assert info.is_published(), f"the broker did not take {call_id}"


def test_ten_thousand_fuzzed_messages_on_a_real_hub(hub, broker):
    # The fuzz comes from its own connection: Mosquitto hangs up on a topic that is not valid MQTT UTF-8
    # (U+FFFF, say); the attacker's client reconnects, the store's devices are not affected.
    attacker, device = client(broker.port, "attacker"), client(broker.port, "device")
    try:
        _flood(hub, device, attacker)
        assert hub.settle(quiet_s=0.5, timeout=30)
    finally:
        for c in (attacker, device):
            c.disconnect()
            c.loop_stop()
    assert sent["messages"] >= 10_000, sent
    db = sqlite_utils.Database(hub.cfg.database.path)
    good = [f"flood-{n}-{i}" for n in range(sent["examples"]) for i in range(2)]
    lost = 0
    for call_id in good:
        found = db.execute("select count(*) from calls where id = ?", [call_id]).fetchone()[0]
        found += db.execute(
            "select count(*) from events where kind in ('repeat_press', 'duplicate') and payload like ?",
            [f'%"{call_id}"%'],
        ).fetchone()[0]
        lost += found == 0
    assert lost == 0
    rejected = db["rejected"].count
    # Fuzzed ids may be well-formed calls from a configured device: not phantoms, but not customers either.
    fuzzed = db.execute("select count(*) from calls where id not like 'flood-%'").fetchone()[0]
    assert rejected > sent["messages"] // 2
    record(
        "fuzzing every inbound topic",
        f"{sent['messages']} generated messages (Hypothesis) + {len(good)} valid calls among them",
        "malformed JSON, wrong types, huge payloads, control characters, unknown and replayed ids",
        sent["messages"] + len(good),
        lost,
        0,
        f"{rejected} rejected with a reason; {fuzzed} well-formed fuzzed calls opened as calls; the hub kept running",
    )
