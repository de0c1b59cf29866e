"""The chain board's state, without a cluster: offline on the board's clock, replayed statuses, worst first."""

from __future__ import annotations

from broker.chain.storeboard import StoreBoard
from broker.contract.chain import StoreStatus


def status(store: str, region: str = "north", **kw) -> StoreStatus:
    return StoreStatus(store=store, region=region, at="2020-01-01T00:00:00Z", **kw)


def test_offline_follows_the_boards_clock_not_the_stores_at():
    b = StoreBoard(offline_after_s=120)
    b.apply(status("s1"), now=1000.0)  # its `at` is years old: it does not matter
    assert b.offline(1119.0) == frozenset()
    assert b.offline(1121.0) == {"s1"}
    b.apply(status("s1"), now=1200.0)
    assert b.offline(1200.0) == frozenset()


def test_a_replayed_status_is_dated_back_and_an_older_one_never_replaces_a_newer():
    b = StoreBoard(offline_after_s=120)
    assert b.apply(status("s1", open_calls=1), now=50.0, age_s=3600)
    assert b.offline(50.0) == {"s1"}
    assert b.apply(status("s1", open_calls=2), now=60.0)
    assert not b.apply(status("s1", open_calls=3), now=61.0, age_s=30)  # older than what the board has
    assert b.view(61.0)["open_calls"] == 2


def test_worst_first_offline_then_longest_wait_grouped_by_region():
    b = StoreBoard(offline_after_s=10)
    b.apply(status("a", "north", longest_wait_s=5), now=0.0)
    b.apply(status("b", "north", longest_wait_s=300), now=100.0)
    b.apply(status("c", "south", longest_wait_s=30), now=100.0)
    b.apply(status("d", "south", longest_wait_s=500, open_calls=4), now=100.0)
    view = b.view(100.0)
    assert [r["region"] for r in view["regions"]] == ["north", "south"]  # north holds the offline store
    assert [s["store"] for s in view["regions"][0]["stores"]] == ["a", "b"]
    assert [s["store"] for s in view["regions"][1]["stores"]] == ["d", "c"]
    assert (view["stores"], view["offline"], view["open_calls"]) == (4, 1, 4)
