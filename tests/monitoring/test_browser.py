"""The monitoring page in headless Chromium: loads without errors, fetches nothing, shows the verdict, the trend and the flags."""

from __future__ import annotations

import pytest

from screening.monitoring import monitor, write_monitoring_page
from screening.synthetic import write_forms
from tests.monitoring.conftest import FORMS_PER_MONTH, N_BOOT, SHIFT, case_ids
from tests.scoring._chromium import Chromium, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
HOSTILE = '<img src=x onerror="window.pwned=1">'


@pytest.fixture(scope="module")
def hostile_year(tmp_path_factory):
    """The shifted year with its biggest jobcenter renamed to markup: flagged as a subgroup, shown as text."""
    from screening.monitoring import simulate_year

    forms = simulate_year(FORMS_PER_MONTH, seed=2, shift_month=7, slower_by=SHIFT, mental_share=0.4).forms
    forms["jobcenter"] = forms["jobcenter"].where(forms["jobcenter"] != "Aarhus", HOSTILE)
    path = tmp_path_factory.mktemp("hostile") / "year.csv"
    write_forms(forms, path)
    return path


@pytest.fixture(scope="module")
def pages(monitored_model_dir, hostile_year, tmp_path_factory):
    result = monitor(monitored_model_dir, hostile_year, n_boot=N_BOOT)
    folder = tmp_path_factory.mktemp("pages")
    return result, {language: write_monitoring_page(result, folder / f"monitoring_{language}.html", language=language)
                    for language in ("da", "en")}


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium(CHROMIUM)
    try:
        yield chromium
    finally:
        chromium.close()


def test_the_page_loads_without_errors_and_fetches_nothing(browser, pages):
    _, files = pages
    browser.open(files["da"].as_uri())
    assert browser.console_errors() == []
    assert [url for url in browser.requests() if not url.startswith("file:")] == []
    assert browser.evaluate("window.pwned === undefined")
    assert browser.evaluate("document.scripts.length") == 0  # no script at all, and the CSP allows none
    policy = browser.evaluate("document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_danish_by_default_verdict_first_and_flags_where_the_shift_is(browser, pages):
    result, files = pages
    browser.open(files["da"].as_uri())
    assert browser.evaluate("document.documentElement.lang") == "da"
    verdict = browser.evaluate("document.getElementById('verdict').innerText")
    assert verdict.startswith("Genoptræning anbefales") and ("juli 2027" in verdict or "august 2027" in verdict)
    assert browser.evaluate("document.getElementById('verdict').getBoundingClientRect().top") < 300
    order = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('section'),function(s){return s.id;})")
    assert order == ["facts-section", "trend-section", "periods-section", "subgroups-section", "validated-section",
                     "use-section"]
    flagged_rows = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('#periods tr.flagged'),"
                                    "function(r){return r.getAttribute('data-period');})")
    assert flagged_rows == result.flagged_periods and all(period >= "2027-07" for period in flagged_rows)
    # The trend marks the same periods red, in both charts.
    assert browser.evaluate("document.querySelectorAll('#trend-gap circle.flagged').length") == len(flagged_rows)
    assert browser.evaluate("document.querySelectorAll('#trend-rates circle.flagged').length") == len(flagged_rows)
    assert browser.evaluate("document.getElementById('tolerance-band').getBBox().height") > 10


def test_flagged_subgroups_show_their_names_as_text(browser, pages):
    result, files = pages
    browser.open(files["da"].as_uri())
    text = browser.evaluate("document.getElementById('subgroups-section').innerText")
    flagged = result.flagged_subgroups
    assert len(flagged) and browser.evaluate("document.querySelectorAll('#subgroups tbody tr').length") == len(flagged)
    assert HOSTILE in text and browser.evaluate("document.querySelectorAll('#subgroups img').length") == 0
    assert "færre end 100 effektive skemaer vises ikke" in text


def test_what_it_was_validated_at_and_what_it_is_for(browser, pages):
    result, files = pages
    browser.open(files["en"].as_uri())
    assert browser.evaluate("document.documentElement.lang") == "en"
    validated = browser.evaluate("document.getElementById('validated-section').innerText")
    auc = result.facts["validated_at"]["metrics"]["auc"]
    assert f"{auc:.3f}" in validated and "Calibration gap" in validated
    use = browser.evaluate("document.getElementById('use-section').innerText")
    assert "must not be used to grant, refuse or reduce benefits" in use and "Art. 72" in use
    assert browser.evaluate("document.getElementById('verdict').innerText").startswith("Retraining advised")


def test_nothing_personal_on_the_page(pages, hostile_year):
    _, files = pages
    ids = case_ids(hostile_year)
    for path in files.values():
        page = path.read_text("utf-8")
        assert not any(case_id in page for case_id in ids)
        assert str(hostile_year.parent) not in page


def test_a_screenshot_is_taken(browser, pages, tmp_path):
    import os
    import shutil
    from pathlib import Path

    _, files = pages
    browser.open(files["da"].as_uri())
    shot = browser.screenshot(tmp_path / "monitoring-page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    keep = os.environ.get("SCREENING_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_the_same_result_gives_the_same_page(pages):
    from screening.monitoring import render_monitoring_page

    result, files = pages
    assert render_monitoring_page(result) == files["da"].read_text("utf-8")
