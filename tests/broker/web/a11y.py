"""Accessibility checks for the phone pages, run in Debian's Chromium: axe-core, reflow and reachability.

axe-core comes from the npm registry into ``tests/axe/`` (``deploy/install-deps.sh test`` installs it; git
ignores its node_modules; ``STAFFCALL_AXE_DIR`` names another folder), installed here with npm if missing;
it is injected into the page under test.  The board's tests use the same copy.

Example::

    assert_no_axe_violations(page, "QR page, waiting")   # every WCAG 2.0/2.1/2.2 A and AA rule
    assert_reachable(page, "#welcome")                   # every control: on screen after scrolling, not covered
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

AXE_VERSION = "4.14"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

# A desktop browser at 200% zoom (1280x720 CSS px seen as 640x360) and the 320 px reflow width of WCAG 1.4.10.
ZOOM_200 = {"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2}
REFLOW_320 = {"viewport": {"width": 320, "height": 568}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@cache
def axe_source() -> str:
    folder = Path(os.environ.get("STAFFCALL_AXE_DIR") or Path(__file__).resolve().parents[2] / "axe")
    js = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not js.exists():
        npm = shutil.which("npm")
        assert npm, "the accessibility tests need npm for axe-core: run deploy/install-deps.sh test"
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [npm, "install", "--prefix", str(folder), "--no-save", "--no-package-lock", "--no-audit", "--no-fund"]
        cmd.append(f"axe-core@{AXE_VERSION}")
        subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    return js.read_text(encoding="utf-8")


def assert_no_axe_violations(page, state: str) -> None:
    """Run axe-core's WCAG A and AA rules on ``page`` as it is now; fail with each violation and its nodes."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))",
        WCAG_TAGS,
    )
    lines = [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in result]
    assert not result, f"axe-core, {state}:\n" + "\n".join(lines)


REACHABLE_JS = """
(root) => {
  const box = document.querySelector(root);
  const all = [...box.querySelectorAll("button, a[href], select, input, textarea")];
  const shown = all.filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden");
  const bad = [];
  for (const el of shown) {
    el.scrollIntoView({block: "center", inline: "center"});
    const r = el.getBoundingClientRect();
    const name = el.id || el.dataset.status || el.dataset.act || el.dataset.reason
      || el.textContent.trim().slice(0, 30);
    if (r.right > innerWidth + 1 || r.left < -1 || r.bottom > innerHeight + 1 || r.top < -1) {
      bad.push(`${name}: off screen ${JSON.stringify(r)}`); continue;
    }
    const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const top = document.elementFromPoint(x, y);
    if (!top || !(el === top || el.contains(top) || (el.labels && [...el.labels].some((l) => l.contains(top)))))
      bad.push(`${name}: covered by ${top && (top.id || top.className || top.tagName)}`);
  }
  const wide = document.scrollingElement.scrollWidth;
  if (wide > innerWidth + 1) bad.push(`page is ${wide} px wide in a ${innerWidth} px viewport`);
  return {bad, count: shown.length};
}
"""


def assert_reachable(page, root: str, at_least: int = 1) -> None:
    """Every visible control under ``root`` can be scrolled into the viewport and is not covered there,
    and the page does not scroll sideways (WCAG 1.4.10 reflow, 2.4.11 focus not obscured)."""
    r = page.evaluate(REACHABLE_JS, root)
    assert not r["bad"], f"{root} at {page.viewport_size}: " + "; ".join(r["bad"])
    assert r["count"] >= at_least, f"{root}: only {r['count']} controls shown"


def focused(page) -> str:
    """What has the keyboard focus: its id, data attribute or text (for asserting keyboard journeys)."""
    return page.evaluate(
        "() => { const e = document.activeElement; return e.id || e.dataset.act || e.dataset.status ||"
        " e.dataset.next || e.textContent.trim(); }"
    )


def tab_to(page, text: str, limit: int = 40) -> None:
    """Press Tab until the focused control's text is ``text`` (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = "() => (document.activeElement.getAttribute('aria-label') || document.activeElement.textContent).trim()"
        if page.evaluate(name) == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")
