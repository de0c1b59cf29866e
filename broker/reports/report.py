"""``staffcall report``: response-time summaries for managers, a thin shell over ``broker.reports.metrics``.

Formats: a terminal table (plain aligned text, coloured on a terminal; the default), ``--csv`` and ``--json`` on stdout,
and ``--html FILE`` (one self-contained page with charts, see ``broker.reports.html``).

Example::

    staffcall report --config staffcall.toml --week --by staff
    staffcall report --since 2026-03-01 --until 2026-03-31 --by weekday --csv > march.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from dataclasses import asdict, fields, replace
from datetime import date

from broker.hub.reportcells import PROMISE_STEP_S
from broker.reports.format import fmt_face, fmt_s, fmt_share, fmt_signed_s
from broker.reports.metrics import GROUPINGS, WEEKDAYS, Figures, Report
from broker.reports.terminal import Out, terminal_width, wants_color
from broker.reports.words import Catalog, day_name, group_key, period_text, report_words

FIGURE_COLUMNS = [f.name for f in fields(Figures)]


SHADES = " ░▒▓█"
"""Shades for counts too wide for the grid: none, a few, ..., the busiest hour."""


def heat_grid(calls: list[list[int]], width: int, out: Out | None = None, words: Catalog | None = None) -> str:
    """Calls by weekday (rows) x hour (columns), as a grid that fits ``width`` terminal columns.

    All 24 hours when they fit (in 80 columns they do, with counts up to 99), else the hours from
    the first to the last with calls; counts become shades when the numbers do not fit.  A grid of
    only the hours with calls would read as a list, and a table title wraps at the table's width,
    so the title is a line of its own.  Busy cells are styled when ``out`` colours (a terminal).

    Example::

        >>> calls = [[0] * 24 for _ in range(7)]
        >>> calls[3][16] = 9
        >>> heat_grid(calls, 80).splitlines()[5][46:61]  # Thursday, 15:00 to 19:00
        '  ·  ·  9  ·  ·'
    """
    out = Out(width) if out is None else out
    w = report_words("en") if words is None else words
    top = max(max(row) for row in calls)
    busy = [h for h in range(24) if any(row[h] for row in calls)] or [0]
    names = [day_name(d, w) for d in range(7)]
    label = max(4, max(map(len, names)) + 1)  # "Mon "
    digits = max(2, len(str(top)))
    options = [(range(24), digits, False), (range(24), 2, True)]
    options += [(range(busy[0], busy[-1] + 1), digits, False), (range(busy[0], busy[-1] + 1), 2, True)]
    fitting = [o for o in options if label + len(o[0]) * (o[1] + 1) <= width]
    hours, cell, shade = fitting[0] if fitting else options[-1]
    title = w.t("report.heat.title") + (w.t("report.heat.shade", top=top) if shade else "")
    grid = [out.style(title, "bold"), " " * label + "".join(" " + f"{h:02d}".rjust(cell) for h in hours)]
    for d, name in enumerate(names):
        row = f"{name:<{label}}"
        for h in hours:
            n = calls[d][h]
            style = "bold red" if n and n >= 0.75 * top else ("yellow" if n and n >= 0.4 * top else "")
            text = "·" if not n else SHADES[-(-4 * n // top)] * cell if shade else str(n)
            row += " " + out.style(text.rjust(cell), style)
        grid.append(row)
    return "\n".join(grid)


def register(sub: argparse._SubParsersAction) -> None:
    from broker.contract.settings import add_config

    rep = sub.add_parser(
        "report",
        help="response-time summary for a period (terminal, CSV, JSON or an HTML page)",
        description="Response-time figures from the event log, in the store's local time: calls, time to "
        "acknowledge and to greet (median, p90, max), the promise kept, customers who gave up, unattended calls, "
        "escalations, feedback, per colleague, shout-outs and a weekday x hour heatmap.\n\n"
        "Example: staffcall report --config staffcall.toml --week --by staff --html week.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(rep)
    when = rep.add_mutually_exclusive_group()
    when.add_argument("--today", dest="period", action="store_const", const="today", help="today (default)")
    when.add_argument("--yesterday", dest="period", action="store_const", const="yesterday", help="yesterday")
    when.add_argument("--week", dest="period", action="store_const", const="week", help="this week, Monday first")
    when.add_argument("--month", dest="period", action="store_const", const="month", help="this calendar month")
    when.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="from this local date")
    rep.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="to this date, inclusive")
    rep.add_argument(
        "--by", choices=GROUPINGS, help="figures per hour, day, weekday, zone, device, staff, reason, outcome"
    )
    out = rep.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV on stdout: one row per group")
    out.add_argument("--json", action="store_true", help="the whole report as JSON on stdout")
    out.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with charts (A4-printable)")
    rep.add_argument(
        "--staffing",
        action="store_true",
        help="with --html: add the staffing advice grid of the period (replays its calls: about a minute "
        "per 8 weeks of a busy store; `staffcall staffing` prints the same advice)",
    )
    rep.add_argument("--db", help="read this SQLite file instead of [database] path")
    rep.add_argument(
        "--lang", help="language of the terminal table and the HTML page (default [store] language): en, sv"
    )
    rep.add_argument(
        "--rebuild", action="store_true", help="make the kept report data again from the calls (it is derived data)"
    )
    rep.set_defaults(func=run_report, period=None, logs=False)  # prints, never logs: starts quicker


def build(args: argparse.Namespace, now: float | None = None) -> Report:
    """Load the config, open the log and compute the report the arguments ask for."""
    from broker.contract.settings import load_report_settings
    from broker.reports.metrics import open_metrics, period

    cfg = load_report_settings(args.config)  # the few settings a report reads: no msgspec to import
    args.language = cfg.language
    now = time.time() if now is None else now
    if args.until and not args.since:
        raise SystemExit("staffcall report: --until needs --since (e.g. --since 2026-03-01 --until 2026-03-31)")
    kind = "range" if args.since else (args.period or "today")
    try:
        p = period(kind, cfg.timezone, now, since=args.since, until=args.until)
    except ValueError as exc:
        raise SystemExit(f"staffcall report: {exc}") from None
    try:
        m = open_metrics(
            args.db or cfg.database_path,
            cfg.timezone,
            cfg.target_greet_s,
            cfg.staff_names,
            rebuild=getattr(args, "rebuild", False),
        )
    except FileNotFoundError as exc:
        raise SystemExit(f"staffcall report: {exc}") from None
    return m.report(p, args.by, now)


def run_report(args: argparse.Namespace) -> int:
    report = build(args)
    lang = getattr(args, "lang", None) or args.language
    if args.json:
        sys.stdout.write(to_json(report) + "\n")
    elif args.csv:
        sys.stdout.write(to_csv(report))
    elif args.html:
        from broker.reports.html import render

        with open(args.html, "w", encoding="utf-8") as fh:
            # The advice replays the period's calls through the dispatcher: asked for, not on every report.
            staffing = _staffing_grid(args, report, lang) if args.staffing else None
            fh.write(render(report, staffing=staffing, lang=lang))
        print(f"wrote {args.html}: {report.total.calls} calls, {report.period.label}", file=sys.stderr)
    else:
        print_table(report, lang=lang)
    return 0


def _staffing_grid(args: argparse.Namespace, report: Report, lang: str) -> dict | None:
    """The staffing advice of the report's period, as the HTML page's grid (docs/staffing.md)."""
    from broker.contract.config import load_config
    from broker.hub.eventlog import connect
    from broker.reports.staffgrid import staffing_grid
    from broker.reports.staffing import advise, report_words

    cfg = load_config(args.config)
    conn = connect(args.db or cfg.database.path).conn
    try:
        _, rows = advise(cfg, conn, report.period.start_ts, report.period.end_ts, 0.9, None, 1)
    finally:
        conn.close()
    words = report_words(cfg, lang)
    return staffing_grid(rows, words, lambda z: cfg.zone_name(z, words.lang))


# --- formats -----------------------------------------------------------------------------


def to_json(report: Report) -> str:
    data = asdict(report)
    data["period"].update(start=report.period.start_iso, end=report.period.end_iso)
    data["heatmap"]["weekdays"] = list(WEEKDAYS)
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    """One row per group (or one "all" row), figures as plain numbers for a spreadsheet."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["period", "group_by", *FIGURE_COLUMNS])
    rows = report.groups if report.by else [report.total]
    for f in rows:
        d = asdict(f)
        writer.writerow([report.period.label, report.by or "", *("" if d[c] is None else d[c] for c in FIGURE_COLUMNS)])
    return buf.getvalue()


def print_table(report: Report, console=None, lang: str = "en") -> None:
    """The terminal table, in plain aligned text (coloured on a terminal): no ``rich`` to import.

    ``console`` (a ``rich`` console, as the demo passes) only gives the width and the output;
    its text goes unstyled.
    """
    out = Out(terminal_width(), wants_color()) if console is None else Out(console.width, color=False)
    render_table(report, out, report_words(lang))
    text = "\n".join(out.lines)
    if console is None:
        sys.stdout.write(text + "\n")
    else:
        console.out(text, highlight=False)


def render_table(report: Report, out: Out, words: Catalog | None = None) -> None:
    """The terminal report's lines into ``out``: the period, the figures, by group, colleagues, the heatmap."""
    w = report_words("en") if words is None else words
    p, t = report.period, report.total
    target = fmt_s(report.target_greet_s)
    out.line(
        out.style(w.t("report.term.title", label=period_text(p.label, w)), "bold")
        + w.t("report.term.sub", timezone=p.timezone, target=target)
    )
    if t.calls == 0:
        out.line(w.t("report.empty"))
        return

    def head(key: str) -> str:
        return w.t(f"report.head.{key}")

    def figures_table(title: str, rows: list[Figures], staff: bool = False, by: str | None = None) -> None:
        first = head("colleague") if staff else (w.t(f"report.group.{by}") if by else "")
        heads = [first] + [head(k) for k in ("calls", "ack_median", "greet_median", "p90", "max", "promise")]
        heads += [head(k) for k in ("kept", "late_median", "late_p90")]
        heads += [head("declines")] if staff else [head(k) for k in ("gave_up", "unattended", "escalated", "again")]
        heads.append(head("face"))
        table = []
        for f in rows:
            cells = [
                report.staff_names.get(f.key, f.key) if staff else group_key(by, f.key, w),
                str(f.calls),
                fmt_s(f.ack_median),
                fmt_s(f.greet_median),
                fmt_s(f.greet_p90),
                fmt_s(f.greet_max),
                fmt_share(f.within_target_share),
                fmt_share(f.promises_kept_share),
                fmt_signed_s(f.past_promise_median),
                fmt_signed_s(f.past_promise_p90),
            ]
            if staff:
                cells.append(str(f.declines))
            else:
                cells += [str(f.cancelled), str(f.unattended), str(f.escalations), str(f.repeat_presses)]
            cells.append("—" if f.feedback_avg is None else f"{f.feedback_avg:.1f}")
            table.append(cells)
        out.line()
        out.table(title, heads, table)

    all_row = replace(t, key=w.t("report.all_row"))
    figures_table(w.t("report.all"), [all_row])
    out.line()
    out.line(
        w.t(
            "report.term.note",
            target=target,
            cancelled=t.cancelled,
            wait=fmt_s(t.cancelled_wait_median),
            faces=fmt_face(t.feedback_avg, t.feedback_count),
        )
    )
    out.line(w.t("report.term.kept", share=fmt_share(t.promises_kept_share), promised=t.promised))
    out.line(w.t("report.term.late"))
    if report.by:
        figures_table(w.t("report.by", by=w.t(f"report.group.{report.by}")), report.groups, by=report.by)
    if report.staff:
        figures_table(w.t("report.colleagues"), report.staff, staff=True)
    if report.calibration:
        rows = [
            [f"{fmt_s(c.promise_s)}-{fmt_s(c.promise_s + PROMISE_STEP_S)}", str(c.promised), fmt_share(c.kept_share)]
            + [fmt_s(c.greet_median), fmt_s(c.greet_p90)]
            for c in report.calibration
        ]
        out.line()
        heads = [head(k) for k in ("shown", "calls", "kept", "greet_median", "p90")]
        out.table(w.t("report.calibration"), heads, rows)
    if report.fastest or report.happiest or report.beat_promise:
        out.line()
        out.line(w.t("report.shoutouts"), "bold")
        for s in report.beat_promise:
            out.line(w.t("report.term.beat", name=s.name, value=fmt_s(s.value), calls=s.calls))
        for s in report.fastest:
            out.line(w.t("report.term.fastest", name=s.name, value=fmt_s(s.value), calls=s.calls))
        for s in report.happiest:
            out.line(w.t("report.term.happiest", name=s.name, value=f"{s.value:.1f}", calls=s.calls))
    if any(map(any, report.heatmap.calls)):
        out.line()
        out.line(heat_grid(report.heatmap.calls, out.width, out, w))
