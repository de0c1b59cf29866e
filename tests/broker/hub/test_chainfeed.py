"""The hub's chain feed: what a closed call's record says, and where a restarted hub re-sends from."""

from __future__ import annotations

from dataclasses import dataclass

from broker.contract.chain import decode_call, decode_status
from broker.contract.config import parse_config
from broker.hub.chainfeed import ChainFeed, call_record

CFG = """
[store]
id = "s7"
name = "Store 7"
timezone = "Europe/Stockholm"
[[staff]]
id = "anna"
name = "Anna"
[[devices]]
id = "k1"
kind = "kiosk"
zone = "toys"
[chain]
enabled = true
host = "chain.example.com"
username = "s7"
password = "pw"
region = "south"
share_text = {share}
"""


def cfg(share: bool = False):
    return parse_config(CFG.format(share="true" if share else "false"))


def row(call_id: str = "c1", opened_ts: float = 1_774_746_000.0, **kw) -> dict:
    # 2026-03-29 01:00 UTC: the night Sweden moves to summer time (03:00 local)
    base = {
        "id": call_id,
        "device": "k1",
        "zone": "toys",
        "status": "resolved",
        "staff": "anna",
        "greeted_at": "2026-03-29T01:00:40.000Z",
        "opened_at": "2026-03-29T01:00:00.000Z",
        "opened_ts": opened_ts,
        "closed_at": "2026-03-29T01:01:00.000Z",
        "time_to_greet_s": 40.0,
        "text": "call me on 0701234567",
    }
    return {**base, **kw}


def test_record_has_the_stores_local_time_and_no_text_unless_shared() -> None:
    r = call_record(row(), cfg())
    assert (r.local_date, r.local_hour, r.local_weekday) == ("2026-03-29", 3, 6)  # after the DST jump
    assert (r.store, r.region, r.staff, r.staff_name, r.text) == ("s7", "south", "anna", "Anna", "")
    assert call_record(row(), cfg(share=True)).text == "call me on 0701234567"
    assert call_record(row(greeted_at=None), cfg()).staff == "", "nobody greeted: no colleague named"


@dataclass
class Info:
    done: bool = False

    def is_published(self) -> bool:
        return self.done


def test_marker_stays_at_the_oldest_record_mosquitto_has_not_acknowledged() -> None:
    sent: list[tuple[str, bytes, Info]] = []

    def publish(topic: str, payload: bytes) -> Info:
        sent.append((topic, payload, Info()))
        return sent[-1][2]

    feed = ChainFeed(cfg(), publish)
    assert feed.marker() is None
    rows = [row(f"c{i}", closed_at=f"2026-03-29T01:0{i}:00.000Z") for i in range(1, 4)]
    feed.after_commit(ChainFeed.closed_rows([("call", r) for r in rows] + [("event", {})]), None)()
    assert [decode_call(p).call_id for _, p, _ in sent] == ["c1", "c2", "c3"]
    assert {t for t, _, _ in sent} == {"chain/s7/calls"}
    sent[0][2].done = True
    assert feed.marker() == "2026-03-29T01:02:00.000Z", "c2 is not acknowledged: re-send from it"
    sent[2][2].done = True
    assert feed.marker() == "2026-03-29T01:02:00.000Z"
    sent[1][2].done = True
    assert feed.marker() == "2026-03-29T01:03:00.000Z", "all acknowledged: from the last one (re-sent harmlessly)"


def test_ack_runs_even_when_publishing_fails_and_status_reports_the_store() -> None:
    acked = []

    def broken(topic: str, payload: bytes) -> Info:
        raise RuntimeError("client gone")

    ChainFeed(cfg(), broken).after_commit([row()], lambda: acked.append(1))()
    assert acked == [1], "the store's MQTT ack never waits on the chain"
    out = []
    feed = ChainFeed(cfg(), lambda t, p: out.append((t, p)) or Info())
    summary = {"calls": 4, "greeted_within_target": 3}
    feed.status(summary, [12.0, 95.5], {"k1": "online"}, 1_774_746_000.0)
    topic, payload = out[0]
    status = decode_status(payload)
    assert topic == "chain/s7/status"
    assert (status.open_calls, status.longest_wait_s, status.devices_online, status.devices_total) == (2, 95.5, 1, 1)
    assert status.promise_share_today == 0.75
