"""The pager's persistent MQTT session: pages queued while it was away come back, stale ones stay quiet."""

import threading

from staff_pager.link import PagerLink
from tests.faults.helpers import wait

T = "staffcall/s1"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.lock = threading.Lock()

    def __call__(self, what, detail) -> None:
        with self.lock:
            self.events.append((what, detail))

    def pages(self) -> list[object]:
        with self.lock:
            return [d for w, d in self.events if w == "page"]


def test_pages_queued_while_away_come_back_and_only_an_open_call_alerts(config, hub, listener):
    away = PagerLink(config, "anna")
    away.start()
    assert wait(lambda: away.connected, 10)
    away.set_presence("on_shift")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    hub.settle()
    # Gone without a word (the app killed by the phone, no Will either): the hub still counts on Anna.
    away.client.disconnect()
    away.client.loop_stop()

    listener.publish(f"{T}/call/kiosk-1", {"id": "c1"})
    listener.page("anna", "c1")
    listener.publish(f"{T}/staff/ben/presence", {"status": "break"}, retain=True)  # at work, not paged
    listener.publish(f"{T}/staff/ben/ack", {"id": "c1"})  # Ben took it and dealt with it meanwhile
    listener.publish(f"{T}/staff/ben/resolve", {"id": "c1"})
    listener.state("c1", "resolved")
    listener.publish(f"{T}/call/kiosk-1", {"id": "c2"})  # and this one is still waiting for Anna
    listener.page("anna", "c2")
    hub.settle()

    seen = Recorder()
    back = PagerLink(config, "anna", on_change=seen)
    try:
        back.start()
        assert wait(lambda: True in seen.pages(), 10), seen.events
        with back.lock:
            now = back.clock()
            assert back.core.alerting(now).id == "c2"
            assert "c1" not in back.core.pages and "c1" not in back.core.calls
        # Both pages were replayed (the broker kept them), but only the open call sounded.
        assert seen.pages().count(True) == 1
        assert len(seen.pages()) >= 3  # c1's and c2's pages held, then one release
    finally:
        back.stop()


def test_signing_out_ends_the_session(config, hub, listener):
    anna = PagerLink(config, "anna")
    anna.start()
    assert wait(lambda: anna.connected, 10)
    anna.stop()  # signs out: says offline and drops what the broker kept
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "offline"})
    listener.publish(f"{T}/page/anna", {"id": "x"})  # a kept session would queue this (a bad page) for her

    again = PagerLink(config, "anna")
    try:
        again.start()
        assert wait(lambda: again.connected, 10)
        assert not wait(lambda: again.errors, 1.0), again.errors  # nothing replayed
        assert again.core.holding_since is None
    finally:
        again.stop()
