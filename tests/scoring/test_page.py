"""The weekly page: whom to call first, both queues, refusals in words, the model's facts inside, nothing fetched.

Escaped for a browser (never for a spreadsheet), the same bytes every time.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.scoring import render_page
from screening.synthetic import simulate_cohort
from tests.conftest import form

METADATA = Path(__file__).resolve().parents[1] / "data" / "model_0_1_0" / "model" / "metadata.json"


def page_of(model, forms: pd.DataFrame, **options) -> str:
    return render_page(model.score(forms, **{k: v for k, v in options.items() if k in ("capacity", "per")}),
                       **{k: v for k, v in options.items() if k not in ("capacity", "per")})


def late_week(rows: int, seed: int, *, invalid_share: float = 0.0, late_share: float = 0.2) -> pd.DataFrame:
    """Simulated forms, ``late_share`` of them received after week 13 (weeks given, first sick day blank)."""
    forms = simulate_cohort(rows, seed=seed, invalid_share=invalid_share).forms.copy()
    rng = np.random.default_rng(seed)
    late = rng.permutation(rows)[: round(late_share * rows)]
    forms.loc[late, "sick_weeks"] = rng.choice(["13", "14.5", "17", "21.9", "22", "30", "45", "52"], len(late))
    forms.loc[late, "sick_leave_start"] = None
    return forms


def section(page: str, name: str) -> str:
    """The HTML of one section of the page."""
    start = page.index(f'<section id="{name}-section">')
    return page[start:page.index("</section>", start)]


def text_of(fragment: str) -> str:
    """What a reader sees of some HTML (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_text_from_the_file_is_escaped_for_the_browser_and_never_for_a_spreadsheet(model):
    forms = pd.DataFrame([
        form(case_id="K-1", jobcenter='<script>alert("x")</script>'),
        form(case_id="K-2", jobcenter="=HYPERLINK(\"http://evil\")"),
        form(case_id="K-3", sex="<img src=x onerror=alert(1)>"),
        form(case_id="K-4", jobcenter="@SUM(1)</td></tr></table><b>"),
        form(case_id="K-5", sick_weeks="-2"),
        form(case_id="K-6", jobcenter="+45 Nord"),
    ])
    page = page_of(model, forms, capacity=2)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script") == 2  # the summary data and the page's own script, nothing else
    shown = text_of(page[:page.rindex("<script")])
    assert '=HYPERLINK("http://evil")' in shown and "@SUM(1)</td></tr></table><b>" in shown and "+45 Nord" in shown
    assert "-2" in text_of(section(page, "refused"))
    assert not re.search(r"'[=+\-@]", shown), "a spreadsheet guard reached the page"


def test_the_call_list_comes_first_and_the_refused_count_links_to_the_refusals_lower_down(model, week):
    page = page_of(model, week, capacity=3, per="jobcenter")
    order = re.findall(r'<section id="([a-z]+)-section">', page)
    assert order == ["calls", "early", "late", "refused", "distribution", "drift", "model"]
    header = page[page.index("<header>"):page.index("</header>")]
    link = re.search(r'<a id="refused-link"[^>]*href="#refused-section"[^>]*>([^<]*)</a>', header)
    refused = model.score(week).summary["refused"]
    assert refused > 10 and link and f"{refused} skemaer er afvist" in link.group(1)
    assert header.index("refused-link") < header.index("skemaer læst")  # right under the title


def test_the_call_list_holds_the_marked_forms_per_jobcenter_with_their_reasons(model, week):
    result = model.score(week, capacity=3, per="jobcenter")
    calls = section(render_page(result), "calls")
    marked = result.ranked[result.ranked["contact_this_week"].fillna(False).astype(bool)]
    assert set(re.findall(r'<td class="id">([^<]*)</td>', calls)) == set(marked["case_id"])
    groups = re.findall(r'<tr class="group"[^>]*><th colspan="\d+">([^<]*) · (\d+) at ringe til</th>', calls)
    expected = marked.groupby(marked["jobcenter"].fillna("(uden jobcenter)"), sort=False).size()
    assert {name: int(count) for name, count in groups} == expected.to_dict()
    assert [name for name, _ in groups][-1] == "(uden jobcenter)"  # forms without one, last
    first = marked.iloc[0]
    assert html.escape(first["reasons"].split("; ")[0], quote=True) in calls


def test_the_questions_worth_asking_are_in_the_call_list(model, week):
    result = model.score(week.head(300), capacity=2)
    result.ranked["questions"] = np.where(result.ranked["contact_this_week"], "Spørg til: arbejdsevne; behandling",
                                          "")
    calls = section(render_page(result), "calls")
    assert '<th data-key="questions">Spørg til</th>' in calls
    assert calls.count('<td class="questions">arbejdsevne<br>behandling</td>') == 2
    assert "Spørg til" not in render_page(result.__class__(result.ranked.drop(columns="questions"), result.refused,
                                                           result.summary, result.drift))  # a list without them


def test_without_a_capacity_nobody_is_marked_and_the_page_says_so(model, week):
    calls = section(page_of(model, week), "calls")
    assert "ingen er markeret" in calls and '<table id="calls"' not in calls


@pytest.mark.parametrize("seed", [3, 19])
def test_the_late_queue_is_apart_and_never_shows_certainty(model, seed):
    forms = late_week(600, seed=seed)
    result = model.score(forms, capacity=5)
    page = render_page(result)
    early, late = section(page, "early"), section(page, "late")
    ranked = result.ranked
    late_ids = set(ranked.loc[ranked["queue"] == "late", "case_id"])
    assert len(late_ids) > 60
    assert set(re.findall(r'<td class="id">([^<]*)</td>', late)) == late_ids
    assert not late_ids & set(re.findall(r'<td class="id">([^<]*)</td>', early))
    assert "Allerede sygemeldt i 13 uger eller mere" in late
    assert "100,0 %" not in page and "risiko for over 22 uger" in late and "risiko for over 52 uger" in late
    rows = re.findall(r"<tr data-order[^>]*>(.*?)</tr>", late)
    no_horizon = ranked.loc[ranked["queue"] == "late", "horizon"].isna().sum()
    assert no_horizon > 0 and sum("ingen risiko beregnet" in row for row in rows) == no_horizon
    assert 'data-key="contact"' not in late  # no contact slot in the late queue
    at_22 = ranked.index[ranked["horizon"] == 22][0]
    ranked.loc[at_22, "risk"] = 0.99996  # a form a day short of week 22: not certain, and not shown as such
    assert "100,0 %" not in render_page(result) and "&gt; 99,9 %" in section(render_page(result), "late")


def test_the_filter_offers_forms_without_a_jobcenter(model, week):
    page = page_of(model, week)
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', section(page, "early"))
    assert options[0] == ("all", "Alle") and options[-1] == ("none", "(uden jobcenter)")
    assert page.count('data-jobcenter="none"') == model.score(week).ranked["jobcenter"].isna().sum() > 0


def test_refusals_name_fields_in_words(model):
    forms = pd.DataFrame([form(case_id="K-1", physical_load="meget hård"),
                          form(case_id="K-2", prior_sick_weeks_12m="mange"),
                          form(case_id="K-3", age="")])
    refused = text_of(section(page_of(model, forms), "refused"))
    for raw in ("physical_load", "prior_sick_weeks_12m", "age"):
        assert not re.search(rf"\b{raw}\b", refused), raw
    assert "Fysisk belastning" in refused and "Alder" in refused
    english = text_of(section(page_of(model, forms, language="en"), "refused"))
    assert "physical_load" not in english and "Age" in english


def test_the_models_facts_are_in_the_page_and_nothing_links_to_a_file(model, week, model_dir, tmp_path):
    from screening.scoring import score_file
    from screening.synthetic import write_forms

    metadata = json.loads(METADATA.read_text("utf-8"))
    facts = text_of(section(render_page(model.score(week), model=metadata), "model"))
    for words in ("20261126-d95123c5-additive-s0", "26.11.2026", "3.000 skemaer", "600 nyeste", "0,796",
                  "Tilsigtet brug", "afgør intet"):
        assert words in facts, words
    write_forms(week.head(200), tmp_path / "week.csv")
    score_file(tmp_path / "week.csv", model=model_dir, output=tmp_path / "out" / "ranked.csv",
               report=tmp_path / "out" / "week.html")
    page = (tmp_path / "out" / "week.html").read_text("utf-8")
    assert re.findall(r'href="([^"]*)"', page) == ["#refused-section"]  # the only link stays inside the page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "model_card.md i modelmappen" in text_of(section(page, "model"))
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert policy.startswith("default-src 'none'") and "script-src 'sha256-" in policy


def test_danish_by_default_english_on_request(model, week):
    danish = page_of(model, week, capacity=2)
    assert '<html lang="da">' in danish and "Ring til disse i denne uge" in danish and "Afviste skemaer" in danish
    english = page_of(model, week, capacity=2, language="en")
    assert '<html lang="en">' in english and "Call these this week" in english and "Refused forms" in english
    assert "Ring til" not in english and "Already off sick 13 weeks or more" in english


def test_the_same_result_gives_the_same_page(model):
    forms = late_week(400, seed=23, invalid_share=0.02)
    assert page_of(model, forms, capacity=3, per="jobcenter") == page_of(model, forms, capacity=3, per="jobcenter")


def test_a_huge_week_shows_the_top_of_the_list_and_says_where_the_rest_is(model, week, monkeypatch):
    from screening.scoring import _page

    monkeypatch.setattr(_page, "MAX_ROWS", 50)
    page = page_of(model, week, output_name="uge47.csv")
    assert page.count('<tr data-order="') == 50
    assert "Viser de første 50 af" in section(page, "early") and "uge47.csv" in page


def test_a_long_refusal_list_says_where_the_rest_is(model, week, monkeypatch):
    from screening.scoring import _page

    monkeypatch.setattr(_page, "MAX_REFUSED", 5)
    page = page_of(model, week, rejects_name="uge47_refused.csv")
    assert section(page, "refused").count("<tr><td class=\"num\">") == 5
    assert "Viser de første 5 af" in page and "uge47_refused.csv" in page


def test_drift_warnings_are_marked(model, week):
    shifted = week.copy()
    shifted["expected_return"] = "over_13_weeks"
    drift = section(page_of(model, shifted), "drift")
    row = next(row for row in drift.split("<tr")[1:] if "⚠" in row)
    assert "tydelig ændring" in row and "tilbagevenden" in row  # the field in words, not expected_return
    assert "expected_return" not in drift
