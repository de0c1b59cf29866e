"""The apps' one UI driver protocol: a bad command is refused with a reason, never kills the app. No display."""

import io
import json

from kiosk.kivyui import UIDriver as _Base


class UIDriver(_Base):
    """An app's driver with nothing to show: the protocol itself is under test."""

    def op_view(self) -> dict:
        return {}


class _App:
    stopped = False

    def stop(self) -> None:
        self.stopped = True


def _replies(lines: list[str]) -> list[dict]:
    out = io.StringIO()
    driver = UIDriver(_App(), out=out)
    for line in lines:
        driver.handle(line)
    return [json.loads(line.removeprefix("@@ ")) for line in out.getvalue().splitlines()]


def test_hostile_commands_are_refused_one_reply_each():
    replies = _replies(['{"op": "nope"}', "not json", "[1, 2]", '{"id": "x"}', '{"op": "__init__"}', '{"op": "key"}'])
    assert [r["ok"] for r in replies] == [False] * 6
    assert "unknown command" in replies[0]["error"] and "JSONDecodeError" in replies[1]["error"]
    assert "TypeError" in replies[5]["error"]  # a verb without its argument


def test_quit_says_bye_and_stops_the_app():
    out = io.StringIO()
    app = _App()
    UIDriver(app, out=out).handle('{"op": "quit"}')
    assert json.loads(out.getvalue().removeprefix("@@ ")) == {"ok": True, "bye": True} and app.stopped
