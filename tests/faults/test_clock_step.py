"""The wall clock jumps 3 hours while the hub is down (a Pi without a real-time clock, NTP at boot): an open
call restored at the restart is neither escalated nor closed at once; its timers go on where they were.

The restarted hub runs under ``faketime`` with the monotonic clock left alone, so only the wall clock moves.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore

ACK_S = 15.0
ESCALATE_S = 60.0
LEEWAY_S = 4.0
"""A loaded 2-core CI machine may start the hub and deliver the page this much late."""


def test_restored_call_keeps_its_timers_across_a_wall_clock_step(tmp_path):
    if not shutil.which("faketime"):
        pytest.skip("faketime is not installed (deploy/install-deps.sh test)")
    store = FaultStore(tmp_path, ack=ACK_S, esc=ESCALATE_S, unatt=600)
    try:
        store.on_shift("ben", "chloe")
        store.start_hub()
        opened = store.press("kiosk-2", "c1")
        assert store.wait_paged(["c1"]) and store.wait_recorded(["c1"])
        assert wait(lambda: rows(store.db, "select value from hub_meta where key = 'alive_mono'"))
        store.kill_hub()
        mark = store.watch.mark()
        env = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        store.start_hub(prefix=["faketime", "-f", "+3h"], env=env)
        state = store.watch.wait_for(lambda m: m.topic.endswith("/state/c1"), 20, mark)
        assert state and state.json["status"] == "waiting", state
        stepped = datetime.fromisoformat(state.json["updated_at"].replace("Z", "+00:00"))
        assert (stepped - datetime.now(UTC)).total_seconds() > 2.5 * 3600, "faketime did not move the wall clock"

        def escalated(m) -> bool:
            return "/page/" in m.topic and m.json.get("id") == "c1"

        nxt = store.watch.wait_for(escalated, ACK_S + 2 * LEEWAY_S + 10, mark)
        assert nxt is not None, "the restored call's timer never fired"
        after = nxt.at - opened
        assert nxt.json["kind"] == "next", f"the first page after the restart was {nxt.json['kind']!r}"
        assert ACK_S - 1 <= after <= ACK_S + LEEWAY_S, f"'next' page {after:.1f} s after the call, not ~{ACK_S:g}"
        closed = [m for m in store.watch.snapshot(mark) if m.topic.endswith("/state/c1") and not m.payload]
        assert not closed, "the restored call was closed"
        status = rows(store.db, "select status from calls where id = 'c1'")[0]["status"]
        assert status == "waiting"
        lost, dups, phantom = store.counts()
        assert (lost, dups, phantom) == (0, 0, 0)
        record(
            "wall clock 3 h ahead across a restart",
            "1 open call paged at tier 1",
            "kill -9 of the hub; restarted under faketime +3h (monotonic clock unchanged, same boot)",
            1,
            lost,
            dups,
            f"not escalated nor closed at the restart; 'next' page {after:.1f} s after the call "
            f"(ack_timeout_s = {ACK_S:g})",
            phantom=phantom,
        )
    finally:
        store.close()
