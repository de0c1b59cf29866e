"""The staff app's first minute under Xvfb, as a colleague sees it: sign-in, PIN, choosing a presence."""

from PIL import Image

from broker.contract.pins import hash_pin
from staff_pager.uidriver import PagerProcess
from tests.conftest import write_config

T = "staffcall/s1"
NOTICE = "You are not paged until you choose. Tap On shift to start."


def _area(box):
    return box[2] * box[3]


def _pixel(path, box):
    """The colour just inside a button's top-left corner, clear of its text."""
    return Image.open(path).convert("RGB").getpixel((box[0] + 4, box[1] + 4))


def _settled(app, text):
    """The view once ``text`` shows and the layout has stopped moving (two views alike), so a shot matches it."""
    last: list = []

    def still(view):
        same = bool(last) and view["boxes"] == last[-1]["boxes"] and text in view["texts"]
        last.append(view)
        return same

    return app.wait_view(still)


def test_after_sign_in_the_app_says_nobody_pages_you_and_offers_on_shift_big(app, listener, tmp_path):
    app.tap(text="Anna")
    info = app.wait_view(lambda i: i["screen"] == "home" and i["connected"])
    assert NOTICE in info["texts"]
    boxes = info["boxes"]
    assert _area(boxes["On shift"]) >= 2 * _area(boxes["Break"])  # the obvious tap
    assert boxes["On shift"][1] < info["window"][1] / 2  # near the top, not below the fold
    app.shot(tmp_path / "first-minute.png")
    assert not [m for m in listener.messages if m.topic == f"{T}/staff/anna/presence"]  # nothing chosen

    app.tap(text="On shift")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    # A choice made: the notice goes and the three buttons are equal again (once laid out).
    app.wait_view(lambda i: NOTICE not in i["texts"] and i["boxes"]["On shift"][2:] == i["boxes"]["Break"][2:])


def _pin_config(tmp_path, port):
    path = write_config(tmp_path / "staffcall.toml", port=port, db=str(tmp_path / "unused.db"))
    text = path.read_text().replace(
        'id = "anna"\nname = "Anna"\n', f'id = "anna"\nname = "Anna"\npin_hash = "{hash_pin("4711")}"\n'
    )
    path.write_text(text + "\n[pager]\nrequire_pin = true\n")
    return path


def test_a_wrong_pin_keeps_whose_pin_is_asked_and_the_pin_box_sits_above_the_keyboard(broker, xvfb, tmp_path):
    app = PagerProcess(_pin_config(tmp_path, broker.port), xvfb.display, tmp_path / "kivy", "--lang", "en")
    try:
        before = _settled(app, "Anna")
        plain = _pixel(app.shot(tmp_path / "names.png"), before["boxes"]["Anna"])
        app.tap(text="Anna")
        info = _settled(app, "PIN for Anna")
        height = info["window"][1]
        (field,) = info["fields"]
        # A phone's on-screen keyboard takes the bottom half: the PIN field and its button stay above it.
        assert field[1] + field[3] <= height / 2
        assert info["boxes"]["Sign in"][1] + info["boxes"]["Sign in"][3] <= height / 2

        # The chosen name stands out from the others, and from how it looked before the tap.
        shot = app.shot(tmp_path / "pin.png")
        anna, ben = _pixel(shot, info["boxes"]["Anna"]), _pixel(shot, info["boxes"]["Ben"])
        assert anna != ben and anna != plain and ben == plain

        app.type("1234")
        app.tap(text="Sign in")
        info = _settled(app, "Wrong PIN, try again")
        assert "PIN for Anna" in info["texts"]  # still says whose PIN it asks for
        assert info["screen"] == "signin" and not info["connected"]
        shot = app.shot(tmp_path / "pin-wrong.png")
        assert _pixel(shot, info["boxes"]["Anna"]) == anna  # still highlighted

        app.type("4711")
        app.tap(text="Sign in")
        app.wait_view(lambda i: i["screen"] == "home" and i["connected"])
    finally:
        app.close()
