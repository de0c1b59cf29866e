"""Signed webhooks on the store's broker, delivered to a real HTTP receiver that verifies them.

The receiver is a Starlette app under uvicorn that checks every request with the Standard Webhooks
reference verifier (the ``standardwebhooks`` package), not with our own signing code.
"""

from __future__ import annotations

import base64
import doctest
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.contract.config import ConfigError, Webhook, WebhookDelivery, load_config, parse_config
from broker.hub.shell import Hub
from broker.integrations import webhook_events, webhook_outbox
from broker.integrations.cli import enabled
from broker.integrations.host import IntegrationHost
from broker.integrations.webhook_events import Seen, call_events, sign, state
from broker.integrations.webhook_outbox import Outbox, Sender
from broker.integrations.webhooks import Webhooks
from broker.mosquitto.runner import free_port
from tests.security.conftest import peer, start_secure_store

T = "staffcall/s1"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()


def wait(pred, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# --- pure parts -----------------------------------------------------------------------------


def test_docstring_examples_hold():
    for module in (webhook_events, webhook_outbox):
        assert doctest.testmod(module).failed == 0


def test_signature_matches_the_reference_implementation_and_the_spec_vector():
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="  # the spec's published example
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    ref = Verifier(SECRET).sign("msg_1", datetime.fromtimestamp(1614265330, tz=UTC), body.decode())
    assert sign(SECRET, "msg_1", 1614265330, body) == ref


def test_a_calls_life_gives_each_event_once():
    steps = [("waiting", 1), ("waiting", 1), ("waiting", 2), ("acknowledged", 2), ("waiting", 3), ("greeted", 3)]
    steps += [("resolved", 3), ("resolved", 3), ("waiting", 3)]  # a duplicate final state, a replayed old one
    before, told = None, []
    for status, tier in steps:
        told += call_events(before, state(status, tier))
        before = Seen(status, max(tier, before.tier if before else 0))
    assert told == [
        "call.opened", "call.escalated", "call.acknowledged", "call.escalated", "call.greeted", "call.resolved",
    ]  # fmt: skip
    assert call_events(None, state("unattended", 3)) == ["call.unattended"]


@pytest.mark.parametrize(
    "entry, message",
    [
        ('url = "ftp://x"', r"\[\[webhooks\]\] #1 url: 'ftp://x' must look like"),
        ('url = "http://r/h"\nsecret = "abc"', r"\[\[webhooks\]\] #1 secret: must be 'whsec_'"),
        ('url = "http://r/h"\nformat = "slack"\nevents = ["call.lost"]', r"#1 events: 'call.lost' is not an event"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(entry: str, message: str):
    base = '[store]\nid = "s1"\nname = "S"\n[[webhooks]]\nid = "crm"\nenabled = true\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(base + entry)
    with pytest.raises(ConfigError, match=r"\[webhook_delivery\] give_up_after_s: must be at least 86400"):
        parse_config(base + 'url = "http://r/h"\nformat = "slack"\n[webhook_delivery]\ngive_up_after_s = 3600\n')


def test_a_failing_receiver_is_retried_with_the_same_id_then_dropped_after_give_up(tmp_path: Path):
    now = [1_000_000.0]
    calls: list[tuple[str, str]] = []
    answers = [0, 500, 503, 500]
    outbox = Outbox(tmp_path / "o.db", wall=lambda: now[0])
    hook = Webhook(id="crm", enabled=True, url="http://r/h", secret=SECRET)
    delivery = WebhookDelivery(retry_first_s=10, retry_max_s=40, give_up_after_s=86400)

    def send(url, body, headers, timeout):
        calls.append((headers["webhook-id"], headers["webhook-timestamp"]))
        return answers.pop(0) if answers else 500

    sender = Sender(hook, outbox, delivery, wall=lambda: now[0], send=send)
    outbox.write([("crm", "msg_a", "call.opened", b"{}"), ("crm", "msg_b", "call.resolved", b"{}")])
    pauses = []
    for _ in range(4):
        pauses.append(sender.step())
        assert sender.step() > 0  # not due yet: nothing sent
        now[0] += pauses[-1]
    assert {i for i, _ in calls} == {"msg_a"} and len(calls) == 4  # msg_b waits behind it: order holds
    assert len({ts for _, ts in calls}) == 4  # signed anew each time
    assert 5 <= pauses[0] <= 10 and 10 <= pauses[1] <= 20 and 20 <= pauses[2] <= 40 and 20 <= pauses[3] <= 40
    now[0] += 86400
    sender.step()  # past give_up_after_s: dropped, and the next goes
    assert outbox.waiting("crm") == 1 and outbox.head("crm").msg_id == "msg_b"


# --- a real receiver ---------------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP receiver that verifies each request with the reference verifier (401 when it fails)."""

    secret: str
    port: int = field(default_factory=free_port)
    delay_s: float = 0.0
    got: list[dict] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    refused: int = 0
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        if self.delay_s:
            time.sleep(self.delay_s)  # blocks the server on purpose: a receiver that is slow
        try:
            payload = Verifier(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return Response(status_code=401)
        if request.headers["webhook-id"] not in self.ids:  # a retry after a lost answer is the same event
            self.ids.append(request.headers["webhook-id"])
            self.got.append(payload)
        return Response(status_code=204)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        assert wait(lambda: self.server.started, 15)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(10)

    def events(self, call_id: str) -> list[str]:
        return [m["type"] for m in self.got if m["data"].get("id") == call_id]


def store_with(tmp_path: Path, receivers: dict[str, tuple[Receiver, str]], retry_max_s: float = 2.0, **timers):
    """The secure store (logins, ACL) with one [[webhooks]] entry per receiver."""
    store = start_secure_store(tmp_path, **timers)
    path = tmp_path / "staffcall.toml"
    text = path.read_text()
    for hook_id, (rec, secret) in receivers.items():
        events = '["call.opened", "call.acknowledged", "call.escalated", "call.greeted", "call.resolved"]'
        text += (
            f'\n[[webhooks]]\nid = "{hook_id}"\nenabled = true\nurl = "{rec.url}"\nsecret = "{secret}"\n'
            f"events = {events}\n"
        )
    text += f"\n[webhook_delivery]\nretry_first_s = 0.5\nretry_max_s = {retry_max_s}\n"
    path.write_text(text)
    store.cfg = load_config(path)
    return store


def publish_state(hub, call_id: str, status: str, tier: int = 1) -> None:
    st = state(status, tier, call_id)
    hub.publish(f"{T}/state/{call_id}", msgspec.json.encode(st), retain=status in ("waiting", "acknowledged"))


LIFE = [("waiting", 1), ("waiting", 2), ("acknowledged", 2), ("greeted", 2), ("resolved", 2)]
TOLD = ["call.opened", "call.escalated", "call.acknowledged", "call.greeted", "call.resolved"]


@pytest.mark.slow
def test_receiver_down_then_up_and_a_restart_mid_backlog_lose_nothing(tmp_path: Path):
    """The receiver down 60 s, the integrations restarted meanwhile: every event delivered once, in order."""
    rec = Receiver(SECRET)
    store = store_with(tmp_path, {"crm": (rec, SECRET)})
    assert [i.name for i in enabled(store.cfg)] == ["webhooks"]
    hub = peer(store.cfg, "hub")
    host = IntegrationHost(store.cfg, [Webhooks(store.cfg)]).start()
    calls = [f"c{n}" for n in range(4)]
    try:
        assert host.connected.wait(10)
        time.sleep(0.3)  # the SUBACK
        down_since = time.monotonic()
        for status, tier in LIFE[:3]:
            for c in calls:
                publish_state(hub, c, status, tier)
        assert wait(lambda: Outbox(store.cfg.webhook_delivery.outbox).waiting() == 12, 15)
        host.stop()  # the integrations restart mid-backlog, the receiver still down
        for status, tier in LIFE[3:]:  # what the hub says while they are down waits in the broker
            for c in calls:
                publish_state(hub, c, status, tier)
        host = IntegrationHost(store.cfg, [Webhooks(store.cfg)]).start()
        assert host.connected.wait(10)
        time.sleep(max(0.0, 60 - (time.monotonic() - down_since)))
        assert rec.got == []
        rec.start()
        assert wait(lambda: len(rec.got) == 20, 30), [m["type"] for m in rec.got]
        for c in calls:
            assert rec.events(c) == TOLD, c
        assert rec.refused == 0 and len(set(rec.ids)) == 20
    finally:
        host.stop()
        hub.close()
        rec.stop()
        store.broker.stop()


def test_a_wrong_secret_is_detected_by_the_receiver_and_nothing_is_dropped(tmp_path: Path):
    rec = Receiver(SECRET).start()
    store = store_with(tmp_path, {"crm": (rec, OTHER_SECRET)})
    hub = peer(store.cfg, "hub")
    host = IntegrationHost(store.cfg, [Webhooks(store.cfg)]).start()
    try:
        assert host.connected.wait(10)
        time.sleep(0.3)
        publish_state(hub, "c1", "waiting")
        assert wait(lambda: rec.refused >= 2, 20)
        assert rec.got == []
        assert Outbox(store.cfg.webhook_delivery.outbox).waiting("crm") == 1  # kept, for when the secret is fixed
    finally:
        host.stop()
        hub.close()
        rec.stop()
        store.broker.stop()


@pytest.mark.slow
def test_a_slow_receiver_slows_neither_pages_nor_the_other_receiver(tmp_path: Path):
    slow, fast = Receiver(SECRET, delay_s=5.0).start(), Receiver(SECRET).start()
    store = store_with(tmp_path, {"slow": (slow, SECRET), "fast": (fast, SECRET)})
    hub = Hub(store.cfg)
    hub.start()
    assert hub.ready.wait(10)
    host = IntegrationHost(store.cfg, [Webhooks(store.cfg)]).start()
    anna = peer(store.cfg, "staff:anna", [f"{T}/page/anna"])
    kiosk = peer(store.cfg, "device:kiosk-1")
    latencies = []
    try:
        assert host.connected.wait(10)
        anna.publish(f"{T}/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)
        time.sleep(0.5)
        for n in range(4):
            sent = time.monotonic()
            kiosk.publish(f"{T}/call/kiosk-1", json.dumps({"id": f"k{n}"}))
            anna.wait_for(lambda t, m, n=n: json.loads(m)["id"] == f"k{n}", 10)
            latencies.append(time.monotonic() - sent)
            assert wait(lambda n=n: "call.opened" in fast.events(f"k{n}"), 5)  # while slow is still busy
            anna.publish(f"{T}/staff/anna/resolve", json.dumps({"id": f"k{n}"}))
            assert wait(lambda n=n: "call.resolved" in fast.events(f"k{n}"), 5)
        assert max(latencies) < 2.0, latencies  # pages go out at once though "slow" takes 5 s per event
        assert len(slow.got) < 8  # it really was behind meanwhile
        assert wait(lambda: len(slow.got) == 8, 60)
        assert [m["type"] for m in slow.got] == [m["type"] for m in fast.got]
    finally:
        for p in (anna, kiosk):
            p.close()
        host.stop()
        hub.stop()
        slow.stop()
        fast.stop()
        store.broker.stop()


def test_chat_cards_read_from_the_catalogs_and_bad_messages_are_dropped(tmp_path: Path):
    toml = (
        '[store]\nid = "s1"\nname = "S"\nlanguage = "sv"\n[[devices]]\nid = "kiosk-1"\nkind = "kiosk"\n'
        'zone = "z"\nlabel = "Kassan"\n'
        f'[[webhooks]]\nid = "chat"\nenabled = true\nurl = "http://r/h"\nformat = "slack"\n'
        f'events = ["call.unattended"]\n[[webhooks]]\nid = "teams"\nenabled = true\nurl = "http://r/t"\n'
        f'format = "teams"\nlanguage = "en"\nevents = ["call.unattended"]\n'
        f'[webhook_delivery]\noutbox = "{tmp_path / "o.db"}"\n'
    )
    hooks = Webhooks(parse_config(toml))
    for bad in (b"{", b"\xff", b'{"id": "other"}', json.dumps({"id": "c1"}).encode()):
        hooks.handle(f"{T}/state/c1", bad, False)  # logged and dropped, never raised
    hooks.handle(f"{T}/summary", b"[]", True)
    st = state("unattended", 3)
    st.waited_s = 600
    hooks.handle(f"{T}/state/c1", msgspec.json.encode(st), False)
    rows = {r: hooks.outbox.head(r) for r in ("chat", "teams")}
    assert json.loads(rows["chat"].body) == {"text": "Kassan (z): INGEN KOM på 10:00"}
    assert json.loads(rows["teams"].body)["text"] == "Kassan (z): NOBODY CAME in 10:00"
    assert hooks.outbox.waiting() == 2
    hooks.outbox.close()


class FakeHost:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.published.append((topic, payload if isinstance(payload, bytes) else payload.encode(), retain))


def test_the_backlog_is_published_for_the_metrics(tmp_path: Path, monkeypatch):
    """Events waiting per receiver go out on the retained integrations/status (the web server's
    staffcall_webhook_backlog), when the count changes."""
    import broker.integrations.webhooks as module

    monkeypatch.setattr(module, "BACKLOG_EVERY_S", 0.05)
    rec = Receiver(SECRET)  # never started: everything waits
    store = store_with(tmp_path, {"crm": (rec, SECRET)})
    store.broker.stop()
    hooks = Webhooks(store.cfg)
    host = FakeHost()
    hooks.start(host)
    try:
        for status, tier in LIFE[:2]:
            hooks.handle(f"{T}/state/c1", msgspec.json.encode(state(status, tier, "c1")), False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            last = [json.loads(b) for t, b, r in host.published if t == f"{T}/integrations/status" and r]
            if last and last[-1]["webhooks"]["backlog"] == {"crm": 2}:
                break
            time.sleep(0.05)
        assert last and last[-1]["webhooks"]["backlog"] == {"crm": 2}, host.published
        assert last[0]["webhooks"]["backlog"] == {"crm": 0}  # at start, before anything waited
    finally:
        hooks.stop()
