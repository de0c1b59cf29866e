"""``staffcall demo``: a whole store on one laptop, nothing to configure.

Starts a private broker on a free loopback port (Mosquitto, or the embedded Python
broker when it is missing), the real hub on a sped-up clock, and a simulated store;
shows the calls live (a ``rich`` table: it redraws in place on a terminal and falls
back to plain lines in a log) and ends with the response-time summary.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from broker.contract import protocol as p
from broker.contract.clock import ScaledClock
from broker.contract.config import Config, parse_config
from broker.contract.mqtt import connect_async, make_client
from broker.demo.simstore import SimStore
from broker.hub.shell import Hub
from broker.mosquitto.runner import Broker

STATUS_STYLE = {
    "waiting": "yellow",
    "acknowledged": "cyan",
    "greeted": "green",
    "resolved": "bold green",
    "cancelled": "magenta",
    "unattended": "bold red",
}
MAX_STORE_SECONDS = 1200
PAGE_WORDS = {
    "call": "first page",
    "next": "next colleague",
    "escalation": "escalated to everyone",
    "repage": "reminder",
    "repeat": "customer pressed again",
    "unattended": "unattended alert",
    "nobody_on_shift": "nobody on shift",
}


@dataclass
class PageRun:
    """One call's round of pages (``what``: kind and tier), sent ``count`` times in a row."""

    what: str
    names: list[str]
    first: str
    last: str
    count: int = 1
    line: str = ""
    """The story line that shows it (replaced as the round grows or repeats)."""

    def summary(self, call_id: str) -> str:
        again = f" x{self.count}, the last at {self.last}" if self.count > 1 else ""
        return f"{call_id:<16} page to {', '.join(self.names)}: {self.what}{again}"


def demo_config(port: int, db: str) -> Config:
    text = resources.files("broker.demo").joinpath("demo_store.toml").read_text(encoding="utf-8")
    cfg = parse_config(text, "demo_store.toml")
    cfg.broker.port = port
    cfg.database.path = db
    return cfg


class Watcher:
    """What the demo shows: every call's state and a running story of what happened."""

    def __init__(self, cfg: Config, clock: ScaledClock, plain: bool, console: Console) -> None:
        self.cfg = cfg
        self.clock = clock
        self.plain = plain
        self.console = console
        self.topics = p.Topics(cfg.store.id)
        self.calls: dict[str, dict] = {}
        self.story: deque[str] = deque(maxlen=12)
        self.tz = ZoneInfo(cfg.store.timezone)
        self.names = {s.id: s.name for s in cfg.staff}
        self.lock = threading.Lock()
        self.client = make_client("demo-watcher", cfg.broker, identity="monitor")
        self.client.on_connect = lambda c, *a: c.subscribe(
            [
                (f"{self.topics.root}/state/+", 1),
                (f"{self.topics.root}/page/+", 1),
                (f"{self.topics.root}/staff/+/+", 1),
                (f"{self.topics.root}/call/+/+", 1),
            ]
        )
        self.client.on_message = self._on_message
        self.seen_kinds: set[str] = set()
        self._pages: tuple[tuple, list[str]] | None = None
        self._runs_lock = threading.RLock()  # paho's thread and the live view's both tell pages
        self._runs: dict[str, PageRun] = {}
        """Per call, its latest round of pages: an identical round (a tier 3 reminder every
        ``ack_timeout_s``) is counted on that line instead of printed again."""

    def start(self) -> None:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _clock(self) -> str:
        return datetime.fromtimestamp(self.clock.wall(), self.tz).strftime("%H:%M:%S")

    def say(self, text: str, at: str | None = None, replace: str | None = None) -> str:
        """Tell one line of the story; ``replace`` (a line said before) is taken out of the live view."""
        line = f"{at or self._clock()}  {text}"
        with self.lock:
            if replace in self.story:
                self.story.remove(replace)
            self.story.append(line)
        if self.plain:
            self.console.print(line, highlight=False)
        return line

    def _say_pages(self, call_id: str, what: str, names: list[str]) -> None:
        with self._runs_lock:
            run = self._runs.get(call_id)
            now = self._clock()
            if run is not None and run.what == what:
                more = [n for n in names if n not in run.names]
                if now == run.last:  # the same round, told in two parts (another message came between)
                    run.names += more
                    if self.plain and more:
                        self.say(f"{call_id:<16} page to {', '.join(more)}: {what}")
                else:
                    run.count += 1
                    run.last = now
                if not self.plain:  # the live view updates its line; a log says the repeats once they end
                    run.line = self.say(run.summary(call_id), at=run.first, replace=run.line)
                return
            self.end_run(call_id)
            run = self._runs[call_id] = PageRun(what, list(names), now, now)
            run.line = self.say(run.summary(call_id), at=now)

    def end_run(self, call_id: str | None = None) -> None:
        """The call's repeated pages are over (or all calls', at the end): a log gets their count now."""
        with self._runs_lock:
            for cid in list(self._runs) if call_id is None else [call_id]:
                run = self._runs.pop(cid, None)
                if run is not None and run.count > 1 and self.plain:
                    self.say(run.summary(cid), at=run.last)

    def _on_message(self, client: mqtt.Client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            self._show(msg)
        except (KeyError, ValueError, IndexError) as exc:  # someone else's odd message: not the demo's business
            self.say(f"(unreadable message on {msg.topic}: {exc!r})")

    def _describe(self, d: dict, before: str | None) -> str:
        name = d.get("staff_name") or "?"
        match d["status"]:
            case "waiting" if before is None:
                return f"customer calls at {d.get('label') or d['device']} ({d.get('reason') or 'help'})"
            case "waiting":
                return "waiting again"
            case "acknowledged":
                role = f" ({d['staff_role'].lower()})" if d.get("staff_role") else ""
                return f"acknowledged: {name}{role} is on the way, about {d['eta_s']} s"
            case "greeted":
                return f"greeted by {name}"
            case "resolved":
                return f"resolved by {name}"
            case "cancelled":
                return "cancelled by the customer"
            case "unattended":
                return "UNATTENDED: nobody came; managers alerted"
        return d["status"]

    def flush_pages(self) -> None:
        with self.lock:
            pending, self._pages = self._pages, None
        if pending:
            (call_id, kind, tier), names = pending
            self._say_pages(call_id, f"{PAGE_WORDS.get(kind, kind)} (tier {tier})", names)

    def _show(self, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if parts[2] != "page":
            self.flush_pages()
        if not msg.payload:
            return
        data = json.loads(msg.payload) if msg.payload[:1] == b"{" else {}
        kind = parts[2]
        if kind == "state":
            with self.lock:
                before = self.calls.get(data["id"], {}).get("status")
                self.calls[data["id"]] = data
            if before != data["status"]:
                self.seen_kinds.add(data["status"])
                self.end_run(data["id"])
                self.say(f"{data['id']:<16} {self._describe(data, before)}")
        elif kind == "page":
            # One line per round of pages: "page to Anna, Ben, Maria (tier 3, escalation)".
            self.seen_kinds.add(f"page:{data['kind']}")
            key = (data["id"], data["kind"], data["tier"])
            name = self.names.get(parts[3], parts[3])
            with self.lock:
                if self._pages and self._pages[0] == key:
                    self._pages[1].append(name)
                    return
            self.flush_pages()
            with self.lock:
                self._pages = (key, [name])
            return
        elif kind == "staff" and parts[4] in ("decline",):
            self.seen_kinds.add("decline")
            self.end_run(data.get("id", ""))
            self.say(f"{data.get('id', '?'):<16} {self.names.get(parts[3], parts[3])} passes")
        elif kind == "call" and parts[4] == "feedback":
            self.say(f"{data.get('id', '?'):<16} customer feedback: {'☹🙁🙂😀'[data['score'] - 1]}")

    def render(self) -> Group:
        self.flush_pages()
        table = Table(title=f"{self.cfg.store.name}: calls", expand=True)
        for col in ("call", "where", "reason", "status", "tier", "staff", "waited"):
            table.add_column(col)
        with self.lock:
            rows = sorted(self.calls.values(), key=lambda d: d["opened_at"])
            story = list(self.story)
        now = time.time()
        for d in rows:
            waited = d.get("waited_s", 0)
            if d["status"] in ("waiting", "acknowledged"):
                updated = datetime.fromisoformat(d["updated_at"].replace("Z", "+00:00")).timestamp()
                waited += int(self.clock.wall() - updated) if now else 0
            style = STATUS_STYLE.get(d["status"], "")
            table.add_row(
                d["id"],
                d.get("label") or d["device"],
                d.get("reason") or "",
                f"[{style}]{d['status']}[/]",
                str(d["tier"]),
                d.get("staff_name") or "",
                f"{waited // 60}:{waited % 60:02d}",
            )
        return Group(table, Panel("\n".join(story) or "waiting for the first call...", title="what happens"))


def print_summary(db_path: str, cfg: Config, console: Console, start_wall: float, end_wall: float) -> None:
    """The same figures as ``staffcall report``, for the demo's stretch of store time."""
    from broker.reports.metrics import open_metrics, period
    from broker.reports.report import print_table

    tz = ZoneInfo(cfg.store.timezone)
    first, last = (datetime.fromtimestamp(t, tz).date() for t in (start_wall, end_wall))
    span = period("range", cfg.store.timezone, end_wall, since=first, until=last)
    names = {s.id: s.name for s in cfg.staff}
    metrics = open_metrics(db_path, cfg.store.timezone, cfg.store.target_greet_s, names)
    print_table(metrics.report(span, None, end_wall), console, cfg.store.language)
    from broker.hub.eventlog import connect
    from broker.reports.staffing import summary_line

    conn = connect(db_path).conn  # the same advice as ``staffcall staffing``, over the demo's own calls
    try:
        console.print(summary_line(cfg, conn, start_wall, end_wall), markup=False, highlight=False)
    finally:
        conn.close()


def run(
    speed: float = 30.0, background_calls: int = 8, seed: int = 7, db: str | None = None, plain: bool = False
) -> int:
    console = Console()
    plain = plain or not console.is_terminal
    if not console.is_terminal:
        console = Console(width=120)
    tmp = tempfile.TemporaryDirectory(prefix="staffcall-demo-")
    db_path = db or str(Path(tmp.name) / "demo.db")
    broker = Broker()
    broker.start()
    cfg = demo_config(broker.port, db_path)
    clock = ScaledClock(speed)
    kind = "embedded Python broker" if broker.embedded else "Mosquitto"
    console.print(
        f"[bold]staffcall demo[/]: {cfg.store.name}, {len(cfg.staff)} staff, {len(cfg.devices)} call "
        f"points; {kind} on 127.0.0.1:{broker.port}; time runs {speed:g}x faster."
    )
    start_wall = clock.wall()
    hub = Hub(cfg, clock, client_id="demo-hub")
    hub.start()
    hub.ready.wait(10)
    watcher = Watcher(cfg, clock, plain, console)
    watcher.start()
    store = SimStore(cfg, clock, background_calls=background_calls, seed=seed)
    store.start()
    end = clock.now() + MAX_STORE_SECONDS

    def finished() -> bool:
        return store.sched.pending() == 0 and not hub.core.open and clock.now() > store.t0 + 60

    try:
        if plain:
            while not finished() and clock.now() < end:
                time.sleep(0.2)
        else:
            with Live(watcher.render(), console=console, refresh_per_second=4, transient=False) as live:
                while not finished() and clock.now() < end:
                    time.sleep(0.25)
                    live.update(watcher.render())
        time.sleep(clock.real_seconds(10))  # late feedback
        hub.settle()
    except KeyboardInterrupt:
        console.print("stopped.")
    finally:
        store.stop()
        watcher.flush_pages()
        watcher.end_run()
        watcher.stop()
        hub.stop()
        broker.stop()
    print_summary(db_path, cfg, console, start_wall, clock.wall())
    missing = {
        "page:call",
        "page:next",
        "page:escalation",
        "page:repage",
        "acknowledged",
        "greeted",
        "resolved",
        "cancelled",
        "unattended",
    } - watcher.seen_kinds
    if missing:
        console.print(f"[red]the demo did not show: {', '.join(sorted(missing))}[/]")
    if db:
        console.print(f"The event log is in {db}; try: staffcall report --db {db}  or  datasette {db}")
    tmp.cleanup()
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(run())
