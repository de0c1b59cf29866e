"""A colleague off shift and never paged for a call cannot take, greet or resolve it from their own login."""

from __future__ import annotations

import json

from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore, T


def test_off_shift_colleague_never_paged_is_refused(tmp_path):
    store = FaultStore(tmp_path)
    try:
        store.on_shift("ben", "chloe")
        store.on_shift("dave", status="off")
        store.start_hub()
        store.press("kiosk-2", "c1")
        assert store.wait_paged(["c1"])
        assert wait(lambda: rows(store.db, "select staff from calls where id = 'c1'"))
        before = rows(store.db, "select status, staff, tier from calls where id = 'c1'")[0]
        assert before["staff"] in ("ben", "chloe") and before["status"] == "waiting"
        mark = store.watch.mark()
        dave = store.login("staff:dave")
        actions = ("ack", "greet", "resolve")
        for action in actions:
            dave.publish(f"{T}/staff/dave/{action}", json.dumps({"id": "c1"}))

        def refused() -> list[dict]:
            return rows(
                store.db, "select reason from rejected where topic like ? and reason like 'refused%'", ["%dave%"]
            )

        assert wait(lambda: len(refused()) == len(actions)), refused()
        events = rows(store.db, "select count(*) as n from events where kind = 'refused' and staff = 'dave'")[0]["n"]
        assert events == len(actions)
        after = rows(store.db, "select status, staff, tier from calls where id = 'c1'")[0]
        assert after == before
        changed = [m.json.get("status") for m in store.watch.snapshot(mark) if m.topic.endswith("/state/c1")]
        assert changed == [], f"the call's state changed: {changed}"
        lost, dups, phantom = store.counts()
        record(
            "off-shift colleague acts on a call",
            "1 open call paged to a colleague on shift",
            "ack, greet and resolve from dave's own login (off shift, never paged for the call)",
            1 + len(actions),
            lost,
            dups,
            f"all {len(actions)} refused, in `rejected` and as 'refused' events; the call unchanged "
            f"({after['status']}, {after['staff']})",
            phantom=phantom,
        )
    finally:
        store.close()
