"""``staffcall chain report``: the store report's figures across the chain, from the chain's Parquet files.

A thin shell over ``broker.chain.figures`` (the SQL and the definitions): it picks the files the
question needs, runs one DuckDB query, and writes a terminal table (as ``staffcall report`` does),
``--csv`` (one row per store, or per ``--by`` group), ``--json`` (everything) or ``--html FILE``
(one self-contained page with charts, ``broker.chain.html``).  DuckDB is imported inside ``run``
so ``staffcall --help`` stays quick.

Example::

    staffcall chain report --data /srv/chain --week
    staffcall chain report --data /srv/chain --region north --since 2026-11-01 --until 2026-11-30 --by weekday
    staffcall chain report --data /srv/chain --store s0042 --month --json
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from broker.chain.figures import (
    FIGURE_COLUMNS,
    GROUPINGS,
    WEEKDAYS,
    ChainFigures,
    ChainReport,
    Filters,
    distribution,
    group_label,
    light_figures,
    rank,
    shoutouts,
    to_figures,
    worse_weeks,
)
from broker.chain.files import committed_files
from broker.reports.format import fmt_s, fmt_share
from broker.reports.terminal import Out, terminal_width, wants_color


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "The store report's figures across the chain's files: per store and region, a ranking by the promise "
        "kept, the stores whose week got worse, shout-outs.\n\n"
        "Example: staffcall chain report --data /srv/chain --week --by region --html week.html"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--data", required=True, metavar="DIR", help="the chain's data root (store=*/month=*/)")
    parser.add_argument("--region", help="only the stores of this region")
    parser.add_argument("--store", action="append", metavar="STORE", help="only this store (repeat for more)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="from this local date")
    when.add_argument("--week", action="store_true", help="this week, Monday to Sunday (stores' local dates)")
    when.add_argument("--month", action="store_true", help="this calendar month")
    parser.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="to this date, inclusive")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help=argparse.SUPPRESS)
    parser.add_argument("--by", choices=GROUPINGS, help="figures per store, region, weekday or hour")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV on stdout: one row per store (or --by group)")
    out.add_argument("--json", action="store_true", help="the whole report as JSON on stdout")
    out.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with charts")
    parser.add_argument("--lang", choices=("en", "sv"), default="en", help="the report's language (terminal and HTML)")


def filters_from(args: argparse.Namespace, today: date) -> tuple[Filters, str]:
    """The arguments' period and scope as ``Filters`` and a label; raises ValueError with the fix."""
    if args.until and not args.since:
        raise ValueError("--until needs --since (e.g. --since 2026-03-01 --until 2026-03-31)")
    if args.week:
        since = today - timedelta(days=today.weekday())
        until, label = since + timedelta(days=6), f"week {today.isocalendar().year}-W{today.isocalendar().week:02d}"
    elif args.month:
        since = today.replace(day=1)
        until, label = (since + timedelta(days=32)).replace(day=1) - timedelta(days=1), f"month {since:%Y-%m}"
    elif args.since:
        since, until = args.since, args.until or today
        if until < since:
            raise ValueError(f"--until {until} is before --since {since}; swap them")
        label = f"{since} to {until}"
    else:
        since = until = None
        label = "all calls"
    stores = tuple(args.store) if args.store else None
    return Filters(since, until, args.region, stores), label


def build(root: str, filters: Filters, by: str | None, label: str = "", con: Any = None) -> ChainReport:
    """The whole report of ``filters`` over the committed files under ``root``, from cells (``broker.chain.cells``).

    Named stores whose period the kept summaries cover are read from the months' small per-store
    SQLite files, without DuckDB (``broker.chain.storekept``: a one-store report is a short process).
    Otherwise months with a fresh kept summary are read from it, the rest from raw rows; a file
    removed by a compaction between reading the index and opening it makes the whole read start again.
    """
    if filters.stores and con is None:
        from broker.chain import storekept

        report = ChainReport(label, filters, by, ChainFigures("all"), [], [], [], [], [], [], [], ("", ""))
        kept = storekept.KeptStores(root, filters)
        rows = kept.figures(_sets(by), _outputs(by))
        if rows is not None:
            report.kept_months = kept.months
            report.files = kept.months
            if _assemble(report, rows, filters, by, kept.week_rows):
                return report
    import duckdb

    for attempt in range(3):
        try:
            return _build(con or duckdb.connect(), root, filters, by, label)
        except duckdb.IOException:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _outputs(by: str | None) -> list[str]:
    return ["total", "store", "region", "day", "wdhour", "staff"] + ([by] if by in ("weekday", "hour") else [])


def _sets(by: str | None) -> list[str]:
    return ["all", "day", "wdhour", "staff"] + ([by] if by in ("weekday", "hour") else [])


def _build(con: Any, root: str, filters: Filters, by: str | None, label: str) -> ChainReport:
    from broker.chain import cells

    committed = committed_files(root)
    report = ChainReport(label, filters, by, ChainFigures("all"), [], [], [], [], [], [], [], ("", ""))
    read = cells.gather(con, root, committed, filters, _sets(by), "m")
    report.files = read["raw_files"] + read["kept_months"] + read["day_months"]
    report.kept_months = read["kept_months"]
    report.day_months = read["day_months"]
    rows = cells.figures(con, "m", _outputs(by))

    def week_rows(this_monday: date) -> list[dict[str, Any]]:
        weeks = Filters(
            this_monday - timedelta(days=7), this_monday + timedelta(days=6), filters.region, filters.stores
        )
        cells.gather(con, root, committed, weeks, ["day"], "w", per_store=True)
        monday_k = (this_monday - date(1970, 1, 1)).days
        cur = con.execute(f"""SELECT store, max(region) AS region, k >= {monday_k} AS this_week,
                                  sum(calls) AS calls, sum(within_target) AS within, sum(judged) AS judged
                              FROM w_cells WHERE set = 'day' AND store <> '*' GROUP BY store, this_week""")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, v, strict=True)) for v in cur.fetchall()]

    _assemble(report, rows, filters, by, week_rows)
    return report


def _assemble(report: ChainReport, rows: dict[str, list[dict[str, Any]]], filters: Filters, by: str | None,
              week_rows: Any) -> bool:  # fmt: skip
    """Fill ``report`` from the summed rows (``broker.chain.cells.figures``' shape); False when the
    worse-week check could not be answered (``week_rows`` returned None)."""
    report.distribution = distribution(None)
    total = rows.get("total", [])
    if not total or not total[0]["calls"]:
        return True
    epoch = date(1970, 1, 1)
    for out in ("day", "weekday", "hour", "wdhour"):
        for r in rows.get(out, []):
            r["k_day"] = epoch + timedelta(days=r["k"])
            r["k_weekday"], r["k_hour"] = (r["k"] // 24, r["k"] % 24) if out == "wdhour" else (r["k"], r["k"])
    report.stores = sorted((to_figures(r["k_store"], r) for r in rows.get("store", [])), key=lambda f: f.key)
    total[0]["stores"] = len(report.stores)
    report.total = to_figures("all", total[0])
    per_region: dict[str, set[str]] = {}
    for f in report.stores:
        per_region.setdefault(f.region, set()).add(f.key)
    for r in rows.get("region", []):
        r["stores"] = len(per_region.get(r["k_region"] or "", ()))
    report.regions = sorted((to_figures(r["k_region"] or "", r) for r in rows.get("region", [])), key=lambda f: f.key)
    report.ranking = rank(report.stores)
    if by == "store":
        report.groups = report.stores
    elif by == "region":
        report.groups = report.regions
    elif by:
        key = f"k_{by}"
        report.groups = [to_figures(group_label(by, r[key]), r) for r in sorted(rows.get(by, []), key=lambda r: r[key])]
    report.fastest, report.happiest = shoutouts(rows.get("staff", []))
    report.distribution = distribution(total[0])
    days = sorted(rows.get("day", []), key=lambda r: r["k_day"])
    report.trend = [light_figures(r["k_day"].isoformat(), r) for r in days]
    for r in rows.get("wdhour", []):
        wd, hour = int(r["k_weekday"]), int(r["k_hour"])
        report.heatmap[wd][hour] = r["calls"]
        report.heat_greet[wd][hour] = light_figures("", r).greet_median
    last_day = filters.until or days[-1]["k_day"]
    this_monday = last_day - timedelta(days=last_day.weekday())
    report.weeks = ((this_monday - timedelta(days=7)).isoformat(), this_monday.isoformat())
    weeks = week_rows(this_monday)
    if weeks is None:
        return False
    report.worse = worse_weeks(weeks)
    return True


def month(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.data):
        print(f"staffcall chain report: no data folder at {args.data}; give the ingest's --data root", file=sys.stderr)
        return 2
    try:
        filters, label = filters_from(args, args.today or date.today())
    except ValueError as exc:
        print(f"staffcall chain report: {exc}", file=sys.stderr)
        return 2
    report = build(args.data, filters, args.by, label)
    if args.json:
        sys.stdout.write(to_json(report) + "\n")
    elif args.csv:
        sys.stdout.write(to_csv(report))
    elif args.html:
        from broker.chain.html import render

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(render(report, args.lang))
        print(f"wrote {args.html}: {report.total.calls} calls, {report.label}", file=sys.stderr)
    else:
        print_table(report, args.lang)
    return 0


# --- formats -------------------------------------------------------------------------------------------


def to_dict(report: ChainReport) -> dict[str, Any]:
    data = asdict(report)
    data["filters"] = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data["filters"].items()}
    data["worse"] = [{**asdict(w), "drop": w.drop} for w in report.worse]
    data["heatmap"] = {"weekdays": list(WEEKDAYS), "calls": report.heatmap, "greet_median": report.heat_greet}
    del data["heat_greet"]
    return data


def to_json(report: ChainReport) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2)


def to_csv(report: ChainReport) -> str:
    """One row per store (or per ``--by`` group), the figures as plain numbers for a spreadsheet."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["period", "group_by", *FIGURE_COLUMNS])
    by = report.by or "store"
    for f in report.groups if report.by else report.stores:
        d = asdict(f)
        writer.writerow([report.label, by, *("" if d[c] is None else d[c] for c in FIGURE_COLUMNS)])
    return buf.getvalue()


def print_table(report: ChainReport, lang: str = "en") -> None:
    out = Out(terminal_width(), wants_color())
    render_table(report, out, lang)
    sys.stdout.write("\n".join(out.lines) + "\n")


def _row(f: ChainFigures, first: str) -> list[str]:
    return [
        first,
        str(f.calls),
        fmt_s(f.ack_median),
        fmt_s(f.greet_median),
        fmt_s(f.greet_p90),
        fmt_s(f.greet_max),
        fmt_share(f.within_target_share),
        str(f.cancelled),
        str(f.unattended),
        str(f.escalations),
        "—" if f.feedback_avg is None else f"{f.feedback_avg:.1f}",
    ]


TOP = 10


def render_table(report: ChainReport, out: Out, lang: str = "en") -> None:
    """The terminal report: totals, regions, the ranking's top and bottom, worse weeks, shout-outs (sv/en)."""
    from broker.chain.texts import texts

    tx = texts(lang)
    heads = tx["chain_term_heads"].split("|")
    group = dict(zip(GROUPINGS, tx["chain_term_group"].split("|"), strict=True))
    t = report.total
    scope = tx["chain_term_region_scope"].format(region=report.filters.region) if report.filters.region else ""
    out.line(out.style(tx["chain_term_title"].format(label=report.label, scope=scope, stores=t.stores), "bold"))
    if t.calls == 0:
        out.line(tx["chain_report_empty"])
        return
    out.line()
    out.table(tx["chain_term_all"], ["", *heads], [_row(t, tx["chain_term_all_row"])])
    out.line(tx["chain_term_note"].format(cancelled=t.cancelled))
    if report.by:
        out.line()
        out.table(tx[f"chain_by_{report.by}"], [group[report.by], *heads], [_row(f, f.key) for f in report.groups])
    if report.by != "region" and len(report.regions) > 1:
        out.line()
        out.table(tx["chain_by_region"], [group["region"], *heads], [_row(f, f.key) for f in report.regions])
    ranking = report.ranking
    shown = ranking if len(ranking) <= 2 * TOP else [*ranking[:TOP], *ranking[-TOP:]]
    out.line()
    title = tx["chain_term_ranking"]
    if len(shown) < len(ranking):
        title += tx["chain_term_ranking_cut"].format(n=TOP, total=len(ranking))
    out.table(title, tx["chain_term_ranking_heads"].split("|"),
              [[str(ranking.index(f) + 1), f.key, f.region, str(f.calls), fmt_s(f.greet_median),
                fmt_share(f.within_target_share)] for f in shown])  # fmt: skip
    out.line()
    last, this = report.weeks
    out.line(tx["chain_term_worse"].format(this=this, last=last), "bold")
    if not report.worse:
        out.line(tx["chain_term_none"])
    for w in report.worse:
        out.line(tx["chain_term_worse_row"].format(store=w.store, region=w.region, last=fmt_share(w.last_share),
                                                   this=fmt_share(w.this_share), calls=w.this_calls))  # fmt: skip
    if report.fastest or report.happiest:
        out.line()
        out.line(tx["chain_term_shoutouts"], "bold")
        for s in report.fastest:
            out.line(tx["chain_term_fastest"].format(name=s.name, store=s.store, value=fmt_s(s.value), calls=s.calls))
        for s in report.happiest:
            out.line(
                tx["chain_term_happiest"].format(name=s.name, store=s.store, value=f"{s.value:.1f}", calls=s.calls)
            )
