"""Bad input on every inbound topic: rejected with a reason, nothing else changes, the hub keeps going."""

from __future__ import annotations

import json

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.contract.clock import FakeClock
from broker.contract.protocol import MAX_PAYLOAD_BYTES, ProtocolError
from broker.core.commands import Reject
from broker.hub.shell import to_event
from broker.hub.words import new_core
from tests.conftest import store_config

KNOWN_DEVICES = ["kiosk-1", "kiosk-2", "button-1"]
KNOWN_STAFF = ["anna", "ben", "chloe", "maria"]
# Topic levels as a client can publish them: Mosquitto itself drops a client that sends a topic with
# control characters or Unicode noncharacters (category Cn here), so those never reach the hub.
segment = st.text(
    alphabet=st.characters(blacklist_characters="/+#", blacklist_categories=["Cs", "Cc", "Cn"]), max_size=20
)
device = st.one_of(st.sampled_from(KNOWN_DEVICES), segment)
staff = st.one_of(st.sampled_from(KNOWN_STAFF), segment)
topic = st.one_of(
    st.builds(lambda d: f"staffcall/s1/call/{d}", device),
    st.builds(lambda d, a: f"staffcall/s1/call/{d}/{a}", device, st.sampled_from(["cancel", "greet", "feedback", "x"])),
    st.builds(
        lambda s, a: f"staffcall/s1/staff/{s}/{a}",
        staff,
        st.sampled_from(["ack", "greet", "resolve", "decline", "presence", "y"]),
    ),
    st.builds(lambda d: f"staffcall/s1/device/{d}/status", device),
    st.builds(lambda a, b: f"staffcall/s1/{a}/{b}", segment, segment),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
field_values = {
    "id": st.one_of(st.text(max_size=70), st.integers(), st.none(), st.sampled_from(["c1", "c2", "zz"])),
    "reason": st.one_of(st.text(max_size=80), st.integers()),
    "score": st.one_of(st.integers(-3, 9), st.text(max_size=3)),
    "status": st.one_of(st.sampled_from(["on_shift", "break", "off", "offline", "lunch"]), st.integers()),
    "staff": st.one_of(st.sampled_from(KNOWN_STAFF), st.text(max_size=10)),
    "text": st.text(max_size=300),
}
shaped = st.fixed_dictionaries({}, optional=field_values).map(lambda d: json.dumps(d).encode())
payload = st.one_of(
    shaped,
    json_value.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"online", b"offline", b"\xff\xfe", b'{"id": "c1"' + b" " * MAX_PAYLOAD_BYTES + b"}"]),
    st.integers(MAX_PAYLOAD_BYTES + 1, 70_000).map(lambda n: b"x" * n),
)


@settings(max_examples=3000, deadline=None)
@given(messages=st.lists(st.tuples(topic, payload), min_size=1, max_size=8))
def test_core_rejects_bad_input_and_never_raises(messages):
    core = new_core(store_config(), FakeClock())
    for s in KNOWN_STAFF[:3]:
        core.handle(to_event("s1", f"staffcall/s1/staff/{s}/presence", b'{"status": "on_shift"}'))
    core.handle(to_event("s1", "staffcall/s1/call/kiosk-1", b'{"id": "c1"}'))
    for t, p in messages:
        try:
            event = to_event("s1", t, p)
        except ProtocolError as exc:
            assert str(exc)
            continue
        cmds = core.handle(event)
        if any(isinstance(c, Reject) for c in cmds):
            assert len(cmds) == 1, "a rejected message must change nothing"
        core.tick()
    # the valid call survives whatever came after it, unless a valid message closed it
    assert "c1" in core.open or "c1" in core.closed


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large, HealthCheck.too_slow],
)
@given(messages=st.lists(st.tuples(topic, payload), min_size=50, max_size=120))
def test_hub_survives_fuzzing_on_a_real_broker(hub, listener, messages):
    marker = len(listener.messages)
    good = [f"good-{marker}-{i}" for i in range(3)]
    listener.publish("staffcall/s1/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish("staffcall/s1/call/kiosk-1", {"id": good[0]})
    for t, p in messages:
        listener.client.publish(t, p, qos=1)
    listener.publish("staffcall/s1/call/kiosk-2", {"id": good[1]})
    listener.publish("staffcall/s1/call/button-1", {"id": good[2]})
    assert hub.settle(timeout=30)
    assert hub._thread.is_alive()
    db = sqlite_utils.Database(hub.cfg.database.path)
    for call_id in good:
        row = list(db.query("select id from calls where id = ?", [call_id]))
        # a fuzzed valid call may have opened first on that device: then ours is a repeat press
        repeat = list(
            db.query("select id from events where kind = 'repeat_press' and payload like ?", [f'%"{call_id}"%'])
        )
        assert row or repeat, f"valid call {call_id} lost"
    assert db["rejected"].count > 0
    # still answering: a resent call is answered with a state of that device (its own, or the open call's)
    start = len(listener.messages)
    listener.publish("staffcall/s1/call/kiosk-1", {"id": good[0]})
    listener.wait_for(
        lambda m: "/state/" in m.topic and m.payload and m.json["device"] == "kiosk-1", timeout=10, start=start
    )


# --- hostile bytes: what a Latin-1 microcontroller, a broken parser or an attacker sends ----------------

bad_utf8 = st.sampled_from([b"\xe9", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
deep = st.integers(1, 3000).flatmap(lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n]))
control_id = st.builds(
    lambda head, c, tail: head + c + tail,
    st.sampled_from(["c1", "abc", "k1-0001"]),
    st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from(["\x7f", "\u2028", "\u0085"]),
    st.sampled_from(["", "x", "\n"]),
)


@st.composite
def hostile(draw) -> bytes:
    """Valid-looking JSON for a real field, with one hostile piece spliced in."""
    field = draw(st.sampled_from(["id", "reason", "text", "staff", "status", "x"]))
    kind = draw(st.sampled_from(["utf8", "deep", "control", "deep_unknown"]))
    if kind == "utf8":
        return b'{"id": "c1", "' + field.encode() + b'": "caf' + draw(bad_utf8) + b'"}'
    if kind == "deep":
        return b'{"id": "c1", "' + field.encode() + b'": ' + draw(deep) + b"}"
    if kind == "deep_unknown":
        return draw(deep)
    return json.dumps({"id": draw(control_id), "status": "on_shift", "score": 3}).encode()


@settings(max_examples=1500, deadline=None)
@given(t=topic, p=hostile())
def test_hostile_bytes_are_a_protocol_error_never_a_crash(t, p):
    """Only ProtocolError may come out of decoding: anything else would escape the hub's reject path."""
    try:
        event = to_event("s1", t, p)
    except ProtocolError:
        return
    # what decoded is clean: ids match in full, so no topic the hub builds can be malformed
    call_id = getattr(getattr(event, "msg", None), "id", None)
    assert call_id is None or (call_id.isascii() and call_id.isprintable() and "\n" not in call_id)


def test_the_reported_poison_is_refused():
    for payload in (
        b'{"id":"k1","reason":"caf\xe9"}',
        b'{"id":"k1","x":' + b"[" * 1100 + b"]" * 1100 + b"}",
        b'{"id":"abc\\n"}',
        b'{"id":"abc\\u0000"}',
    ):
        with pytest.raises(ProtocolError):
            to_event("s1", "staffcall/s1/call/kiosk-1", payload)
