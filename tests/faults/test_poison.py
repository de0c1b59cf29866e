"""Poison from one device's own login: the hub rejects every message, acknowledges it, and stays all ears.

Invalid UTF-8 inside a JSON string, JSON nested 1,100 deep (under 4 KiB), an id ending in a newline, control
characters in ids and seeded random bytes, all on the topics the device may write.  Each one unacknowledged
would hold one of the broker's 100 in-flight places for good; 110 of a kind fill the window.
"""

from __future__ import annotations

import json
import random

from tests.faults.helpers import record, rows, wait
from tests.faults.store import FaultStore, T

KIND = 110
SEED = 13


def poison() -> list[tuple[str, bytes]]:
    """(topic suffix under the device, payload): every kind of poison, KIND of the first two."""
    rng = random.Random(SEED)
    out: list[tuple[str, bytes]] = []
    out += [("", b'{"id":"k%d","reason":"caf\xe9"}' % i) for i in range(KIND)]
    deep = 1100
    out += [("", b'{"id":"n%d","reason":' % i + b"[" * deep + b"]" * deep + b"}") for i in range(KIND)]
    out += [("", json.dumps({"id": f"nl{i}\n"}).encode()) for i in range(20)]
    out += [("", json.dumps({"id": f"c{chr(c)}x"}).encode()) for c in (*range(0, 32), 127)]
    for _ in range(200):
        raw = rng.randbytes(rng.randrange(1, 400))
        out.append((rng.choice(["", "/cancel", "/greet", "/feedback"]), raw))
    return out


def test_poison_from_one_login_leaves_the_hub_all_ears(tmp_path):
    store = FaultStore(tmp_path, devices=1)
    try:
        store.on_shift("anna", "ben", "chloe")
        store.start_hub()
        messages = poison()
        assert all(len(p) < 4096 for _, p in messages)
        attacker = store.login("device:kiosk-1")
        infos = []
        for i, (suffix, payload) in enumerate(messages):
            infos.append(attacker.client.publish(f"{T}/call/kiosk-1{suffix}", payload, qos=1))
            if i == len(messages) // 2:
                store.press("kiosk-2", "real-mid")  # a customer in the middle of it
        for info in infos:
            info.wait_for_publish(30)
        store.press("button-1", "real-after")
        assert store.wait_paged(["real-mid", "real-after"], 30), store.hub_log()[-3000:]
        deaf = store.deaf(["real-mid", "real-after"])

        def poisoned() -> int:
            return rows(store.db, "select count(*) as n from rejected where topic like ?", [f"{T}/call/kiosk-1%"])[0][
                "n"
            ]

        assert wait(lambda: poisoned() >= len(messages), 30), f"{poisoned()} of {len(messages)} in rejected"
        assert poisoned() == len(messages)
        statuses = [m.payload for m in store.watch.snapshot() if m.topic.endswith("hub/status")]
        assert b"offline" not in statuses[1:], statuses
        assert store.reconnects() == 0, "the hub lost its broker connection"

        # Restart: whatever the hub did not acknowledge, the broker would hand it again now.
        # (The retained presence messages come again with every subscription: they are not redeliveries.)
        handed = "select count(*) as n from events where kind = 'received' and topic not like '%/presence'"
        before = rows(store.db, handed)[0]["n"]
        store.stop_hub()
        store.start_hub()
        store.press("f01", "marker")  # queued after anything the broker would redeliver
        assert store.wait_paged(["marker"]) and store.wait_recorded(["marker"])
        after = rows(store.db, handed)[0]["n"]
        redelivered = after - before - 1
        assert redelivered == 0, f"{redelivered} messages handed to the hub again after its restart"
        assert poisoned() == len(messages)
        assert store.reconnects() == 0
        lost, dups, phantom = store.counts()
        assert (lost, dups, phantom) == (0, 0, 0)
        assert deaf < 10, f"the real calls waited {deaf:.2f} s for a page"
        record(
            "poison from one device login",
            f"{len(messages)} poison messages from kiosk-1's login + 3 real calls from other devices",
            f"{KIND} invalid UTF-8 in a JSON string, {KIND} JSON nested 1,100 deep, ids ending in \\n, control "
            "characters in ids, 200 random byte strings (seeded); hub restarted after",
            len(messages) + 3,
            lost,
            dups,
            f"all {len(messages)} in `rejected`; hub/status stayed online, no reconnect; nothing redelivered "
            "after the restart",
            phantom=phantom,
            deaf=deaf,
        )
    finally:
        store.close()
