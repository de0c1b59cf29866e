"""The staff app under Xvfb, driven by touch events, against a real Mosquitto and the real hub."""

from PIL import Image

from tests.staff_pager.conftest import hub_outcome

T = "staffcall/s1"


def _presence(listener, staff, status):
    return listener.wait_for(lambda m: m.topic == f"{T}/staff/{staff}/presence" and m.json == {"status": status})


def _colors(path):
    img = Image.open(path).convert("RGB")
    return img.getpixel((5, img.height // 2))


def test_page_ack_pass_and_open_calls(hub, listener, app, tmp_path):
    info = app.wait_text("Anna")
    assert info["screen"] == "signin" and "Who are you?" in info["texts"]
    app.shot(tmp_path / "signin.png")
    app.tap(text="Anna")
    app.wait_view(lambda i: i["screen"] == "home")
    app.tap(text="On shift")
    _presence(listener, "anna", "on_shift")
    listener.publish(f"{T}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    hub.settle()

    # A call: Anna is paged first (electronics, alphabetical tie-break); the page takes the screen and flashes.
    listener.publish(f"{T}/call/kiosk-1", {"id": "c1", "reason": "product", "text": "Which TV fits a small room?"})
    info = app.wait_view(lambda i: i["screen"] == "page" and i["flashing"])
    assert {"Kiosk by the TVs", "Zone: electronics", "Reason: Help finding a product", "Tier 1"} <= set(info["texts"])
    assert "Customer: Which TV fits a small room?" in info["texts"] and info["chimes"] >= 1
    assert "Back" not in info["texts"]  # no way around a page until it is answered
    flashed = app.wait_view(lambda i: i["flashes"] >= 2)["flashes"]
    shot = app.shot(tmp_path / "page.png")
    assert _colors(shot)[0] > 150  # red or orange, not the calm blue
    assert flashed >= 2

    # Pass: the hub pages Ben, and Anna's app leaves the page.
    app.tap(text="Pass")
    page = listener.page("ben", "c1", kind="next")
    assert page["tier"] == 2
    app.wait_view(lambda i: i["screen"] == "home" and any("Kiosk by the TVs" in t for t in i["texts"]))
    app.wait_text("paging Ben")

    # A second call, at the toys kiosk: with Ben on a break Anna is the one on shift; On my way ->
    # the hub's state names her.  (Ben's break also sends c1 up to tier 3.)
    listener.publish(f"{T}/staff/ben/presence", {"status": "break"}, retain=True)
    listener.page("maria", "c1", kind="escalation")
    listener.publish(f"{T}/call/kiosk-2", {"id": "c2", "reason": "fitting_room"})
    app.wait_view(lambda i: i["screen"] == "page" and "Reason: Fitting room" in i["texts"] and i["flashing"])
    start = len(listener.messages)
    app.tap(text="On my way")
    state = listener.wait_for(
        lambda m: m.topic == f"{T}/state/c2" and m.json["status"] == "acknowledged",
        start=start,
    ).json
    assert state["staff"] == "anna" and state["staff_name"] == "Anna"
    info = app.wait_view(lambda i: not i["flashing"] and "Anna is on the way" in i["texts"])
    assert "On my way" in info["disabled"] and "Greeted" not in info["disabled"]
    assert _colors(app.shot(tmp_path / "acked.png"))[0] < 100  # calm again

    # The retained copy a late subscriber sees says the same.
    from tests.mqtt_helpers import Listener

    late = Listener(hub.cfg.broker.port, [f"{T}/state/c2"])
    retained = late.wait_for(lambda m: m.retain)
    late.close()
    assert retained.json["status"] == "acknowledged" and retained.json["staff_name"] == "Anna"

    # Back to the list: both open calls with live waits; the escalated c1 can be taken.
    app.tap(text="Back")
    info = app.wait_view(lambda i: i["screen"] == "home" and i["texts"].count("Take") == 1)
    app.shot(tmp_path / "calls.png")
    app.tap(text="Take")
    assert listener.state("c1", "acknowledged")["staff"] == "anna"

    # Greeted and Resolved from the page of the longest-waiting call (c1).
    app.wait_view(lambda i: i["texts"].count("Open") == 2 and not any("sending" in t for t in i["texts"]))
    app.tap(text="Open", nth=0)
    app.wait_view(lambda i: i["screen"] == "page" and "Kiosk by the TVs" in i["texts"])
    app.tap(text="Greeted")
    listener.state("c1", "greeted")
    app.wait_text("Anna is with the customer")
    app.tap(text="Resolved")  # [pager] outcomes is set: how did it go?
    info = app.wait_text("How did it go?")
    assert {"helped", "sale", "sent to another department", "Skip"} <= set(info["texts"])
    assert "Greeted" not in info["texts"]  # the outcomes take the action buttons' place
    app.shot(tmp_path / "outcomes.png")
    assert not any(m.topic == f"{T}/staff/anna/resolve" for m in listener.messages)
    app.tap(text="sent to another department")
    listener.state("c1", "resolved")
    assert hub_outcome(hub, "c1") == "sent to another department"
    app.wait_view(lambda i: i["screen"] == "home" and i["texts"].count("Open") == 1)
    listener.publish(f"{T}/call/kiosk-1/feedback", {"id": "c1", "score": 4})
    app.tap(text="My shift")
    info = app.wait_text("My calls today: 2")
    app.wait_text(":D 1")
    app.shot(tmp_path / "shift.png")
