"""Screenshots of every phone screen at 390x844, for the docs: ``python -m broker.web.screenshots docs/screens``.

A real private Mosquitto, the hub and the web server run in this process; Debian's
headless Chromium (Playwright, never a downloaded browser) plays the customer and the
colleague, each step a tap on a visible button, and an MQTT client watches the calls'
states.  Tests never write to ``docs/screens``: this command does.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "screenshots-secret-0123456789"
PIN = "4711"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}

STORE = """
[store]
id = "s1"
name = "Hansson's Hardware"
language = "{lang}"
target_greet_s = 60

[broker]
host = "127.0.0.1"
port = {broker_port}

[database]
path = "{db}"

[timers]
ack_timeout_s = 2
escalate_after_s = 3
greet_timeout_s = 120
unattended_after_s = 600

[[staff]]
id = "anna"
name = "Anna"
role = "Summer substitute"
zones = ["paint"]
pin_hash = "{pin_hash}"

[[staff]]
id = "ben"
name = "Ben"
zones = ["paint", "garden"]
pin_hash = "{pin_hash}"

[[staff]]
id = "maria"
name = "Maria"
role = "Store manager"
manager = true
pin_hash = "{pin_hash}"

[[staff]]
id = "dave"
name = "Dave"
zones = ["garden"]
pager = "espa:1234"

[[staff]]
id = "erik"
name = "Erik"
zones = ["garden"]
pager = "tap:5551234"

[[devices]]
id = "qr-paint"
kind = "qr"
zone = "paint"
label = "Paint, aisle 7"

[[zones]]
id = "paint"
name = "Paint & wallpaper"
names = {{ sv = "Färg & tapet" }}

[kiosk]
reasons = ["product", "fitting_room", "pickup", "checkout"]

[web]
port = {web_port}
qr_secret = "{secret}"
public_url = "http://127.0.0.1:{web_port}"
outcomes = ["helped", "sale", "sent to another department"]
outbox_dir = "{tmp}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Store:
    """Mosquitto, hub and web server for one run, and an MQTT client that watches the calls' states."""

    def __init__(self, tmp: Path, lang: str = "en") -> None:
        import paho.mqtt.client as mqtt
        import uvicorn

        from broker.contract.config import parse_config
        from broker.contract.pins import hash_pin
        from broker.hub.shell import Hub
        from broker.mosquitto.runner import Broker
        from broker.web.serve import build_app

        self.broker = Broker().start(allow_embedded=False)
        web_port = free_port()
        toml = STORE.format(
            lang=lang,
            broker_port=self.broker.port,
            db=tmp / "staffcall.db",
            pin_hash=hash_pin(PIN),
            web_port=web_port,
            secret=SECRET,
            tmp=tmp,
        )
        self.cfg = parse_config(toml)
        self.hub = Hub(self.cfg)
        self.hub.start()
        if not self.hub.ready.wait(10):
            raise RuntimeError("the hub did not connect to Mosquitto")
        self.app, self.parts = build_app(self.cfg)
        self.url = f"http://127.0.0.1:{web_port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=web_port, log_level="warning"))
        threading.Thread(target=self.server.run, daemon=True).start()
        self.states: dict[str, dict] = {}
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="screenshots")
        self.client.on_connect = lambda c, *a: c.subscribe("staffcall/s1/state/+", 1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.broker.port)
        self.client.loop_start()
        deadline = time.monotonic() + 10
        while not (self.server.started and self.parts.phones.ready()):
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)

    def _on_message(self, client, userdata, msg) -> None:
        if msg.payload:
            with self.cond:
                self.states[msg.topic.rsplit("/", 1)[1]] = json.loads(msg.payload)
                self.cond.notify_all()

    def wait_state(self, call: str, pred, what: str, timeout: float = 10) -> dict:
        with self.cond:
            if not self.cond.wait_for(lambda: call in self.states and pred(self.states[call]), timeout):
                raise RuntimeError(f"no {what} for {call}: {self.states.get(call)}")
            return self.states[call]

    def qr_url(self, lang: str = "en") -> str:
        from broker.web.keys import qr_key

        return f"{self.url}/c/qr-paint?k={qr_key(SECRET, 'qr-paint')}&lang={lang}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.parts.stop()
        self.client.loop_stop()
        self.hub.stop()
        self.broker.stop()


def customer_screens(store: Store, browser, out: Path) -> list[Path]:
    shots: list[Path] = []

    def snap(page, name: str) -> None:
        page.wait_for_timeout(150)  # let the last render settle
        path = out / f"phone-{name}.png"
        page.screenshot(path=str(path))
        shots.append(path)

    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    page.goto(store.qr_url())
    page.wait_for_function("document.body.dataset.view === 'welcome'")
    snap(page, "qr-welcome")

    # Anna signs in on the staff app (her presence comes from the web server), the customer calls.
    staff = browser.new_context(**PHONE).new_page()
    staff.goto(f"{store.url}/staff")
    snap(staff, "staff-sign-in")
    staff.select_option("#who", "anna")
    staff.fill("#pin", PIN)
    staff.click("button[type=submit]")
    staff.click("[data-status=on_shift]")
    staff.wait_for_function("document.querySelector('[data-status=on_shift]').classList.contains('on')")

    page.click("[data-reason=product]")
    page.wait_for_function("document.body.dataset.view === 'waiting'")
    call = page.evaluate("JSON.parse(localStorage.getItem('staffcall:qr-paint')).call")
    staff.wait_for_function(f"document.body.dataset.alert === {json.dumps(call)}")
    snap(staff, "staff-page")

    # Nobody answers within escalate_after_s: the hub widens the call; the phone says so honestly.
    store.wait_state(call, lambda s: s.get("tier", 1) >= 2, "escalation")
    page.wait_for_timeout(300)
    snap(page, "qr-escalated")

    staff.get_by_role("button", name="On my way").click()
    store.wait_state(call, lambda s: s["status"] == "acknowledged", "acknowledged state")
    page.wait_for_function("document.getElementById('w-who').textContent.includes('Anna')")
    snap(page, "qr-waiting-anna")
    staff.locator("#my-calls button.next:not([disabled])").wait_for()
    snap(staff, "staff-open-calls")

    # Anna records each step on her phone: Greeted, then Resolved with an outcome.
    mine = staff.locator(f"#my-calls li[data-call={json.dumps(call)}]")
    mine.get_by_role("button", name="Greeted").click()
    store.wait_state(call, lambda s: s["status"] == "greeted", "greeted state")
    page.wait_for_function("document.body.dataset.view === 'greeted'")
    snap(page, "qr-greeted")
    mine.get_by_role("button", name="Resolved").click()
    mine.locator(".outcome-title").wait_for()
    snap(staff, "staff-outcome")
    mine.get_by_role("button", name="helped").click()
    store.wait_state(call, lambda s: s["status"] == "resolved", "resolved state")
    page.wait_for_function("document.body.dataset.view === 'feedback'")
    snap(page, "qr-feedback")
    page.click("[data-score='4']")
    page.wait_for_function("document.body.dataset.view === 'thanks'")
    snap(page, "qr-thanks")

    # The same phone calls again at once: the rate limit says how long to wait.
    page.click("#again")
    page.wait_for_function("document.body.dataset.view === 'welcome'")
    page.click("#call")
    page.wait_for_function("document.getElementById('error').textContent !== ''")
    snap(page, "qr-rate-limited")

    staff.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    snap(staff, "staff-my-shift")

    bad = browser.new_context(**PHONE).new_page()
    bad.goto(f"{store.url}/c/qr-paint?k=not-the-key&lang=en")
    snap(bad, "qr-bad-key")
    return shots


def manager_screens(store: Store, browser, out: Path) -> list[Path]:
    """Maria (a manager) sets Dave, who carries only a radio pager, on shift."""
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{store.url}/staff")
    page.select_option("#who", "maria")
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelector('#radio-list li[data-radio=dave]') !== null")
    page.click("#radio-list li[data-radio=dave] [data-radio-status=on_shift]")
    page.wait_for_function(
        "document.querySelector('li[data-radio=dave] [data-presence]').dataset.presence === 'on_shift'"
    )
    page.evaluate("document.getElementById('radio-pagers').scrollIntoView()")
    page.wait_for_timeout(150)
    path = out / "phone-staff-radio-pagers.png"
    page.screenshot(path=str(path))
    return [path]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m broker.web.screenshots", description=__doc__)
    ap.add_argument("out", type=Path, help="folder for the PNG files, e.g. docs/screens")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="phones-shots-") as tmp:
        store = Store(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                shots = customer_screens(store, browser, args.out)
                shots += manager_screens(store, browser, args.out)
                browser.close()
        finally:
            store.stop()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
