"""The HTML review: hand-worked cells, and the sample's report opened in headless Chromium: every chart drawn, no console errors, no network.

The report is rendered from the sample organisation's warehouse (built offline under
tmp_path) and loaded from a file:// URL; every request that is not the file itself is
aborted and recorded.  If /usr/bin/chromium is missing the browser tests skip, unless
SPENDWATCH_REQUIRE_CHROMIUM=1 (set by CI), when they fail.  A screenshot of the full page
is saved under the test's tmp_path.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from spendwatch.review import render, render_review
from spendwatch.review.html import team_anchor
from tests.spendwatch.review.conftest import poison
from warehouse.db import connect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOV = date(2026, 11, 1)
EVIL_TEAM = "<script>alert(1)</script>"
EVIL_MODEL = "<img src=x onerror=alert(2)>"

# Per chart div: the SVG is drawn and at least one trace has a non-empty path (a line or a bar).
_CHART_STATE = """() => Array.from(document.querySelectorAll('div.plotly-graph-div')).map(d => ({
    id: d.id,
    svg: d.querySelectorAll('svg.main-svg').length,
    traces: d.querySelectorAll('g.trace').length,
    drawn: Array.from(d.querySelectorAll('g.trace path')).filter(p => (p.getAttribute('d') || '').length > 10
                                                                && p.getBoundingClientRect().width + p.getBoundingClientRect().height > 0).length,
    title: (d.querySelector('.gtitle') || {textContent: ''}).textContent,
}))"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    """The browser, or a skip (a failure when SPENDWATCH_REQUIRE_CHROMIUM=1)."""
    if not CHROMIUM.exists():
        reason = f"headless Chromium not found at {CHROMIUM} (Debian: apt-get install -y chromium)"
        if os.environ.get("SPENDWATCH_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{reason}; SPENDWATCH_REQUIRE_CHROMIUM=1 requires it")
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return CHROMIUM


@pytest.fixture(scope="module")
def sample(sample_warehouse) -> Path:
    return sample_warehouse  # conftest.py: built once, read-only here (changes go to a copy)


def _html(path: Path, month: date = NOV, team: str | None = None) -> str:
    con = connect(path, read_only=True)
    try:
        return render_review(con, month, team, "html")
    finally:
        con.close()


def _open(chromium: Path, report: Path, screenshot: Path | None = None, charts: int = 0) -> dict:
    """Load the report from file://, wait for the charts, and return what the page did."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: seen["errors"].append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(f"pageerror: {e}"))
            page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    seen["requests"].append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(report.resolve().as_uri(), wait_until="load")
            if charts:
                page.wait_for_function(
                    "n => document.querySelectorAll('div.plotly-graph-div svg.main-svg').length >= n && "
                    "Array.from(document.querySelectorAll('div.plotly-graph-div')).every(d => d.querySelector('g.trace'))",
                    arg=charts, timeout=60_000)
            page.wait_for_timeout(300)
            seen["charts"] = page.evaluate(_CHART_STATE)
            seen["scripts"] = page.evaluate("() => document.querySelectorAll('script').length")
            seen["images"] = page.evaluate("() => document.querySelectorAll('img').length")
            seen["h2"] = page.evaluate("() => Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
            seen["breakeven_rows"] = page.evaluate(
                """() => { const h = Array.from(document.querySelectorAll('h3')).find(x => x.textContent.startsWith('Break-even today'));
                           const t = h && h.nextElementSibling; return t && t.tagName === 'TABLE' ? t.querySelectorAll('tbody tr').length : -1; }""")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def test_hand_worked_page(tiny):
    html = render(tiny, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert '<h2 id="team-alpha">alpha <small>lead ana@example.com</small></h2>' in html
    # spend by kind, right-aligned figures with their currency: 1,234.50 + 100.25 = 1,334.75
    assert '<td class="num">£1,234.50</td><td class="num">£0.00</td><td class="num">£100.25</td>' in html
    assert '<td class="num">$0.00031</td><td class="num">$0.00029</td>' in html
    assert '<span class="badge st-proj">projected over</span>' in html
    tiny["teams"][0]["threshold"]["status"] = "at_risk"  # the early warning has its own badge
    assert '<span class="badge st-risk">at risk</span>' in render(tiny, "html")
    assert "Unallocated spend this month: <strong>£12.34</strong>" in html
    assert '<p class="empty">alerts are not set up in this warehouse</p>' in html
    assert html.count('class="plotly-graph-div"') == 0  # no history, no days, no break-even: nothing to draw


def test_team_anchor_is_safe():
    assert team_anchor("ml-search") == "ml-search"
    assert team_anchor('<script>"x"') == "-script--x-"  # < > " " each a dash
    assert team_anchor("") == "team"


def test_report_is_self_contained(sample):
    html = _html(sample)
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html and "@font-face" not in html
    assert html.count("plotly.js v") == 1  # the bundle is inlined once, not per chart


def test_charts_render_in_headless_chromium(chromium, sample, tmp_path, review_of):
    data = review_of(sample, NOV)
    # November, from examples/README.md: six teams (five and unallocated) each with a monthly chart; a
    # month-to-date chart for the five with variable spend (platform has none); a break-even chart for
    # vision's RTX 4090 and research's H100; a utilisation chart for each dedicated server: platform's rented
    # GigaGPU server and research's p4d.24xlarge instance (an A100 GPU instance, kind dedicated_gpu); and an
    # actual-against-band chart for each series with an anomaly in November (examples/README.md: search's
    # Anthropic launch ramp on 11-12 Nov, research's AWS p4d run on 12 Nov): 6 + 5 + 2 + 2 + 2.
    expected = 17
    report = tmp_path / "review.html"
    report.write_text(_html(sample), encoding="utf-8")
    shot = tmp_path / "review.png"
    seen = _open(chromium, report, shot, charts=expected)
    assert seen["errors"] == []
    assert seen["requests"] == []
    charts = seen["charts"]
    assert len(charts) == expected
    for c in charts:
        assert c["svg"] >= 1 and c["traces"] >= 1 and c["drawn"] >= 1, c
    titles = " / ".join(c["title"] for c in charts)
    assert "search: monthly spend against the threshold (GBP)" in titles
    assert "search: November 2026 to date (GBP)" in titles  # the data reaches 30 Nov: no projection left to draw
    assert "vision, RTX4090-24GB: cost against utilisation, Nov 2026" in titles
    assert "research, H100-80GB-SXM: cost against utilisation, Nov 2026 (GPU-seconds estimated)" in titles
    assert seen["breakeven_rows"] == len(data["breakeven_table"]) > 0
    assert shot.exists() and shot.stat().st_size > 50_000


def test_untrusted_names_stay_text_in_the_browser(chromium, sample, tmp_path):
    path = tmp_path / "evil.duckdb"
    shutil.copy(sample, path)
    poison(path, EVIL_TEAM, "UPDATE billing_line_items SET x_gpu_class = ? WHERE x_gpu_class = 'RTX4090-24GB'", EVIL_MODEL)
    report = tmp_path / "evil.html"
    html = _html(path)
    report.write_text(html, encoding="utf-8")
    n_charts = html.count('class="plotly-graph-div"')
    seen = _open(chromium, report, tmp_path / "evil.png", charts=n_charts)
    assert seen["dialogs"] == [] and seen["errors"] == [] and seen["requests"] == []
    assert seen["images"] == 0
    # plotly.js inline (its config line and the bundle) and one newPlot script per chart: nothing injected
    assert seen["scripts"] == 2 + n_charts
    assert any(h.startswith(EVIL_TEAM) for h in seen["h2"])  # shown as text
    assert any(c["title"].startswith(f"{EVIL_TEAM}: monthly spend") for c in seen["charts"])


def test_untrusted_names_are_escaped_in_the_page(evil_sample):
    html = _html(evil_sample)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
