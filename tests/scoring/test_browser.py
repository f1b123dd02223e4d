"""The weekly page in a real headless browser: it loads without errors, fetches nothing, sorts and filters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from screening.scoring import render_page
from tests.conftest import form
from tests.scoring._chromium import Chromium, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, model, week) -> Path:
    hostile = pd.DataFrame([form(case_id="EVIL-1", jobcenter="<img src=x onerror=\"window.pwned=1\">"),
                            form(case_id="EVIL-2", jobcenter="</script><script>window.pwned=2</script>")])
    forms = pd.concat([week, hostile], ignore_index=True)
    result = model.score(forms, capacity=3, per="jobcenter")
    path = tmp_path_factory.mktemp("page") / "week.html"
    path.write_text(render_page(result, card_href="model_card.md", input_name="week.csv", output_name="ranked.csv"),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser(page_file):
    chromium = Chromium(CHROMIUM)
    try:
        chromium.open(page_file.as_uri())
        yield chromium
    finally:
        chromium.close()


def column_values(browser: Chromium, key: str) -> list[str]:
    return browser.evaluate(
        f"(function(){{var i=Array.prototype.findIndex.call(document.querySelectorAll('#ranked th'),"
        f"function(h){{return h.getAttribute('data-key')==='{key}';}});"
        "return Array.prototype.filter.call(document.querySelectorAll('#ranked tbody tr'),function(r){return !r.hidden;})"
        ".map(function(r){var c=r.cells[i];return c.getAttribute('data-sort')||c.textContent;});})()")


def test_the_page_loads_without_errors_and_fetches_nothing(browser):
    assert browser.evaluate("document.body.getAttribute('data-ready')") == "1"  # its script ran (CSP allowed it)
    assert browser.console_errors() == []
    assert [url for url in browser.requests() if not url.startswith("file:")] == []
    assert browser.evaluate("window.pwned === undefined")
    assert browser.evaluate("document.querySelectorAll('#ranked tbody tr').length") > 1000


def test_refused_forms_are_shown_first(browser):
    order = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('section'),function(s){return s.id;})")
    assert order[:2] == ["refused-section", "ranked-section"]
    assert browser.evaluate("document.querySelectorAll('#refused tbody tr').length") > 10


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
    browser.click("#ranked th[data-key=rank]")
    assert browser.console_errors() == []


def test_filtering_by_jobcenter(browser):
    browser.evaluate("(function(){var s=document.getElementById('jobcenter-filter');s.value='Odense';"
                     "s.dispatchEvent(new Event('change'));})()")
    shown = column_values(browser, "jobcenter")
    assert shown and set(shown) == {"Odense"}
    browser.evaluate("(function(){var s=document.getElementById('jobcenter-filter');s.value='*';"
                     "s.dispatchEvent(new Event('change'));})()")
    assert len(set(column_values(browser, "jobcenter"))) > 3


def test_a_screenshot_is_taken(browser, tmp_path):
    shot = browser.screenshot(tmp_path / "weekly-page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    keep = os.environ.get("SCREENING_SCREENSHOTS")  # e.g. CI keeps it as an artefact
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
