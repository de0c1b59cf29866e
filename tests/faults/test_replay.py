"""A broker replaying an old repeat press (as after a crash, from its last autosave) opens nothing.

The press belongs to a call since resolved: it must page nobody and open no phantom call, with the hub's
memory intact and after a hub restart (when only the event log's ``presses`` table knows the id).
"""

from __future__ import annotations

import json

from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore, T


def events(store: FaultStore, kind: str, press: str) -> int:
    sql = "select count(*) as n from events where kind = ? and payload like ?"
    return rows(store.db, sql, [kind, f'%"{press}"%'])[0]["n"]


def test_replayed_press_of_a_resolved_call_opens_nothing(tmp_path):
    store = FaultStore(tmp_path, devices=2)
    try:
        store.on_shift("ben", "chloe")
        store.start_hub()
        store.press("kiosk-2", "r1")
        store.press("kiosk-2", "r1-p2", new=False)
        assert store.wait_paged(["r1"])
        assert wait(lambda: rows(store.db, "select id from presses where id = 'r1-p2'"))
        page = store.watch.wait_for(lambda m: "/page/" in m.topic and m.json.get("id") == "r1")
        staff = page.topic.rsplit("/", 1)[1]
        store.login(f"staff:{staff}").publish(f"{T}/staff/{staff}/resolve", json.dumps({"id": "r1"}))
        assert wait(lambda: rows(store.db, "select status from calls where id = 'r1'")[0]["status"] == "resolved")

        replays = 0
        for round_, marker in ((1, "f01"), (2, "f02")):
            if round_ == 2:
                store.stop_hub()
                store.start_hub()
            mark = store.watch.mark()
            for press in ("r1-p2", "r1"):  # the old repeat press, and the call's first press too
                store.press("kiosk-2", press, new=False)
                replays += 1
            store.press(marker, f"marker-{round_}")  # handled after the replays: the hub is past them
            assert store.wait_paged([f"marker-{round_}"]) and store.wait_recorded([f"marker-{round_}"])
            later = [m.json.get("id") for m in store.watch.pages(mark)]
            assert later == [f"marker-{round_}"], f"round {round_}: pages after the replay: {later}"
            opened = [r["id"] for r in rows(store.db, "select id from calls where status != 'resolved'")]
            assert "r1-p2" not in opened
        assert events(store, "replayed_press", "r1-p2") == 1, "after the restart the log did not know the press"
        status = rows(store.db, "select status, repeat_presses from calls where id = 'r1'")[0]
        assert status == {"status": "resolved", "repeat_presses": 1}
        lost, dups, phantom = store.counts()
        assert (lost, dups, phantom) == (0, 0, 0)
        record(
            "broker replays an old repeat press",
            "1 call + 1 repeat press, resolved; 2 marker calls",
            f"{replays} replayed presses of the resolved call (its repeat press and its first press), "
            "hub memory intact, then after a hub restart",
            len(store.sent) + len(store.repeats) + replays,
            lost,
            dups,
            "no page, no call reopened; after the restart the press was found in the event log "
            "('replayed_press'); the call stays resolved with 1 repeat press",
            phantom=phantom,
            deaf=store.deaf(["marker-1", "marker-2"]),
        )
    finally:
        store.close()
