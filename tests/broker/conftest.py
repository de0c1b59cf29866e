"""Fixtures for reports: an event log with hand-made calls in the store's local time."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from broker.contract.clock import iso
from broker.hub.eventlog import connect, create_schema

TZ = "Europe/Stockholm"


def local_ts(text: str, tz: str = TZ) -> float:
    """'2026-03-02 09:00:00' in the store's zone -> unix seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


class Log:
    """Writes calls and events the way the hub's event log stores them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = connect(path)
        create_schema(self.db)
        self.n = 0

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def call(self, opened: str, status: str = "resolved", **fields) -> dict:
        self.n += 1
        ts = local_ts(opened)
        row = {
            "id": fields.pop("id", f"c{self.n}"),
            "store": "s1",
            "device": "kiosk-1",
            "zone": "electronics",
            "reason": "product",
            "status": status,
            "tier": 1,
            "opened_at": iso(ts),
            "opened_ts": ts,
            "repeat_presses": 0,
            "declines": 0,
            "escalated": False,
            **fields,
        }
        self.db["calls"].insert(row, alter=True)
        return row

    def event(self, kind: str, at: str, **fields) -> None:
        self.db["events"].insert({"ts": iso(local_ts(at)), "mono": 0.0, "kind": kind, **fields})


@pytest.fixture
def log(tmp_path) -> Log:
    return Log(str(tmp_path / "staffcall.db"))


@pytest.fixture
def at() -> Callable[[str], float]:
    return local_ts


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 900, "height": 1200})
    pg = ctx.new_page()
    yield pg
    ctx.close()
