"""``/metrics``: scraped with Prometheus' own parser during a real call on the store's broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from broker.contract import credentials
from broker.contract.config import parse_config
from broker.hub.shell import Hub
from broker.mosquitto.setup import render_acl
from broker.web.prometheus import MAX_TRACKED, CallFigures
from tests.broker.web.conftest import WebServer, start_secure_phones_store
from tests.conftest import STORE_TOML
from tests.security.conftest import peer

T = "staffcall/s1"
PASSWORD = "metrics-test-password"
# Appended to the test store's [web] section: the board's password, then the [metrics] section.
METRICS_ON = f'password = "{PASSWORD}"\n\n[metrics]\nenabled = true\nwait_buckets_s = [1, 5, 30, 60]\n'

OPENED = "2026-01-01T10:00:00.000Z"
PAGE = {"device": "kiosk-1", "zone": "electronics", "reason": None, "text": "t", "opened_at": OPENED}
STATE = {"device": "kiosk-1", "zone": "electronics", "tier": 1, "opened_at": OPENED}


def page(call: str, tier: int = 1, kind: str = "call") -> bytes:
    return json.dumps({**PAGE, "id": call, "tier": tier, "kind": kind}).encode()


def state(call: str, status: str, waited_s: int, updated_at: str = "2026-01-01T10:00:12.000Z") -> bytes:
    return json.dumps({**STATE, "id": call, "status": status, "waited_s": waited_s, "updated_at": updated_at}).encode()


# --- what each message adds (pure) -------------------------------------------------------------------


def test_each_step_is_counted_once_and_retained_history_never():
    f = CallFigures("s1")
    assert f.apply(f"{T}/state/c1", state("c1", "acknowledged", 12), True, 0.0) == []  # old news on connect
    assert f.apply(f"{T}/state/c1", state("c1", "greeted", 20, "2026-01-01T10:00:20.000Z"), False, 0.0)[0].value == 20
    assert f.apply(f"{T}/state/c1", state("c1", "greeted", 20), False, 0.0) == []  # a republished state
    # A resolve that was never greeted counts the greeting at the resolve, as the hub's own figures do.
    obs = f.apply(f"{T}/state/c2", state("c2", "resolved", 40, "2026-01-01T10:00:40.500Z"), False, 0.0)
    assert [(o.metric, o.value) for o in obs] == [("ack", 40.5), ("greet", 40.5)]
    # A later call -> page for the same call (a tier-2 page) is not a first page.
    assert [o.metric for o in f.apply(f"{T}/page/ben", page("c3", 2, "next"), False, 1e10)] == ["page"]


def test_hostile_and_unlucky_messages_count_nothing_and_keep_labels_few():
    f = CallFigures("s1")
    for topic, payload in [
        (f"{T}/page/anna", b"{not json"),
        (f"{T}/page/anna", b"\xff\xfe"),
        (f"{T}/page/anna", b"[]"),
        (f"{T}/page/anna", b'{"id": 1}'),
        (f"{T}/page/anna", page("c1")[:-1] + b", " + b'"x": "' + b"y" * 5000 + b'"}'),
        (f"{T}/state/c1", state("c2", "acknowledged", 3)),  # another call's id under this topic
        (f"{T}/state/c1", b'{"id": "c1", "status": "acknowledged"}'),
        ("staffcall/other/page/anna", page("c1")),
        (f"{T}/page", page("c1")),
    ]:
        assert f.apply(topic, payload, False, 0.0) == [], (topic, payload[:40])
    obs = f.apply(f"{T}/page/anna", page("c9", tier=7, kind="x" * 60), False, 0.0)
    assert obs[0].labels == ("other", "other")
    # A page whose opened_at is hours off (a clock set wrong) is counted, its call -> page left out.
    assert [o.metric for o in f.apply(f"{T}/page/anna", page("c8"), False, 1e10)] == ["page"]
    assert f.apply(f"{T}/page/anna", page("c7"), True, 0.0) == []  # the hub never retains a page
    for n in range(MAX_TRACKED + 50):  # a flood of call ids costs bounded memory
        f.apply(f"{T}/state/f{n}", state(f"f{n}", "waiting", 0), False, 0.0)
    assert len(f._counted) <= MAX_TRACKED


def test_the_board_reads_pages_only_when_metrics_are_on():
    base = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    user = f"user {credentials.username('board')}\n"
    board = lambda text: render_acl(parse_config(text)).split(user)[1].split("\n\n")[0]  # noqa: E731
    assert "page/+" not in board(base)
    assert "topic read staffcall/s1/page/+" in board(base + "\n[metrics]\nenabled = true\n")


# --- a real call on the store's broker, scraped ----------------------------------------------------------


class Scraper:
    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        r = httpx.get(f"{self.url}/metrics", auth=("prometheus", PASSWORD), timeout=10)
        assert r.status_code == 200, r.text
        out = {}
        for family in text_string_to_metric_families(r.text):
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def value(self, name: str, **labels: str) -> float | None:
        return self().get((name, tuple(sorted(labels.items()))))

    def wait(self, name: str, expected: float, timeout: float = 20.0, **labels: str) -> None:
        deadline = time.monotonic() + timeout
        while (got := self.value(name, **labels)) != expected:
            assert time.monotonic() < deadline, f"{name}{labels} = {got}, expected {expected}"
            time.sleep(0.1)


def start_web(cfg) -> WebServer:
    web = WebServer(cfg).start()
    assert web.parts.metrics_feed is not None and web.parts.metrics_feed.subscribed.wait(10)
    return web


@pytest.fixture
def metrics_store(tmp_path: Path):
    store = start_secure_phones_store(tmp_path, extra=METRICS_ON)
    hub = Hub(store.cfg)
    hub.start()
    assert hub.ready.wait(10)
    running = [start_web(store.cfg)]
    yield store, running  # a test may restart the web server: the last one is stopped here
    running[-1].stop()
    hub.stop()
    store.broker.stop()


def test_a_call_moves_the_figures(metrics_store):
    store, (web,) = metrics_store
    scrape = Scraper(web.url)
    assert httpx.get(f"{web.url}/metrics", timeout=10).status_code == 401  # the board's password guards it
    anna = peer(store.cfg, "staff:anna", [f"{T}/page/anna"])
    kiosk = peer(store.cfg, "device:kiosk-1")
    try:
        anna.publish(f"{T}/staff/anna/presence", '{"status": "on_shift"}', retain=True)
        scrape.wait("staffcall_staff", 1, status="on_shift")
        assert scrape.value("staffcall_open_calls", status="waiting") == 0
        assert scrape.value("staffcall_pages_total", tier="1", kind="call") == 0
        assert scrape.value("staffcall_broker_connected", client="metrics") == 1
        assert scrape.value("staffcall_hub_online") == 1

        kiosk.publish(f"{T}/call/kiosk-1", '{"id": "k1-0001", "reason": "product"}')
        anna.wait_for(lambda t, m: t.endswith("/page/anna"), 10)
        scrape.wait("staffcall_open_calls", 1, status="waiting")
        scrape.wait("staffcall_pages_total", 1, tier="1", kind="call")
        assert scrape.value("staffcall_call_to_page_seconds_count") == 1
        assert 0 <= scrape.value("staffcall_call_to_page_seconds_sum") < 10
        assert scrape.value("staffcall_devices", status="online") == 2  # the web server's two QR call points
        kiosk.publish(f"{T}/device/kiosk-1/status", "online", retain=True)
        scrape.wait("staffcall_devices", 3, status="online")
        assert scrape.value("staffcall_devices", status="unknown") == 2  # kiosk-2 and button-1: never heard from

        anna.publish(f"{T}/staff/anna/ack", '{"id": "k1-0001"}')
        scrape.wait("staffcall_time_to_ack_seconds_count", 1)
        assert scrape.value("staffcall_open_calls", status="acknowledged") == 1
        assert scrape.value("staffcall_time_to_ack_seconds_bucket", le="60.0") == 1

        anna.publish(f"{T}/staff/anna/greet", '{"id": "k1-0001"}')
        anna.publish(f"{T}/staff/anna/resolve", '{"id": "k1-0001", "outcome": "helped"}')
        scrape.wait("staffcall_time_to_greet_seconds_count", 1)
        scrape.wait("staffcall_open_calls", 0, status="acknowledged")
        scrape.wait("staffcall_open_calls", 0, status="greeted")
        assert scrape.value("staffcall_time_to_ack_seconds_count") == 1  # the greeting counted no second ack
        # The hub's event-log commit times, from its retained hub/health (published within its loop's wake-up).
        scrape.wait("staffcall_hub_health", 1, status="ok", timeout=30)
        assert scrape.value("staffcall_eventlog_write_seconds", stat="max") is not None
    finally:
        anna.close()
        kiosk.close()


def test_a_restarted_web_server_counts_no_old_call_again(metrics_store):
    store, running = metrics_store
    anna = peer(store.cfg, "staff:anna", [f"{T}/page/anna", f"{T}/state/+"])
    kiosk = peer(store.cfg, "device:kiosk-1")
    try:
        anna.publish(f"{T}/staff/anna/presence", '{"status": "on_shift"}', retain=True)
        kiosk.publish(f"{T}/call/kiosk-1", '{"id": "k1-0002"}')
        anna.wait_for(lambda t, m: t.endswith("/page/anna"), 10)
        anna.publish(f"{T}/staff/anna/ack", '{"id": "k1-0002"}')
        anna.wait_for(lambda t, m: t.endswith("/state/k1-0002") and b"acknowledged" in m, 10)
        running.pop().stop()
        running.append(start_web(store.cfg))
        scrape = Scraper(running[-1].url)
        scrape.wait("staffcall_open_calls", 1, status="acknowledged")
        assert scrape.value("staffcall_time_to_ack_seconds_count") == 0  # retained: history, not news
        assert scrape.value("staffcall_pages_total", tier="1", kind="call") == 0
    finally:
        anna.close()
        kiosk.close()


def test_the_webhooks_backlog_is_a_gauge_per_receiver():
    from broker.web.live import LiveState
    from broker.web.prometheus import backlog_gauges

    live = LiveState("s1")
    assert list(backlog_gauges(dict(live.integrations or {}))) == []  # nothing heard: no metric
    assert live.apply("staffcall/s1/integrations/status", b'{"webhooks": {"backlog": {"crm": 3, "chat": 0}}}')
    (family,) = backlog_gauges(dict(live.integrations or {}))
    assert {(s.labels["receiver"], s.value) for s in family.samples} == {("crm", 3), ("chat", 0)}
    assert live.apply("staffcall/s1/integrations/status", b"[1]") is False  # not an object: ignored
    base = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    acl = render_acl(parse_config(base + "\n[metrics]\nenabled = true\n"))
    board = acl.split(f"user {credentials.username('board')}\n")[1].split("\n\n")[0]
    integrations = acl.split(f"user {credentials.username('integrations')}\n")[1].split("\n\n")[0]
    assert "topic read staffcall/s1/integrations/status" in board
    assert "topic write staffcall/s1/integrations/status" in integrations
