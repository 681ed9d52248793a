import base64
import json
import os
import re
import shutil
import time

import pytest

from stance.articles import read_inputs
from stance.events import read_events
from stance.report import write_html, write_png
from stance.tracking import track
from tests.conftest import ARTICLES, ROOT
from tests.test_tracking import GoldClassifier

EVENTS = ROOT / "examples" / "events.csv"


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    tracking = track(GoldClassifier(), read_inputs([str(ARTICLES)]), by="month")
    path = tmp_path_factory.mktemp("page") / "timeline.html"
    return write_html(tracking, path, events=read_events(EVENTS)), tracking


def _spec(page: str, name: str) -> dict:
    text = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.S).group(1)
    return json.loads(text)


def test_the_page_is_one_file_with_its_scripts_inline(seed_page):
    path, _ = seed_page
    page = path.read_text(encoding="utf-8")
    # Nothing to fetch: no external scripts, stylesheets, images or frames in the markup (the
    # inlined scripts' own text is JavaScript; the browser test watches what they request).
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)
    assert markup.count("<script") == 4
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link\b|url\(", markup)
    assert "window.vegaEmbed=" in page  # vega-embed, Vega and Vega-Lite are inlined
    spec = _spec(page, "timeline-spec")
    assert {"points", "periods", "events"} <= set(spec["datasets"])
    assert "url" not in json.dumps({k: v for k, v in spec.items() if k != "datasets"})
    # Tooltips carry evidence; the table, the article list and the evidence section follow.
    point = next(p for p in spec["datasets"]["points"] if p["kind"] == "point" and p["key"] == "ukraine"
                 and p["period"] == "2022-03" and p["stance"] == "conceding")
    assert point["count"] > 5 and re.search(r"\(\w+, 0\.\d\d\)$", point["evidence"])
    assert "we understand this" in page
    assert "<h2>Table</h2>" in page and "<h2>Articles</h2>" in page
    assert 'id="ev-2022-03-ukraine"' in page
    assert {p["key"] for p in _spec(page, "net-spec")["datasets"]["net"]} >= {"ukraine", "russia"}


def test_the_article_list_counts_every_label(seed_page):
    from stance.labels import LABELS, column

    path, tracking = seed_page
    page = path.read_text(encoding="utf-8")
    articles = page.split("<h2>Articles</h2>", 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>(.*?)</th>", articles)
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", articles)]
    assert [column(label) for label in LABELS] == [h for h in header if h in map(column, LABELS)]
    counted = {label: sum(int(row[header.index(column(label))]) for row in rows) for label in LABELS}
    # The seed articles hold sentences of every label, so no column may be blank or zero.
    assert all(counted.values()), counted


def test_png_is_written(tmp_path, seed_page):
    _, tracking = seed_page
    png = write_png(tracking, tmp_path / "out" / "t.png", read_events(EVENTS))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") <= 2400


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: `make test` installs them")
        pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1100", "--disable-background-networking", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


@pytest.mark.integration
def test_timeline_page_in_headless_chromium(seed_page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path, _ = seed_page
    spec = _spec(path.read_text(encoding="utf-8"), "timeline-spec")
    panels = {p["key"] for p in spec["datasets"]["points"] if p["kind"] == "point"}
    browser = _browser()
    try:
        browser.get(path.as_uri())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not browser.execute_script(
                "return document.getElementById('timeline').dataset.rendered === 'yes'"
                " && document.getElementById('net').dataset.rendered === 'yes'"):
            time.sleep(0.1)
        assert browser.execute_script("return document.getElementById('timeline').dataset.rendered") == "yes"
        # No console errors, and nothing requested but the file itself.
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        requests = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
        urls = {r["params"]["request"]["url"] for r in requests if r["method"] == "Network.requestWillBeSent"}
        assert urls <= {path.as_uri()}
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        # Every panel is drawn: its title and its points.
        svg_text = browser.execute_script(
            "return [...document.querySelectorAll('#timeline svg text')].map(t => t.textContent)")
        for key in panels:
            assert any(t.startswith(f"{key}") or (key == "all" and t.startswith("all sentences"))
                       for t in svg_text), key
        points = browser.find_elements(By.CSS_SELECTOR, "#timeline g.mark-symbol path")
        assert len(points) >= len([p for p in spec["datasets"]["points"] if p["kind"] == "point"])
        # The panel menu is there, with one option per panel.
        options = browser.execute_script(
            "return [...document.querySelectorAll('#timeline select option')].map(o => o.value)")
        assert set(options) >= panels
        # Hovering a point shows its tooltip with counts and interval.
        big = max(points, key=lambda p: p.size["width"])
        ActionChains(browser).move_to_element(big).perform()
        deadline = time.monotonic() + 5
        tip = ""
        while time.monotonic() < deadline and "sentences counted" not in tip:
            tip = browser.execute_script(
                "const t = document.getElementById('vg-tooltip-element');"
                "return t && t.classList.contains('visible') ? t.innerText : ''")
            time.sleep(0.1)
        assert "sentences counted" in tip and "95% interval" in tip
        # A screenshot that is not blank: many distinct colours in the chart area.
        shot = tmp_path / "shot.png"
        browser.save_screenshot(str(shot))
        png = base64.b64decode(browser.get_screenshot_as_base64())
        assert len(png) > 30_000
    finally:
        browser.quit()


def test_evidence_labels_are_readable_text_on_white():
    """WCAG AA (4.5:1) for every stance label's text colour on the page's white background."""
    import re

    from stance.labels import DEFAULT_SCHEMA
    from stance.report import _label_style

    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    colours = dict(re.findall(r"\.label-([\w-]+)\{color:(#[0-9a-f]{6})\}", _label_style(DEFAULT_SCHEMA)))
    assert set(colours) == set(DEFAULT_SCHEMA.stances)
    for label, colour in colours.items():
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, (label, colour)
