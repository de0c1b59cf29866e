"""The pager gateway on a real Mosquitto, with a simulated transmitter on a pty (and the real hub)."""

from __future__ import annotations

import pytest

from broker.contract import protocol as p
from hardware import espa, tap
from hardware.espa import EspaCall
from staff_pager.gateway import PageJob, PageQueue, decline_reason, make_job, pager_addresses
from tests.staff_pager.gateway.conftest import gateway_config
from tests.staff_pager.gateway.simulators import TapCentral

T = "staffcall/s1"


def page(call_id: str = "c1", text: str = "Kiosk by the TVs (electronics): product, 0:00", **kw) -> dict:
    msg = {"id": call_id, "device": "kiosk-1", "zone": "electronics", "reason": "product", "tier": 1}
    return {**msg, "opened_at": "2024-05-01T10:00:00+02:00", "text": text, "kind": "call", **kw}


def seven_bit(text: str) -> str:
    """What an ESPA transmitter carries of a Swedish page: the letters without their marks (by hand)."""
    return text.translate(str.maketrans("åäöÅÄÖéÉ", "aaoAAOeE"))


def espa_frame(address: str, text: str, priority: str = "1") -> bytes:
    """Built by hand from the spec, not by the code under test."""
    body = b"1\x021\x1f" + address.encode() + b"\x1e2\x1f" + text.encode()
    body += b"\x1e3\x1f1\x1e4\x1f3\x1e6\x1f" + priority.encode() + b"\x03"
    x = 0
    for byte in body:
        x ^= byte
    return b"\x01" + body + bytes([x])


# --- the pure part ---------------------------------------------------------------------


def test_pager_addresses_and_jobs(config):
    assert pager_addresses(config) == {"anna": "1234", "ben": "5678"}
    msg = p.PageMsg(**page(text="Kassa 2 — kund väntar " + "x" * 80, customer_text="Var är ni?"))
    job = make_job(msg, "anna", "1234", config.pager_gateway, now=5.0)
    assert job.text == ("Kassa 2 - kund vantar " + "x" * 80)[:60] and job.text.isascii()
    assert not job.urgent and make_job(p.PageMsg(**page(kind="escalation")), "a", "1", config.pager_gateway, 0).urgent
    assert make_job(p.PageMsg(**page(urgency=2)), "a", "1", config.pager_gateway, 0).urgent


def test_decline_reason_fits_the_protocol():
    reason = decline_reason("transmitter refused the page (NAK x4) " + "and much more " * 10)
    assert reason.startswith("pager gateway: transmitter refused") and len(reason) <= 64
    p.decode(p.CallRef, p.encode({"id": "c1", "reason": reason}))  # the hub will accept it


TAP_511 = "refused: 511 Invalid pager ID - not in database"


@pytest.mark.parametrize(
    ("why", "reason"),
    [
        (
            "refused: 511 Invalid pager ID - not in database",
            "pager gateway: refused: 511 Invalid pager ID - not in database",
        ),
        (
            "refused: 511 Invalid pager ID - not in our database",
            "pager gateway: refused: 511 Invalid pager ID - not in our...",
        ),
        ("refused:\x1b[2J 511\tInvalid\x00 pager \u00e4", "pager gateway: refused: [2J 511 Invalid pager"),
        ("x" * 80, "pager gateway: " + "x" * 46 + "..."),
        ("refused: " + "y" * 80, "pager gateway: refused..."),
    ],
)
def test_decline_reason_is_cut_on_a_word_and_cleaned(why, reason):
    assert decline_reason(why) == reason and len(reason) <= 64 and reason.isprintable()


def test_queue_is_bounded_and_expires():
    q = PageQueue(limit=2)
    jobs = [PageJob(f"c{i}", "anna", "1", "t", False, "call", queued_at=i) for i in range(3)]
    assert q.push(jobs[0]) and q.push(jobs[1]) and not q.push(jobs[2])
    assert q.expire(now=10.5, max_age=10) == [jobs[0]]
    assert q.pop() == jobs[1] and q.pop() is None


# --- the gateway on a broker -------------------------------------------------------------


def test_page_is_sent_byte_exact_and_status_published(gateway, espa_sim, listener):
    listener.publish(f"{T}/page/anna", page())
    listener.publish(f"{T}/page/chloe", page("c2"))  # no pager: not ours
    frames = espa_sim.wait_received(1)
    assert frames == [espa_frame("1234", "Kiosk by the TVs (electronics): product, 0:00")]
    status = listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["sent"] == 1).json
    assert status["state"] == "ready" and status["protocol"] == "espa" and status["declined"] == 0


def test_urgent_page_uses_the_urgent_priority(gateway, espa_sim, listener):
    listener.publish(f"{T}/page/ben", page(kind="escalation", tier=3))
    assert espa_sim.wait_received(1) == [espa_frame("5678", "Kiosk by the TVs (electronics): product, 0:00", "2")]


def test_malformed_page_is_ignored_and_the_gateway_carries_on(gateway, espa_sim, listener):
    listener.publish(f"{T}/page/anna", "{not json")
    listener.publish(f"{T}/page/anna", {"id": "c1"})
    listener.publish(f"{T}/page/anna", page("c3"))
    assert espa_sim.wait_received(1) == [espa_frame("1234", "Kiosk by the TVs (electronics): product, 0:00")]
    assert gateway.counts["rejected"] == 2


def test_silent_transmitter_is_reported_as_a_decline(gateway, espa_sim, listener):
    espa_sim.silent = True
    listener.publish(f"{T}/page/anna", page())
    decline = listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/decline").json
    assert decline == {"id": "c1", "reason": "pager gateway: transmitter timeout (no answer to ENQ)"}
    listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "transmitter_silent")


def test_refusal_is_reported_as_a_decline(gateway, espa_sim, listener):
    espa_sim.nak_next = [b""] * 99
    listener.publish(f"{T}/page/ben", page("c9"))
    decline = listener.wait_for(lambda m: m.topic == f"{T}/staff/ben/decline").json
    assert decline == {"id": "c9", "reason": "pager gateway: transmitter refused the page (NAK x2)"}


def test_unplugged_adapter_queues_pages_until_it_is_back(gateway, espa_sim, listener, adapter):
    listener.publish(f"{T}/page/anna", page("c1"))
    espa_sim.wait_received(1)
    # Unplug only once the gateway has the transmitter's ACK: unplugged between the block and its ACK,
    # the page is unconfirmed and rightly sent again after the replug.
    assert espa_sim.wait_until(lambda: gateway.counts["sent"] == 1)
    adapter.unplug()
    listener.publish(f"{T}/page/anna", page("c2"))  # finds the port gone
    listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "port_down")
    listener.publish(f"{T}/page/ben", page("c3"))
    adapter.plug()
    frames = espa_sim.wait_received(3)
    assert frames[1:] == [
        espa_frame("1234", "Kiosk by the TVs (electronics): product, 0:00"),
        espa_frame("5678", "Kiosk by the TVs (electronics): product, 0:00"),
    ]
    assert not [m for m in listener.messages if m.topic.endswith("/decline")]
    listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "ready", start=0)


@pytest.fixture
def short_outage_config(broker, tmp_path, adapter):
    return gateway_config(broker.port, str(tmp_path / "db"), str(adapter.path), outage=0.6)


def test_outage_longer_than_the_timeout_declines_and_overflow_declines(
    short_outage_config, espa_sim, listener, adapter
):
    from staff_pager.gateway import PagerGateway

    adapter.unplug()
    gw = PagerGateway(short_outage_config)
    gw.start()
    try:
        listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "port_down")
        for i in range(4):  # queue_limit is 3
            listener.publish(f"{T}/page/anna", page(f"c{i}"))
        full = listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/decline" and m.json["id"] == "c3").json
        assert full["reason"] == "pager gateway: queue full (3 pages waiting)"
        for i in range(3):
            d = listener.wait_for(lambda m, i=i: m.topic.endswith("/anna/decline") and m.json["id"] == f"c{i}").json
            assert d["reason"] == "pager gateway: serial port down over 0.6s"
        adapter.plug()
        assert gw.ready.wait(5)
        assert espa_sim.received == []
    finally:
        gw.stop()


def test_tap_gateway(broker, tmp_path, adapter, listener):
    from staff_pager.gateway import PagerGateway

    cfg = gateway_config(broker.port, str(tmp_path / "db"), str(adapter.path), protocol="tap")
    sim = TapCentral(adapter)
    sim.start()
    gw = PagerGateway(cfg)
    gw.start()
    try:
        assert gw.ready.wait(5)
        listener.publish(f"{T}/page/anna", page())
        assert sim.wait_received(1) == [tap.build_block("1234", "Kiosk by the TVs (electronics): product, 0:00")]
        sim.refuse = True
        listener.publish(f"{T}/page/ben", page("c2"))
        d = listener.wait_for(lambda m: m.topic == f"{T}/staff/ben/decline").json
        assert d["reason"] == "pager gateway: refused: 511 Invalid pager ID - not in database"
    finally:
        gw.stop()
        sim.stop()


# --- end to end with the hub ---------------------------------------------------------------


def test_call_is_paged_through_the_transmitter(hub, gateway, espa_sim, listener):
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish(f"{T}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    hub.settle()
    listener.publish(f"{T}/call/kiosk-1", {"id": "e1", "reason": "product"})
    sent = listener.page("anna", "e1")
    frames = espa_sim.wait_received(1)
    text = seven_bit(sent["text"])[:60].rstrip()  # a pager's display line: 60 characters
    assert frames == [espa_frame("1234", text)]
    assert espa.parse_block(frames[0]).records["2"] == text
    assert frames[0] == espa.call_block(EspaCall("1234", text))


def test_transmitter_timeout_makes_the_hub_page_the_next_colleague(hub, gateway, espa_sim, listener):
    espa_sim.silent = True
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish(f"{T}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    hub.settle()
    listener.publish(f"{T}/call/kiosk-1", {"id": "e2", "reason": "product"})
    listener.page("anna", "e2")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/decline")
    nxt = listener.page("ben", "e2", kind="next")
    assert nxt["tier"] == 2
    espa_sim.silent = False
    assert espa_sim.wait_received(1) == [espa_frame("5678", seven_bit(nxt["text"])[:60].rstrip())]
    hub.settle()
    import sqlite_utils

    db = sqlite_utils.Database(hub.cfg.database.path)
    declined = list(db["events"].rows_where("kind = 'declined' and call_id = 'e2'"))
    assert declined and "pager gateway: transmitter timeout" in declined[0]["payload"]


def test_idle_polling_notices_a_silent_paging_system(broker, tmp_path, adapter, espa_sim, listener):
    from staff_pager.gateway import PagerGateway

    cfg = gateway_config(broker.port, str(tmp_path / "db"), str(adapter.path))
    cfg.pager_gateway.poll_interval_s = 0.2
    gw = PagerGateway(cfg)
    gw.start()
    try:
        assert gw.ready.wait(5) and espa_sim.wait_until(lambda: espa_sim.polls >= 2)
        espa_sim.silent = True
        st = listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "transmitter_silent")
        assert st.json["last_error"] == "transmitter timeout (no answer to poll)"
        after = listener.messages.index(st) + 1
        espa_sim.silent = False
        listener.wait_for(lambda m: m.topic == f"{T}/gateway/status" and m.json["state"] == "ready", start=after)
    finally:
        gw.stop()
