"""The terminal pager as a subprocess against a real Mosquitto and the real hub."""

import time

from tests.staff_pager.conftest import hub_outcome

T = "staffcall/s1"


def test_text_pager_gets_a_page_and_answers_it(hub, listener, config_file, spawn):
    pager = spawn("-m", "broker.cli", "pager", "--text", "--staff", "anna", "--lang", "en", "-c", str(config_file))
    pager.wait_line(lambda s: "[Connected]" in s)
    pager.send("on")
    assert listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    hub.settle()
    listener.publish(f"{T}/call/kiosk-1", {"id": "c1", "reason": "product"})
    line = pager.wait_line(lambda s: s.startswith("\aPAGE"))
    assert "Kiosk by the TVs" in line and "electronics" in line and "Tier 1" in line and "id=c1" in line
    assert "Reason: Help finding a product" in line  # the kiosk's words, not the key
    pager.send("a")
    state = listener.state("c1", "acknowledged")
    assert state["staff"] == "anna" and state["staff_name"] == "Anna"
    pager.wait_line(lambda s: "c1: Anna is on the way" in s)
    pager.send("l")
    pager.wait_line(lambda s: s.strip().startswith("1. Kiosk by the TVs (electronics)") and "id=c1" in s)
    pager.send("g")
    listener.state("c1", "greeted")
    mark = len(pager.lines)
    pager.send("r")  # [pager] outcomes is set: Resolved asks how it went first
    pager.wait_line(lambda s: "outcome? 1=helped  2=sale  3=sent to another department" in s, start=mark)
    pager.send("9")
    pager.wait_line(lambda s: "type a number from 1 to 3" in s, start=mark)
    assert not any(m.topic == f"{T}/staff/anna/resolve" for m in listener.messages)
    pager.send("2")
    listener.state("c1", "resolved")
    pager.wait_line(lambda s: "c1: resolved" in s)
    assert [m.json for m in listener.messages if m.topic == f"{T}/staff/anna/resolve"] == [
        {"id": "c1", "outcome": "sale"}
    ]
    assert hub_outcome(hub, "c1") == "sale"
    # the hub publishes "my shift" figures at most once a second: wait for them, then ask
    listener.wait_for(lambda m: m.topic == f"{T}/shift/anna" and m.json["calls"] == 1)
    pager.send("m")
    pager.wait_line(lambda s: "My calls today: 1" in s, timeout=5)
    pager.send("q")
    assert pager.close() == 0
    assert not any("No connection" in s for s in pager.lines), "a normal quit is not a lost connection"
    # A clean exit says offline (retained), so the hub stops paging this pager.
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "offline"})


def test_pass_sends_the_call_to_the_next_colleague(hub, listener, config_file, spawn):
    listener.publish(f"{T}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    pager = spawn(
        "-m", "broker.cli", "pager", "--text", "--staff", "anna", "--on-shift", "--lang", "en", "-c", str(config_file)
    )
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    hub.settle()
    listener.publish(f"{T}/call/kiosk-1", {"id": "c2"})
    pager.wait_line(lambda s: "id=c2" in s and s.startswith("\aPAGE"))
    pager.send("x")  # unknown command: help, and the pager keeps running
    pager.wait_line(lambda s: s.startswith("commands:"), start=1)
    pager.send("p")
    page = listener.page("ben", "c2", kind="next")
    assert page["tier"] == 2
    pager.send("a 99")  # not a call: a clear message, nothing sent
    pager.wait_line(lambda s: "not possible" in s)
    assert not any(m.topic == f"{T}/staff/anna/ack" for m in listener.messages)


def test_text_pager_killed_leaves_its_will(hub, listener, config_file, spawn):
    pager = spawn("-m", "broker.cli", "pager", "--text", "--staff", "chloe", "--on-shift", "-c", str(config_file))
    listener.wait_for(lambda m: m.topic == f"{T}/staff/chloe/presence" and m.json == {"status": "on_shift"})
    time.sleep(0.2)
    pager.proc.kill()
    listener.wait_for(lambda m: m.topic == f"{T}/staff/chloe/presence" and m.json == {"status": "offline"}, 30)


def test_unknown_staff_is_a_clear_error(config_file, spawn):
    pager = spawn("-m", "broker.cli", "pager", "--text", "--staff", "zed", "-c", str(config_file))
    assert pager.close() == 2
    assert any("'zed' is not in [[staff]]" in s for s in pager.lines)
