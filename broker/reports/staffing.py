"""``staffcall staffing`` and ``staffcall simulate``: staffing advice and what-if replays from the event log.

A thin shell over ``broker.core.staffing`` (Erlang C refined by replay) and ``broker.core.replay``
(the real dispatcher on a virtual clock), with the log read by ``broker.reports.history``.
Formats: a plain terminal table (default), ``--csv`` and ``--json`` on stdout.  docs/staffing.md
explains the model and its limits.

Example::

    staffcall staffing --config staffcall.toml --weeks 8
    staffcall simulate --config staffcall.toml --since 2026-03-01 --until 2026-03-31 --plan plan.toml
    staffcall simulate --config staffcall.toml --since 2026-03-01 --until 2026-03-31 --timers ack_timeout_s=20

A plan (TOML) adds colleagues to zones in some hours and changes timers::

    [timers]
    ack_timeout_s = 20
    [[add]]
    zone = "paint"
    days = ["sat"]
    hours = "10-14"
    count = 1
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
import tomllib
from array import array
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from broker.contract.config import Config, Staff, Timers
from broker.contract.i18n import Catalog
from broker.core.behaviour import Empirical
from broker.core.replay import Outcome, Replay, Shift
from broker.core.staffing import Advice, Advisor, SlotLoads

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def register(sub: argparse._SubParsersAction) -> None:
    from broker.contract.config import add_config

    st = sub.add_parser(
        "staffing",
        help="colleagues needed per zone, weekday and hour, from the store's own calls",
        description="Per zone x weekday x hour over the last weeks: calls per hour, busy time per call, the share "
        "needing a second colleague, who was on shift, and the colleagues needed to greet the target share within "
        "[store] target_greet_s (Erlang C, refined by replaying the calls through the real dispatcher).\n\n"
        "Example: staffcall staffing --config staffcall.toml --weeks 8 --csv > staffing.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(st)
    st.add_argument("--weeks", type=int, default=8, help="weeks of history ending today (default 8)")
    st.add_argument("--share", type=float, default=0.9, help="share of calls to greet within the target (0.9)")
    st.add_argument("--target", type=float, help="seconds to greet within (default [store] target_greet_s)")
    st.add_argument("--seed", type=int, default=1, help="seed of the replay's draws (repeatable)")
    _common(st)
    st.set_defaults(func=run_staffing)

    sim = sub.add_parser(
        "simulate",
        help="replay a period's calls through the dispatcher with a staffing plan or other timers",
        description="Replays the recorded calls of a period through the real dispatcher on a virtual clock, "
        "with colleagues behaving as this store's did, against who really was on shift (or a plan), and prints "
        "the predicted figures next to what happened.\n\n"
        "Example: staffcall simulate --config staffcall.toml --since 2026-03-01 --until 2026-03-31 --plan plan.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(sim)
    sim.add_argument("--since", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    sim.add_argument("--until", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD", help="inclusive")
    sim.add_argument("--plan", help="a TOML plan: [[add]] colleagues per zone, days and hours; [timers]")
    sim.add_argument("--timers", nargs="*", default=[], metavar="NAME=SECONDS", help="e.g. ack_timeout_s=20")
    sim.add_argument("--seed", type=int, default=1, help="seed of the replay's draws (repeatable)")
    _common(sim)
    sim.set_defaults(func=run_simulate)


def _common(p: argparse.ArgumentParser) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV on stdout")
    out.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--db", help="read this SQLite file instead of [database] path")
    p.add_argument("--lang", help="language of the output (default [store] language): en, sv")


def _open(args: argparse.Namespace) -> tuple[Config, Any]:
    from broker.contract.config import load_config
    from broker.hub.eventlog import connect

    cfg = load_config(args.config)
    path = args.db or cfg.database.path
    if not Path(path).exists():
        raise SystemExit(report_words(cfg, getattr(args, "lang", None)).t("staffing.error.no_log", path=path))
    return cfg, connect(path).conn


def _local_midnight(day: date, tz: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


# --- staffcall staffing --------------------------------------------------------------


def advise(cfg: Config, conn: Any, since: float, until: float, share: float, target: float | None, seed: int):
    """The advice over [since, until), the log read a chunk at a time: per-slot sums and the colleagues'
    behaviour are kept, and the replays read only the hours they sample."""
    from broker.hub.words import page_words
    from broker.reports.history import History, calls_in_hours, read_behaviour, read_shifts

    behaviour = Empirical()
    advisor = Advisor(cfg, page_words(cfg), behaviour, target_s=target, share=share, seed=seed)
    loads = SlotLoads(advisor.tz, advisor.target_s)

    def add(chunk: History) -> None:
        for o in chunk.actual:
            loads.add(o, chunk.busy.get(o.id))

    advisor.behaviour = read_behaviour(conn, since, until, add)
    rows = advisor.advise_loads(
        loads, lambda starts: calls_in_hours(conn, starts), read_shifts(conn, since, until), since, until
    )
    return advisor, rows


def report_words(cfg: Config, lang: str | None = None) -> Catalog:
    """The words of these reports: the hub's catalog in ``lang`` or ``[store] language``."""
    from broker.hub.words import LOCALES

    return Catalog(LOCALES, lang or cfg.store.language)


def advice_line(a: Advice, target_s: float, share: float, words: Catalog) -> str:
    """ "Sat 10-11, paint: 1 on shift, 2 needed for 90% within 60 s (now 71%)", in the catalog's language."""
    where = words.t(
        "staffing.where",
        day=words.t(f"staffing.day.{a.weekday}"),
        start=f"{a.hour:02d}",
        end=f"{a.hour + 1:02d}",
        zone=a.zone,
    )
    if a.needed is None:
        return words.t("staffing.thin", where=where, calls=a.calls)
    now = "" if a.actual_share is None else words.t("staffing.now", share=f"{a.actual_share:.0%}")
    key = "staffing.short" if a.short else "staffing.line"
    return words.t(
        key,
        where=where,
        on_shift=f"{a.on_shift:g}",
        needed=a.needed,
        share=f"{share:.0%}",
        target=f"{target_s:g}",
        now=now,
    )


def headline(rows: list[Advice]) -> Advice | None:
    """The one slot a manager should look at first: the largest gap (short of people), else None."""
    gaps = [a for a in rows if a.gap is not None and a.gap > 0]
    return max(gaps, key=lambda a: (a.gap or 0, a.calls)) if gaps else None


def summary_line(cfg: Config, conn: Any, since: float, until: float, seed: int = 1) -> str:
    """One line of advice for [since, until): the hour most short of people, else the busiest one."""
    advisor, rows = advise(cfg, conn, since, until, 0.9, None, seed)
    words = report_words(cfg)
    pick = headline(rows) or max(rows, key=lambda a: a.calls, default=None)
    line = words.t("staffing.none") if pick is None else advice_line(pick, advisor.target_s, advisor.share, words)
    return words.t("staffing.demo", line=line)


def run_staffing(args: argparse.Namespace, now: float | None = None) -> int:
    cfg, conn = _open(args)
    words = report_words(cfg, args.lang)
    tz = ZoneInfo(cfg.store.timezone)
    today = datetime.fromtimestamp(time.time() if now is None else now, tz).date()
    since = _local_midnight(today - timedelta(weeks=args.weeks), tz)
    until = _local_midnight(today, tz)
    advisor, rows = advise(cfg, conn, since, until, args.share, args.target, args.seed)
    if args.json:
        json.dump({"target_s": advisor.target_s, "share": advisor.share, "slots": [_row(a) for a in rows]}, sys.stdout)
        print()
    elif args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(_row(rows[0]).keys()) if rows else ["zone"])
        w.writeheader()
        for a in rows:
            w.writerow(_row(a))
    else:
        print(
            words.t("staffing.heading", share=f"{advisor.share:.0%}", target=f"{advisor.target_s:g}", weeks=args.weeks)
        )
        for a in rows:
            print(advice_line(a, advisor.target_s, advisor.share, words))
        if not rows:
            print(words.t("staffing.none"))
    return 0


def _row(a: Advice) -> dict[str, Any]:
    d = asdict(a)
    d["weekday"] = DAYS[a.weekday]
    d["gap"] = a.gap
    d["thin"] = a.thin
    return d


# --- staffcall simulate --------------------------------------------------------------


def _w(words: Catalog | None) -> Catalog:
    from broker.hub.words import LOCALES

    return words if words is not None else Catalog(LOCALES, "en")


def parse_plan(text: str, source: str = "plan", words: Catalog | None = None) -> dict[str, Any]:
    try:
        plan = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(_w(words).t("simulate.error.toml", source=source, error=exc)) from None
    for i, add in enumerate(plan.get("add", [])):
        if not isinstance(add, dict) or "zone" not in add:
            raise SystemExit(_w(words).t("simulate.error.zone", n=i + 1, source=source))
        _hours(add.get("hours", "0-24"), source, words)
        for d in add.get("days", DAYS):
            if d not in DAYS:
                raise SystemExit(_w(words).t("simulate.error.day", day=repr(d), source=source, days=", ".join(DAYS)))
    return plan


def _hours(text: str, source: str, words: Catalog | None = None) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in str(text).split("-"))
    except ValueError:
        raise SystemExit(_w(words).t("simulate.error.hours_form", hours=repr(text), source=source)) from None
    if not 0 <= a < b <= 24:
        raise SystemExit(_w(words).t("simulate.error.hours_order", hours=repr(text), source=source))
    return a, b


def apply_plan(
    cfg: Config,
    shifts: list[Shift],
    plan: dict[str, Any],
    since: date,
    until: date,
    timers: dict[str, float],
    words: Catalog | None = None,
) -> tuple[Config, list[Shift]]:
    """``cfg`` and ``shifts`` with the plan's extra colleagues on shift and its (and ``timers``') timers."""
    tz = ZoneInfo(cfg.store.timezone)
    extra: list[Staff] = []
    out = list(shifts)
    for i, add in enumerate(plan.get("add", [])):
        first, last = _hours(add.get("hours", "0-24"), "plan", words)
        days = {DAYS.index(d) for d in add.get("days", DAYS)}
        for k in range(int(add.get("count", 1))):
            sid = f"plan:{add['zone']}:{i}:{k}"
            extra.append(Staff(sid, f"+{add['zone']}", zones=[add["zone"]]))
            day = since
            while day <= until:
                if day.weekday() in days:
                    start = datetime(day.year, day.month, day.day, first, tzinfo=tz).timestamp()
                    out.append(Shift(start, sid, "on_shift"))
                    out.append(Shift(start + (last - first) * 3600, sid, "off"))
                day += timedelta(days=1)
    values = {**plan.get("timers", {}), **timers}
    known = set(Timers.__struct_fields__)
    for name, value in values.items():
        # An unknown name would be ignored, and a timer of zero or less never lets a replay end.
        if name not in known or not isinstance(value, int | float) or not 0 < value < 86400:
            raise SystemExit(_w(words).t("simulate.error.timer", name=repr(name), names=", ".join(sorted(known))))
    try:
        new_timers = msgspec.convert({**msgspec.to_builtins(cfg.timers), **values}, Timers)
    except msgspec.ValidationError as exc:
        raise SystemExit(_w(words).t("simulate.error.timers", error=exc)) from None
    out.sort(key=lambda s: s.at)
    return msgspec.structs.replace(cfg, staff=list(cfg.staff) + extra, timers=new_timers), out


class Figures:
    """The figures a replay is compared by (the report's), summed call by call: two arrays of seconds kept."""

    def __init__(self, target_s: float) -> None:
        self.target_s = target_s
        self.ack: array[float] = array("d")
        self.greet: array[float] = array("d")
        self.calls = self.kept = self.gave_up = self.unattended = self.escalations = 0

    def add(self, o: Outcome) -> None:
        self.calls += 1
        if o.ack_s is not None:
            self.ack.append(o.ack_s)
        if o.greet_s is not None:
            self.greet.append(o.greet_s)
            self.kept += o.greet_s <= self.target_s
        self.gave_up += o.status == "cancelled"
        self.unattended += o.status == "unattended"
        self.escalations += o.escalated

    def result(self) -> dict[str, Any]:
        def q(xs: array[float], p: float) -> float | None:
            if not xs:
                return None
            ordered = sorted(xs)
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

        return {
            "calls": self.calls,
            "ack_median": round(statistics.median(self.ack), 1) if self.ack else None,
            "ack_p90": q(self.ack, 0.9),
            "greet_median": round(statistics.median(self.greet), 1) if self.greet else None,
            "greet_p90": q(self.greet, 0.9),
            "promise_share": round(self.kept / self.calls, 4) if self.calls else None,
            "gave_up": self.gave_up,
            "unattended": self.unattended,
            "escalations": self.escalations,
        }


def figures(outcomes: Iterable[Outcome], target_s: float) -> dict[str, Any]:
    """The figures a replay is compared by: the report's, for one list of calls."""
    f = Figures(target_s)
    for o in outcomes:
        f.add(o)
    return f.result()


def simulate(
    cfg: Config,
    conn: Any,
    since: date,
    until: date,
    plan: dict[str, Any],
    timers: dict[str, float],
    seed: int,
    out_words: Catalog | None = None,
) -> dict[str, Any]:
    """Replay [since, until] with who really was on shift and with the plan; figures of both and of reality."""
    from broker.hub.words import page_words
    from broker.reports.history import History, iter_calls, read_behaviour, read_shifts

    tz = ZoneInfo(cfg.store.timezone)
    start, end = _local_midnight(since, tz), _local_midnight(until + timedelta(days=1), tz)
    target = cfg.store.target_greet_s
    actual = Figures(target)

    def add(chunk: History) -> None:
        for o in chunk.actual:
            actual.add(o)

    # Read a chunk at a time, and the calls again as each replay presses them: memory holds no period.
    behaviour = read_behaviour(conn, start, end, add)
    shifts = read_shifts(conn, start, end)
    words = page_words(cfg)
    t0 = time.perf_counter()
    replayed = Figures(target)
    base = Replay(cfg, words, behaviour, seed=seed, sink=replayed.add).run(iter_calls(conn, start, end), shifts)
    result: dict[str, Any] = {
        "actual": actual.result(),
        "replayed": replayed.result(),
        "load": {s: base.taken[s] for s in sorted(base.taken)},
    }
    if plan or timers:
        pcfg, pshifts = apply_plan(cfg, shifts, plan, since, until, timers, out_words)
        planned_fig = Figures(target)
        planned = Replay(pcfg, words, behaviour, seed=seed, sink=planned_fig.add).run(
            iter_calls(conn, start, end), pshifts
        )
        result["plan"] = planned_fig.result()
        result["plan_load"] = {s: planned.taken[s] for s in sorted(planned.taken)}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def run_simulate(args: argparse.Namespace) -> int:
    cfg, conn = _open(args)
    words = report_words(cfg, args.lang)
    plan = parse_plan(Path(args.plan).read_text(), args.plan, words) if args.plan else {}
    timers: dict[str, float] = {}
    for item in args.timers:
        name, _, value = item.partition("=")
        try:
            timers[name] = float(value)
        except ValueError:
            raise SystemExit(words.t("simulate.error.timer_form", item=repr(item))) from None
    result = simulate(cfg, conn, args.since, args.until, plan, timers, args.seed, words)
    cols = ["actual", "replayed"] + (["plan"] if "plan" in result else [])
    if args.json:
        json.dump(result, sys.stdout)
        print()
        return 0
    names = list(result["actual"])
    if args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["figure", *cols])
        for n in names:
            w.writerow([n, *(result[c][n] for c in cols)])
        return 0
    labels = {n: words.t(f"simulate.fig.{n}") for n in names}
    width = max(len(v) for v in labels.values()) + 2
    print(" " * width + "".join(f"{words.t('simulate.col.' + c):>12}" for c in cols))
    for n in names:
        print(f"{labels[n]:{width}}" + "".join(f"{_fmt(n, result[c][n]):>12}" for c in cols))
    if "plan" in result:
        a, b = result["replayed"], result["plan"]
        print(
            words.t(
                "simulate.plan",
                a=_pct(a["promise_share"]),
                b=_pct(b["promise_share"]),
                ua=a["unattended"],
                ub=b["unattended"],
                ga=a["gave_up"],
                gb=b["gave_up"],
            )
        )
    load = result.get("plan_load") or result["load"]
    print(words.t("simulate.load", load=", ".join(f"{s} {n}" for s, n in load.items())))
    return 0


def _fmt(name: str, v: Any) -> str:
    return "-" if v is None else f"{v:.1%}" if name == "promise_share" else str(v)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"
