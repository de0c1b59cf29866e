"""The chain report as one self-contained HTML page: tables and inline SVG charts, no network.

Drawn like the store report (``broker.reports.html``): small SVG charts written here, so the
file reads offline, in an e-mail or printed.  Every word comes from the sv/en catalogs
(``broker.chain.texts``).  Charts: the promise kept per region and per store (the ranking's top
and bottom when the chain is large), and calls by weekday x hour across the chain.

Example::

    >>> from broker.chain.figures import ChainFigures, ChainReport, Filters
    >>> empty = ChainReport("all", Filters(), None, ChainFigures("all"), [], [], [], [], [], [], [], ("", ""))
    >>> page = render(empty, "sv")
    >>> page.startswith("<!doctype html>") and "Inga anrop" in page
    True
"""

from __future__ import annotations

from html import escape

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from broker.chain.figures import WORSE_BY, WORSE_MIN_CALLS, ChainFigures, ChainReport
from broker.chain.texts import texts
from broker.reports.format import fmt_s, fmt_share

_env = Environment(loader=PackageLoader("broker.chain", "templates"), autoescape=select_autoescape(["html"]))
_env.filters.update(secs=fmt_s, share=fmt_share)

GOOD, LATE, BAD, GRID = "#2e7d32", "#ef8f00", "#c62828", "#ccc"
TOP = 15
"""A chain's ranking chart and table show the best and the worst ``TOP`` stores."""


def render(report: ChainReport, lang: str = "en") -> str:
    words = texts(lang)

    def t(key: str, **kw: object) -> str:
        return words.get(key, key).format(**kw)

    ranking = report.ranking
    shown = ranking if len(ranking) <= 2 * TOP else [*ranking[:TOP], *ranking[-TOP:]]
    places = {f.key: i + 1 for i, f in enumerate(ranking)}
    return _env.get_template("chain_report.html").render(
        r=report,
        total=report.total,
        lang=lang,
        t=t,
        shown=shown,
        places=places,
        cut=len(shown) < len(ranking),
        top=TOP,
        points=round(WORSE_BY * 100),
        min_calls=WORSE_MIN_CALLS,
        regions_svg=Markup(bars_svg(report.regions, t("chain_chart_regions"))),
        ranking_svg=Markup(bars_svg(shown, t("chain_chart_ranking"))),
        heatmap_svg=Markup(heatmap_svg(report, t("chain_heatmap"), t("chain_weekdays").split(","))),
    )


def bars_svg(rows: list[ChainFigures], title: str, width: int = 640, bar: int = 16) -> str:
    """One horizontal bar per row: the promise kept (0-100 %), green from 80 %, amber from 60 %, red below."""
    pad_l, pad_r = 120, 48
    height = 24 + bar * max(1, len(rows))
    plot = width - pad_l - pad_r
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for pct in (0, 25, 50, 75, 100):
        x = pad_l + plot * pct / 100
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{height}" stroke="{GRID}"/>')
        parts.append(f'<text x="{x:.1f}" y="10" text-anchor="middle" class="ax">{pct}%</text>')
    for i, f in enumerate(rows):
        share = f.within_target_share or 0.0
        colour = GOOD if share >= 0.8 else LATE if share >= 0.6 else BAD
        y = 18 + i * bar
        w = plot * share
        label = f"{f.key} ({f.region})" if f.region else f.key
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + bar * 0.7:.1f}" text-anchor="end" class="ax">{escape(label)}</text>'
            f'<rect x="{pad_l}" y="{y + 2}" width="{w:.1f}" height="{bar - 4}" fill="{colour}">'
            f"<title>{escape(label)}: {fmt_share(f.within_target_share)}, {f.calls}, "
            f"{fmt_s(f.greet_median)}</title></rect>"
            f'<text x="{pad_l + w + 3:.1f}" y="{y + bar * 0.7:.1f}" class="v">{fmt_share(f.within_target_share)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap_svg(report: ChainReport, title: str, weekdays: list[str], width: int = 640, height: int = 200) -> str:
    calls = report.heatmap
    top = max((max(row) for row in calls), default=0) or 1
    pad_l, pad_t = 36, 18
    cw, ch = (width - pad_l - 4) / 24, (height - pad_t - 4) / 7
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for h in range(0, 24, 2):
        parts.append(f'<text x="{pad_l + h * cw + cw / 2:.1f}" y="12" text-anchor="middle" class="ax">{h:02d}</text>')
    for d, day in enumerate(weekdays[:7]):
        y = pad_t + d * ch
        label_y = y + ch / 2 + 4
        parts.append(f'<text x="{pad_l - 4}" y="{label_y:.1f}" text-anchor="end" class="ax">{escape(day)}</text>')
        for h in range(24):
            n = calls[d][h]
            shade = 0.08 + 0.92 * n / top if n else 0.0
            fill = f"rgba(21,101,192,{shade:.2f})" if n else "#f4f4f4"
            parts.append(
                f'<rect x="{pad_l + h * cw + 1:.1f}" y="{y + 1:.1f}" width="{cw - 2:.1f}" height="{ch - 2:.1f}" '
                f'fill="{fill}"><title>{escape(day)} {h:02d}: {n}, {fmt_s(report.heat_greet[d][h])}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)
