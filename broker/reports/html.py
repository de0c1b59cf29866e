"""The report as one self-contained HTML page: tables plus inline SVG charts, A4-printable.

No chart library and no network: three small SVG charts drawn here (wait-time
distribution, weekday x hour heatmap, trend by day) keep the file readable offline,
in an e-mail attachment or printed for the morning meeting.

Example (an empty event log still makes a whole page)::

    >>> from broker.hub.eventlog import connect, create_schema
    >>> from broker.reports.metrics import Metrics, period
    >>> db = connect(":memory:"); create_schema(db)
    >>> metrics = Metrics(db.conn, timezone="Europe/Stockholm")
    >>> html = render(metrics.report(period("week", "Europe/Stockholm", now=1772445600.0), "staff"))
    >>> html.lstrip().lower().startswith("<!doctype html>"), html.rstrip().endswith("</html>")
    (True, True)
"""

from __future__ import annotations

from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from broker.hub.reportcells import PROMISE_STEP_S
from broker.reports.format import fmt_face, fmt_s, fmt_share, fmt_signed_s
from broker.reports.metrics import WEEKDAYS, Report
from broker.reports.words import Catalog, day_name, group_key, period_text, report_words

_env = Environment(loader=PackageLoader("broker.web", "templates"), autoescape=select_autoescape(["html"]))
_env.filters.update(secs=fmt_s, share=fmt_share, signed=fmt_signed_s)
_env.globals.update(face=fmt_face)

GOOD, LATE, BAD, INK, GRID = "#2e7d32", "#ef8f00", "#c62828", "#222", "#ccc"


def render(report: Report, staffing: dict[str, Any] | None = None, lang: str = "en") -> str:
    """The page in ``lang`` (the catalog's ``report.*`` texts); ``staffing``: the advice grid of the period
    (``broker.reports.staffgrid``), drawn as its own section."""
    w = report_words(lang)

    def tb(key: str, **values: Any) -> Markup:
        """A text whose catalog entry holds markup (``<b>``): the values escaped, the entry trusted."""
        return Markup(w.t(key, **{k: escape(str(v)) for k, v in values.items()}))

    return _env.get_template("report.html").render(
        r=report,
        w=w,
        tb=tb,
        label=period_text(report.period.label, w),
        group=lambda key: group_key(report.by, key, w),
        staffing=staffing,
        t=report.total,
        distribution_svg=Markup(distribution_svg(report, w)),
        heatmap_svg=Markup(heatmap_svg(report, w)),
        trend_svg=Markup(trend_svg(report, w)),
        calibration_svg=Markup(calibration_svg(report, w)),
        step=PROMISE_STEP_S,
    )


def _svg(width: int, height: int, label: str) -> str:
    """A chart's opening tag, named for screen readers."""
    return f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'


def _middle(width: int, height: int, text: str) -> str:
    """An empty chart's one line of text, and its end."""
    return f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="ax">{escape(text)}</text></svg>'


def _edge(label: str) -> float:
    """Upper edge of a "30-60s" bucket (inf for "600s+")."""
    return float(label.split("-")[1].rstrip("s")) if "-" in label else float("inf")


def distribution_svg(report: Report, w: Catalog, width: int = 640, height: int = 220) -> str:
    lost = {"gave up": w.t("report.wait.gave_up"), "unattended": w.t("report.wait.unattended")}
    data = report.distribution
    top = max((n for _, n in data), default=0) or 1
    pad_l, pad_b, pad_t = 36, 40, 10
    bar_w = (width - pad_l - 10) / max(1, len(data))
    parts = [_svg(width, height, w.t("report.wait.chart"))]
    plot_h = height - pad_b - pad_t
    for i in range(5):
        y = pad_t + plot_h * i / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + 4:.1f}" text-anchor="end" class="ax">{round(top * (4 - i) / 4)}</text>'
        )
    for i, (key, n) in enumerate(data):
        colour = BAD if key in lost else GOOD if _edge(key) <= report.target_greet_s else LATE
        label = lost.get(key, key)
        h = plot_h * n / top
        x = pad_l + i * bar_w + 3
        y = pad_t + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 6:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {n}</title></rect>"
        )
        if n:
            parts.append(
                f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="v">{n}</text>'
            )
        parts.append(
            f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{height - pad_b + 14}" text-anchor="middle" class="ax">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap_svg(report: Report, w: Catalog, width: int = 640, height: int = 200) -> str:
    calls, med = report.heatmap.calls, report.heatmap.greet_median
    top = max((max(row) for row in calls), default=0) or 1
    pad_l, pad_t = 36, 18
    cw, ch = (width - pad_l - 4) / 24, (height - pad_t - 4) / 7
    parts = [_svg(width, height, w.t("report.heat.chart"))]
    for h in range(0, 24, 2):
        parts.append(f'<text x="{pad_l + h * cw + cw / 2:.1f}" y="12" text-anchor="middle" class="ax">{h:02d}</text>')
    for d in range(len(WEEKDAYS)):
        day = escape(day_name(d, w))
        y = pad_t + d * ch
        parts.append(f'<text x="{pad_l - 4}" y="{y + ch / 2 + 4:.1f}" text-anchor="end" class="ax">{day}</text>')
        for h in range(24):
            n = calls[d][h]
            x = pad_l + h * cw
            shade = 0.08 + 0.92 * n / top if n else 0.0
            fill = f"rgba(21,101,192,{shade:.2f})" if n else "#f4f4f4"
            m = med[d][h]
            late = m is not None and m > report.target_greet_s
            stroke = f' stroke="{BAD}" stroke-width="2"' if late else ""
            tip = w.t("report.heat.tip", day=day_name(d, w), hour=f"{h:02d}:00", n=n, median=fmt_s(m))
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cw - 2:.1f}" height="{ch - 2:.1f}" '
                f'fill="{fill}"{stroke}>'
                f"<title>{escape(tip)}</title></rect>"
            )
            if n:
                colour = "#fff" if shade > 0.55 else INK
                parts.append(
                    f'<text x="{x + cw / 2:.1f}" y="{y + ch / 2 + 4:.1f}" text-anchor="middle" class="cell" '
                    f'fill="{colour}">{n}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def calibration_svg(report: Report, w: Catalog, width: int = 640, height: int = 240) -> str:
    """Shown vs actual: per bucket of the time first shown, a bar from the median to the p90 greeting.

    A well-kept promise has its bars mostly under the dashed diagonal (greeted at the time shown)."""
    rows = [c for c in report.calibration if c.greet_median is not None]
    pad_l, pad_r, pad_t, pad_b = 44, 10, 10, 30
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [_svg(width, height, w.t("report.cal.chart"))]
    if not rows:
        parts.append(_middle(width, height, w.t("report.cal.none")))
        return "".join(parts)
    top = max([c.promise_s + PROMISE_STEP_S for c in rows] + [c.greet_p90 or 0 for c in rows]) * 1.05

    def x(s: float) -> float:
        return pad_l + plot_w * s / top

    def y(s: float) -> float:
        return pad_t + plot_h - plot_h * s / top

    parts.append(
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" y2="{y(top):.1f}" stroke="{BAD}" '
        'stroke-dasharray="4 3"/>'
    )
    bar = plot_w * PROMISE_STEP_S / top * 0.7
    for c in rows:
        tip = w.t(
            "report.cal.tip",
            shown=fmt_s(c.promise_s),
            n=c.promised,
            kept=fmt_share(c.kept_share),
            median=fmt_s(c.greet_median),
            p90=fmt_s(c.greet_p90),
        )
        mid = x(c.promise_s + PROMISE_STEP_S / 2)
        lo, hi = y(c.greet_median or 0), y(c.greet_p90 or c.greet_median or 0)
        kept = c.kept_share if c.kept_share is not None else 0
        colour = GOOD if kept >= 0.8 else LATE if kept >= 0.5 else BAD
        parts.append(
            f'<rect x="{mid - bar / 2:.1f}" y="{hi:.1f}" width="{bar:.1f}" height="{max(1.0, lo - hi):.1f}" '
            f'fill="#90caf9" stroke="{colour}"><title>{escape(tip)}</title></rect>'
        )
        parts.append(
            f'<line x1="{mid - bar / 2:.1f}" x2="{mid + bar / 2:.1f}" y1="{lo:.1f}" y2="{lo:.1f}" stroke="{INK}"/>'
        )
    for i in range(5):
        s = top * i / 4
        parts.append(f'<text x="{x(s):.1f}" y="{height - 12}" text-anchor="middle" class="ax">{fmt_s(s)}</text>')
        parts.append(f'<text x="{pad_l - 4}" y="{y(s) + 4:.1f}" text-anchor="end" class="ax">{fmt_s(s)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(report: Report, w: Catalog, width: int = 640, height: int = 200) -> str:
    days = report.trend
    pad_l, pad_r, pad_t, pad_b = 36, 40, 10, 30
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [_svg(width, height, w.t("report.trend.title"))]
    if not days:
        parts.append(_middle(width, height, w.t("report.trend.none")))
        return "".join(parts)
    top = max(f.calls for f in days) or 1
    waits = [f.greet_median for f in days if f.greet_median is not None]
    wtop = max([*waits, report.target_greet_s]) * 1.1
    step = plot_w / len(days)
    parts.append(
        f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{pad_t + plot_h}" y2="{pad_t + plot_h}" stroke="{GRID}"/>'
    )
    ty = pad_t + plot_h - plot_h * report.target_greet_s / wtop
    promise = w.t("report.trend.promise")
    parts.append(
        f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{BAD}" stroke-dasharray="4 3"/>'
        f'<text x="{pad_l + plot_w + 2}" y="{ty + 4:.1f}" class="ax" fill="{BAD}">{escape(promise)}</text>'
    )
    points = []
    for i, f in enumerate(days):
        x = pad_l + i * step
        h = plot_h * f.calls / top
        tip_s = fmt_s(f.greet_median)
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{pad_t + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#90caf9"><title>{escape(w.t("report.trend.tip", day=f.key, n=f.calls, median=tip_s))}'
            "</title></rect>"
        )
        if f.greet_median is not None:
            points.append(f"{x + step / 2:.1f},{pad_t + plot_h - plot_h * f.greet_median / wtop:.1f}")
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{INK}" stroke-width="2"/>')
        if len(points) == 1:
            cx, cy = points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{INK}"/>')
    label_every = max(1, len(days) // 8)
    for i, f in enumerate(days):
        if i % label_every == 0:
            x = pad_l + i * step + step / 2
            parts.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" class="ax">{f.key[5:]}</text>')
    parts.append(f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" class="ax">{top}</text>')
    parts.append("</svg>")
    return "".join(parts)
