"""The weekly page: refused forms first, everything escaped, nothing fetched, the same bytes every time."""

from __future__ import annotations

import html
import re

import pandas as pd

from screening.scoring import render_page
from tests.conftest import form


def page_of(model, forms: pd.DataFrame, **options) -> str:
    return render_page(model.score(forms, **{k: v for k, v in options.items() if k in ("capacity", "per")}),
                       **{k: v for k, v in options.items() if k not in ("capacity", "per")})


def test_injected_html_and_formulas_are_harmless(model):
    forms = pd.DataFrame([
        form(case_id="K-1", jobcenter='<script>alert("x")</script>'),
        form(case_id="K-2", jobcenter="=HYPERLINK(\"http://evil\")"),
        form(case_id="K-3", sex="<img src=x onerror=alert(1)>"),
        form(case_id="K-4", jobcenter="@SUM(1)</td></tr></table><b>"),
    ])
    page = page_of(model, forms)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&#x27;=HYPERLINK" in page and "&#x27;@SUM(1)&lt;/td&gt;" in page
    assert page.count("<script") == 2  # the summary data and the page's own script, nothing else


def test_refused_forms_come_before_the_list(model, week):
    page = page_of(model, week)
    assert page.index('id="refused-section"') < page.index('id="ranked-section"') < \
        page.index('id="distribution-section"') < page.index('id="drift-section"') < page.index('id="model"')
    assert "Afviste skemaer" in page and "ikke et tal" in page or "uden for intervallet" in page


def test_nothing_is_fetched_from_anywhere(model, week):
    page = page_of(model, week, card_href="model/model_card.md")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert policy.startswith("default-src 'none'") and "script-src 'sha256-" in policy
    assert '<a href="model/model_card.md">modelkort</a>' in page


def test_danish_by_default_english_on_request(model, week):
    assert '<html lang="da">' in page_of(model, week) and "Prioriteret liste" in page_of(model, week)
    english = page_of(model, week, language="en")
    assert '<html lang="en">' in english and "Ranked list" in english and "Refused forms" in english


def test_the_same_result_gives_the_same_page(model, week):
    assert page_of(model, week, capacity=3, per="jobcenter") == page_of(model, week, capacity=3, per="jobcenter")


def test_a_huge_week_shows_the_top_of_the_list_and_says_where_the_rest_is(model, week, monkeypatch):
    from screening.scoring import _page

    monkeypatch.setattr(_page, "MAX_ROWS", 50)
    page = page_of(model, week, output_name="uge47.csv")
    assert page.count('<tr data-order="') == 50
    assert "Viser de første 50 af" in page and "uge47.csv" in page


def test_a_long_refusal_list_says_where_the_rest_is(model, week, monkeypatch):
    from screening.scoring import _page

    monkeypatch.setattr(_page, "MAX_REFUSED", 5)
    page = page_of(model, week, rejects_name="uge47_refused.csv")
    assert page.count("<tr><td class=\"num\">") == 5
    assert "Viser de første 5 af" in page and "uge47_refused.csv" in page


def test_drift_warnings_are_marked(model, week):
    shifted = week.copy()
    shifted["expected_return"] = "over_13_weeks"
    page = page_of(model, shifted)
    assert "⚠ tydelig ændring" in page
