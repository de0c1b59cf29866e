"""The WAN between a store and the chain cut for 60 s while customers keep calling: the store pages as
usual, and once the link is back every call is in the chain's files exactly once."""

from __future__ import annotations

import time
from collections import Counter

from tests.chain.conftest import ChainStore, ingest_process, parquet_keys, wait_keys
from tests.faults.helpers import record as record_figures
from tests.faults.helpers import stop, wait

CUT_S = 60.0


def test_wan_cut_for_a_minute_the_store_pages_and_the_chain_gets_every_call_once(chain_cluster, tmp_path):
    stores = [ChainStore(tmp_path / s, s, chain_cluster, node=i) for i, s in enumerate(("s1", "s2"))]
    data = tmp_path / "data"
    ingest = ingest_process(chain_cluster, data, tmp_path / "ingest.log")
    want: set[tuple[str, str]] = set()
    slowest_page = 0.0
    try:
        for store in stores:
            store.start_hub()
            store.on_shift("anna", "ben")

        def one_round(n: int) -> None:
            nonlocal slowest_page
            for store in stores:
                call = f"{store.store}-c{n:03d}"
                sent = time.monotonic()
                store.call(call)
                store.wait_paged(call, timeout=15)
                slowest_page = max(slowest_page, time.monotonic() - sent)
                store.close_call(call)
                want.add((store.store, call))

        for n in range(3):
            one_round(n)
        assert wait_keys(data, set(want), 60), "the chain gets calls before the cut"
        stores[0].link.cut()
        cut_at, n = time.monotonic(), 3
        while time.monotonic() - cut_at < CUT_S:
            one_round(n)  # customers keep calling; the store keeps paging
            n += 1
            time.sleep(1.0)
        during = {k for k in want if k[0] == "s1"} - set(parquet_keys(data))
        assert during, "s1's calls made during the cut could not have reached the chain yet"
        stores[0].link.restore()
        for m in range(n, n + 3):
            one_round(m)
        assert wait_keys(data, want, 90), f"missing: {sorted(want - set(parquet_keys(data)))[:10]}"
        assert wait(lambda: chain_cluster.ingest_waiting() == 0, 60)
    finally:
        stop(ingest)
        for store in stores:
            store.close()
    keys = parquet_keys(data)
    doubled = [k for k, c in Counter(keys).items() if c > 1]
    record_figures(
        "chain_wan_cut",
        f"2 stores, a call every ~1-2 s each, {len(want)} calls",
        f"the store's WAN cut {CUT_S:.0f} s",
        len(want),
        len(want - set(keys)),
        len(doubled),
        note=f"{len(during)} calls of s1 queued in its bridge during the cut",
        deaf=slowest_page,
    )
    assert set(keys) == want and not doubled
    assert slowest_page < 15
