"""The response-time summary the demo ends with: the figures a manager asks first.

Percentiles use the nearest-rank method (the smallest value with at least p% of the
values at or below it), so every figure shown is a time some customer really waited.

Example::

    >>> nearest_rank([10, 20, 30, 40], 50), nearest_rank([10, 20, 30, 40], 90)
    (20, 40)
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from broker.config import Config


def nearest_rank(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def summarize(db_path: str, target_greet_s: float) -> dict:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("select * from calls").fetchall()
    conn.close()
    ack = [r["time_to_ack_s"] for r in rows if r["time_to_ack_s"] is not None]
    greet = [r["time_to_greet_s"] for r in rows if r["time_to_greet_s"] is not None]
    faces = [r["feedback_score"] for r in rows if r["feedback_score"] is not None]
    staff: dict[str, list[float]] = {}
    for r in rows:
        if r["time_to_greet_s"] is not None and r["greeted_by"]:
            staff.setdefault(r["greeted_by"], []).append(r["time_to_greet_s"])
    return {
        "calls": len(rows),
        "greeted": len(greet),
        "within_target": sum(1 for s in greet if s <= target_greet_s),
        "ack_p50": nearest_rank(ack, 50),
        "ack_p90": nearest_rank(ack, 90),
        "greet_p50": nearest_rank(greet, 50),
        "greet_p90": nearest_rank(greet, 90),
        "greet_max": max(greet) if greet else None,
        "cancelled": sum(1 for r in rows if r["status"] == "cancelled"),
        "unattended": sum(1 for r in rows if r["status"] == "unattended"),
        "escalated": sum(1 for r in rows if r["escalated"]),
        "repeat_presses": sum(r["repeat_presses"] or 0 for r in rows),
        "greeted_at_device": sum(1 for r in rows if r["greeted_at_device"]),
        "feedback_avg": sum(faces) / len(faces) if faces else None,
        "feedback_count": len(faces),
        "staff": {k: (len(v), nearest_rank(v, 50)) for k, v in staff.items()},
    }


def print_summary(db_path: str, cfg: Config, console: Console) -> dict:
    s = summarize(db_path, cfg.store.target_greet_s)
    target = cfg.store.target_greet_s
    t = Table(title="Response times (hub clock; nearest-rank percentiles)", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    share = f"{100 * s['within_target'] / s['greeted']:.0f}%" if s["greeted"] else "-"
    for label, value in [
        ("calls", s["calls"]),
        ("time to acknowledge, median / p90", f"{_fmt(s['ack_p50'])} / {_fmt(s['ack_p90'])}"),
        (
            "time to greet, median / p90 / max",
            f"{_fmt(s['greet_p50'])} / {_fmt(s['greet_p90'])} / {_fmt(s['greet_max'])}",
        ),
        (f"greeted within the promise ({_fmt(target)})", f"{s['within_target']} of {s['greeted']} ({share})"),
        ("greeting confirmed at the call point", s["greeted_at_device"]),
        ("escalated to everyone", s["escalated"]),
        ("cancelled by the customer", s["cancelled"]),
        ("unattended", s["unattended"]),
        ("repeat presses", s["repeat_presses"]),
        ("feedback", f"{s['feedback_avg']:.1f} of 4 ({s['feedback_count']} faces)" if s["feedback_count"] else "-"),
    ]:
        t.add_row(label, str(value))
    console.print(t)
    names = {x.id: x.name for x in cfg.staff}
    if s["staff"]:
        st = Table(title="Greetings by colleague")
        st.add_column("colleague")
        st.add_column("greeted", justify="right")
        st.add_column("median time to greet", justify="right")
        for staff, (n, med) in sorted(s["staff"].items(), key=lambda kv: (kv[1][1], -kv[1][0])):
            st.add_row(names.get(staff, staff), str(n), _fmt(med))
        console.print(st)
    return s
