"""Screenshots of the staff app for the docs: a private broker, the real hub, the real app under Xvfb.

Run from the repository root (needs mosquitto and Xvfb)::

    python -m broker.demo.pager_screenshots docs/screens

It signs Anna in, goes on shift, makes two calls, and saves ``pager-page.png`` (a page
flashing), ``pager-calls.png`` (the open calls) and ``pager-shift.png`` (my shift).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.contract.config import load_config
from broker.hub.shell import Hub
from broker.mosquitto.runner import start_broker
from kiosk.xvfb import Xvfb
from staff_pager.texts import catalog
from staff_pager.uidriver import PagerProcess

STORE = """\
[store]
id = "demo"
name = "Demo Store"
language = "{lang}"

[broker]
port = {port}

[database]
path = "staffcall.db"

[[staff]]
id = "anna"
name = "Anna"
role = "Sales"
zones = ["electronics"]

[[staff]]
id = "ben"
name = "Ben"
zones = ["electronics", "toys"]

[[staff]]
id = "maria"
name = "Maria"
role = "Store manager"
manager = true

[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "electronics"
label = "Kiosk by the TVs"

[[devices]]
id = "kiosk-2"
kind = "kiosk"
zone = "toys"
label = "Toys, aisle 4"

[pager]
outcomes = ["helped", "sale", "sent to another department"]
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Save screenshots of the staff app for the docs.")
    parser.add_argument("out", nargs="?", default="docs/screens", help="folder for the PNG files")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    t = catalog(args.lang).t
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, start_broker(allow_embedded=False) as broker:
        path = Path(tmp) / "staffcall.toml"
        path.write_text(STORE.format(port=broker.port, lang=args.lang))
        hub = Hub(load_config(path))
        hub.start()
        hub.ready.wait(10)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()

        def publish(topic: str, body: dict, retain: bool = False) -> None:
            client.publish(f"staffcall/demo/{topic}", json.dumps(body), qos=1, retain=retain).wait_for_publish(5)

        xvfb = Xvfb("480x800")
        app = PagerProcess(path, xvfb.display, Path(tmp) / "kivy", "--lang", args.lang, "--staff", "anna")
        try:
            app.wait_view(lambda i: i["screen"] == "home")
            app.tap(text=t("on_shift"))
            publish("staff/ben/presence", {"status": "on_shift"}, retain=True)
            hub.settle()
            publish("call/kiosk-2", {"id": "demo-1", "reason": "fitting_room"})
            time.sleep(0.3)
            publish("call/kiosk-1", {"id": "demo-2", "reason": "product", "text": "Which TV fits a small room?"})
            app.wait_view(lambda i: i["screen"] == "page" and i["flashing"])
            time.sleep(3.2)  # a few seconds of waiting on the clock
            app.wait_view(lambda i: i["flashes"] % 2 == 1)
            app.shot(out / "pager-page.png")
            app.tap(text=t("ack"))
            publish("staff/ben/ack", {"id": "demo-1"})
            app.wait_view(lambda i: not i["flashing"])
            app.tap(text=t("back"))
            app.wait_view(lambda i: i["screen"] == "home")
            app.wait_view(lambda i: not any(t("sending") in x for x in i["texts"]) and t("take") not in i["texts"])
            time.sleep(1.2)
            app.shot(out / "pager-calls.png")
            app.tap(text=t("open"))
            app.wait_view(lambda i: i["screen"] == "page")
            app.tap(text=t("resolve"))
            app.wait_view(lambda i: t("outcome_title") in i["texts"])
            app.shot(out / "pager-outcome.png")
            app.tap(text="sale")
            app.wait_view(lambda i: i["screen"] == "home")
            publish("call/kiosk-1/feedback", {"id": "demo-2", "score": 4})
            hub.settle()
            app.tap(text=t("tab_shift"))
            app.wait_view(lambda i: any(t("shift_calls", n=1) in x for x in i["texts"]))
            app.shot(out / "pager-shift.png")
        finally:
            app.close()
            xvfb.stop()
            client.disconnect()
            client.loop_stop()
            hub.stop()
    for name in ("pager-page.png", "pager-calls.png", "pager-outcome.png", "pager-shift.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
