"""20,000 repeat presses from one device's login: one call, a handful of reminders, flat cost per press,
and another device's call paged within seconds."""

from __future__ import annotations

import json
import time

from broker.core.dispatcher import REPEAT_PAGE_EVERY_S
from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore, T

PRESSES, WINDOW = 20_000, 1000


def test_twenty_thousand_repeat_presses(tmp_path):
    store = FaultStore(tmp_path)
    try:
        store.on_shift("anna", "ben", "chloe")
        store.start_hub()
        store.press("kiosk-1", "stuck")
        assert store.wait_paged(["stuck"])
        device = store.login("device:kiosk-1")
        started = time.monotonic()
        infos = []
        for i in range(PRESSES):
            store.repeats.add(f"stuck-p{i}")
            infos.append(device.client.publish(f"{T}/call/kiosk-1", json.dumps({"id": f"stuck-p{i}"}), qos=1))
            if i == PRESSES // 2:
                store.press("kiosk-2", "other")  # another customer, in the middle of the flood
        for info in infos:
            info.wait_for_publish(120)
        assert store.wait_paged(["other"], 120)
        deaf = store.deaf(["other"])

        def counted() -> int:
            return rows(store.db, "select count(*) as n from presses where call_id = 'stuck'")[0]["n"]

        assert wait(lambda: counted() >= PRESSES, 180), f"{counted()} of {PRESSES} presses recorded"
        took = time.monotonic() - started
        monos = [r["mono"] for r in rows(store.db, "select mono from events where kind = 'repeat_press' order by id")]
        first, last = monos[WINDOW - 1] - monos[0], monos[-1] - monos[-WINDOW]
        assert last <= 3 * first + 0.5, f"the last {WINDOW} presses took {last:.2f} s, the first {first:.2f} s"
        again = [m for m in store.watch.pages() if m.json.get("id") == "stuck" and m.json.get("kind") == "repeat"]
        allowed = 2 + int(took // REPEAT_PAGE_EVERY_S)
        assert len(again) <= allowed, f"{len(again)} 'again' pages in {took:.0f} s"
        call = rows(store.db, "select status, repeat_presses from calls where id = 'stuck'")[0]
        assert call["repeat_presses"] == PRESSES
        lost, dups, phantom = store.counts()
        missing = len(store.repeats - {r["id"] for r in rows(store.db, "select id from presses")})
        assert (lost, dups, phantom, missing) == (0, 0, 0, 0)
        assert deaf < 10, f"the other device's call waited {deaf:.2f} s"
        record(
            "20,000 repeat presses from one login",
            f"{PRESSES} repeat presses of one call from kiosk-1 in {took:.0f} s + 1 call from kiosk-2 mid-flood",
            "a stuck button or a hostile client pressing as fast as MQTT allows",
            PRESSES + 2,
            lost,
            dups,
            f"{len(again)} 'again' pages; first {WINDOW} presses handled in {first:.2f} s, last {WINDOW} in "
            f"{last:.2f} s; all {PRESSES} presses counted once",
            phantom=phantom,
            deaf=deaf,
        )
    finally:
        store.close()
