"""The weekly page in a real headless browser: it loads without errors, fetches nothing, reads as a consultant needs.

Whom to call comes first; the refused count links to the refusals lower down; the list sorts and
filters (forms without a jobcenter too); the late queue never reads "100,0 %"; no spreadsheet guard
shows; ids stay on one line in a narrow window.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from screening.scoring import render_page
from tests.conftest import form
from tests.scoring._chromium import Chromium, find_chromium
from tests.scoring.test_page import METADATA, late_week

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, model, week) -> Path:
    hostile = pd.DataFrame([form(case_id="EVIL-1", jobcenter="<img src=x onerror=\"window.pwned=1\">"),
                            form(case_id="EVIL-2", jobcenter="</script><script>window.pwned=2</script>"),
                            form(case_id="EVIL-3", jobcenter='=HYPERLINK("http://evil")'),
                            form(case_id="EVIL-4", sick_weeks="-2")])
    late = late_week(400, seed=31)
    late["case_id"] = "L" + late["case_id"]  # another cohort: its own ids
    forms = pd.concat([week, late, hostile], ignore_index=True)
    result = model.score(forms, capacity=3, per="jobcenter")
    path = tmp_path_factory.mktemp("page") / "week.html"
    page = render_page(result, model=json.loads(METADATA.read_text("utf-8")), input_name="week.csv",
                       output_name="ranked.csv")
    path.write_text(page, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser(page_file):
    chromium = Chromium(CHROMIUM)
    try:
        chromium.open(page_file.as_uri())
        yield chromium
    finally:
        chromium.close()


def column_values(browser: Chromium, key: str, table: str = "ranked") -> list[str]:
    return browser.evaluate(
        f"(function(){{var i=Array.prototype.findIndex.call(document.querySelectorAll('#{table} th'),"
        f"function(h){{return h.getAttribute('data-key')==='{key}';}});"
        f"return Array.prototype.filter.call(document.querySelectorAll('#{table} tbody tr'),"
        "function(r){return !r.hidden;})"
        ".map(function(r){var c=r.cells[i];return c.getAttribute('data-sort')||c.textContent;});})()")


def choose(browser: Chromium, value: str) -> None:
    browser.evaluate(f"(function(){{var s=document.getElementById('jobcenter-filter');s.value={json.dumps(value)};"
                     "s.dispatchEvent(new Event('change'));})()")


def test_the_page_loads_without_errors_and_fetches_nothing(browser):
    assert browser.evaluate("document.body.getAttribute('data-ready')") == "1"  # its script ran (CSP allowed it)
    assert browser.console_errors() == []
    assert [url for url in browser.requests() if not url.startswith("file:")] == []
    assert browser.evaluate("window.pwned === undefined")
    assert browser.evaluate("document.querySelectorAll('#ranked tbody tr').length") > 1000


def test_whom_to_call_comes_first(browser):
    order = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('section'),function(s){return s.id;})")
    assert order[:3] == ["calls-section", "early-section", "late-section"] and "refused-section" in order
    calls = browser.evaluate("document.querySelectorAll('#calls tr.call').length")
    groups = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('#calls tr.group'),"
                              "function(g){return g.textContent;})")
    counts = [int(group.rsplit(" · ", 1)[1].split()[0]) for group in groups]
    assert len(groups) > 5 and max(counts) == 3 and sum(counts) == calls  # three slots in each jobcenter
    assert groups[-1].startswith("(uden jobcenter)")
    # On the first screen: the title, the refused count and the start of the call list.
    assert browser.evaluate("document.querySelector('#calls tr.call').getBoundingClientRect().top") < 900


def test_the_refused_count_links_to_the_refusals_lower_down(browser):
    link = browser.evaluate("(function(){var a=document.getElementById('refused-link');"
                            "return [a.getAttribute('href'),a.textContent,a.getBoundingClientRect().top];})()")
    assert link[0] == "#refused-section" and link[2] < 200 and "afvist" in link[1]
    refused_rows = browser.evaluate("new Set(Array.prototype.map.call(document.querySelectorAll('#refused tbody tr'),"
                                    "function(r){return r.cells[0].textContent;})).size")
    assert link[1].startswith(f"{refused_rows} skemaer")
    browser.click("#refused-link")
    assert browser.evaluate("location.hash") == "#refused-section"
    assert abs(browser.evaluate("document.getElementById('refused-section').getBoundingClientRect().top")) < 5
    assert browser.evaluate("window.scrollY") > 10_000  # lower down: after both queues
    browser.evaluate("window.scrollTo(0, 0)")


def test_clicking_a_heading_sorts_the_list(browser):
    browser.click("#ranked th[data-key=risk]")
    descending = [float(value) for value in column_values(browser, "risk")]
    assert descending == sorted(descending, reverse=True)
    browser.click("#ranked th[data-key=risk]")
    ascending = [float(value) for value in column_values(browser, "risk")]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    assert browser.evaluate("document.querySelector('#ranked th[data-key=risk]').getAttribute('aria-sort')") == \
        "ascending"
    browser.click("#ranked th[data-key=case_id]")
    ids = column_values(browser, "case_id")
    assert ids == sorted(ids)
    browser.click("#late th[data-key=risk]")
    late = [float(value) for value in column_values(browser, "risk", "late")]
    assert late == sorted(late, reverse=True) and late[-1] == -1  # no horizon left: last
    browser.click("#ranked th[data-key=rank]")
    assert browser.console_errors() == []


def test_filtering_by_jobcenter_and_forms_without_one(browser):
    options = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('#jobcenter-filter option'),"
                               "function(o){return [o.value,o.textContent];})")
    assert options[0] == ["all", "Alle"] and ["none", "(uden jobcenter)"] in options
    assert ["jc:=HYPERLINK(\"http://evil\")", "=HYPERLINK(\"http://evil\")"] in options
    choose(browser, "jc:Odense")
    shown = column_values(browser, "jobcenter") + column_values(browser, "jobcenter", "late")
    assert shown and set(shown) == {"Odense"}
    choose(browser, "none")
    shown = column_values(browser, "jobcenter") + column_values(browser, "jobcenter", "late")
    assert len(shown) > 10 and set(shown) == {""}
    choose(browser, "all")
    assert len(set(column_values(browser, "jobcenter"))) > 3


def test_the_late_queue_says_which_horizon_and_never_100_percent(browser):
    text = browser.evaluate("document.getElementById('late-section').innerText")
    assert "Allerede sygemeldt i 13 uger eller mere" in text
    assert "risiko for over 22 uger" in text and "risiko for over 52 uger" in text
    assert "100,0 %" not in text and "100 %" not in text
    assert browser.evaluate("document.querySelectorAll('#late tbody tr').length") > 50


def test_no_spreadsheet_guard_shows(browser):
    text = browser.evaluate("document.body.innerText")
    assert '=HYPERLINK("http://evil")' in text
    assert "'=" not in text and "'-2" not in text and "'@" not in text and "'+" not in text


def test_ids_stay_on_one_line_in_a_narrow_window(browser):
    browser.resize(800, 1200)
    try:
        lines = browser.evaluate(
            "Array.prototype.map.call(document.querySelectorAll('td.id'),function(c){var r=document.createRange();"
            "r.selectNodeContents(c);return new Set(Array.prototype.map.call(r.getClientRects(),"
            "function(b){return Math.round(b.top);})).size;})")
        assert len(lines) > 1000 and set(lines) == {1}
        assert browser.evaluate("document.documentElement.scrollWidth") <= 800  # no sideways scrolling
    finally:
        browser.resize(1280, 1600)


def test_a_screenshot_is_taken(browser, tmp_path):
    shot = browser.screenshot(tmp_path / "weekly-page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    keep = os.environ.get("SCREENING_SCREENSHOTS")  # e.g. CI keeps it as an artefact
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
