"""Reasons a consultant reads, and the questions worth asking: true to the model, in Danish unless asked otherwise.

A reason names one answer (a factor: a main effect with its interactions), is never a
blank or a question that does not apply, moves the risk the form is ranked by by at
least ``MIN_EFFECT_PP`` points, and points the way the answer itself points.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from screening.intake import RawTable, RefusedFormError, load_contract, validate_table
from screening.scoring import _reasons
from screening.scoring._reasons import (
    MIN_EFFECT_PP, PHRASES, RANGES, TOP, TOP_QUESTIONS, VALUES, WITH_DIAGNOSIS, describe_one, merge, phrase_table,
    plan_of, risk_moved, select,
)
from screening.synthetic import simulate_cohort
from tests.conftest import form

#: Every phrase that describes a blank answer, in Danish.
BLANK_PHRASES = ({table[None][0] for table in PHRASES.values()} | {spec[2][0] for spec in RANGES.values()}
                 | {spec[1][0] for spec in VALUES.values()} | {WITH_DIAGNOSIS[None][0]})
#: Inputs of a group, by their names in the encoded forms (the test's own reading of the model's groups).
GROUP_INPUTS = {"diagnosis": ("diagnosis_group", "diagnosis_chapter"), "weeks_absent": ("sick_weeks",)}
#: Questions that do not apply, by the answer that makes them not apply (the contract's rule, written out).
NOT_APPLYING = {"unemployed": ("employer_contact", "weekly_hours"), "self_employed": ("employer_contact",)}
#: Effects this small are rounding (the sum of a dozen contributions of the typical form itself).
TINY = 1e-9


def split(cell: object) -> list[str]:
    return [part for part in str(cell).split("; ") if part] if isinstance(cell, str) else []


def valid_forms(forms: pd.DataFrame) -> pd.DataFrame:
    return validate_table(RawTable(forms, np.arange(2, len(forms) + 2))).valid


def blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def typed_values(row: pd.Series) -> dict:
    return {key: (None if blank(value) else value) for key, value in row.items()}


# --- the slow and obvious way: one form at a time, from the model's public contributions ------------


class Oracle:
    """Reasons of one form recomputed from ``RiskModel.contributions`` and ``contributions_encoded``."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self.names = estimator.encoder_.get_feature_names_out().tolist()
        self.reference = np.asarray(estimator.reference_, dtype=float)

    def columns(self, group: str) -> list[int]:
        return [self.names.index(name) for name in GROUP_INPUTS.get(group, (group,)) if name in self.names]

    def hybrid(self, X: np.ndarray, entry: float, columns: list[int], horizon: float, *,
               weeks: bool) -> tuple[np.ndarray, float]:
        """The typical form with ``columns`` taken from the form, and the week it is valued from."""
        hybrid = self.reference.copy()
        hybrid[columns] = X[columns]
        start = entry if weeks else min(self.reference[self.names.index("sick_weeks")], np.nextafter(horizon, 0))
        return hybrid, start

    def value(self, X: np.ndarray, entry: float, columns: list[int], horizon: float, *, weeks: bool) -> float:
        """-log Λ of the typical form with ``columns`` taken from the form, relative to the typical form."""
        hybrid, start = self.hybrid(X, entry, columns, horizon, weeks=weeks)
        return float(self.estimator.contributions_encoded(hybrid[None, :], np.array([start]),
                                                          horizon=horizon).sum())

    def own_effect(self, X, entry, group, horizon, *, also=(), within=()) -> float:
        """The effect of the group's answer alone on the typical form (``also``: groups that go with it;
        ``within``: groups held at the form's answers on both sides)."""
        weeks = group == "weeks_absent"
        mine = [j for g in (group, *also) for j in self.columns(g)]
        context = [j for g in within for j in self.columns(g)]
        own = (self.value(X, entry, mine + context, horizon, weeks=weeks)
               - self.value(X, entry, context, horizon, weeks=False))
        return 0.0 if abs(own) < TINY else own  # the typical answer itself: no effect (up to rounding)

    def reasons(self, values: dict, X: np.ndarray, entry: float, contributions: dict[str, float], risk: float,
                horizon: float) -> list[str]:
        factors = {group: [c, 0.0, None] for group, c in contributions.items() if " x " not in group}
        for group, c in contributions.items():
            if " x " in group:  # load x diagnosis: physical load's, unless the diagnosis is not given
                if blank(values.get("diagnosis_group")):
                    factors["diagnosis"][0] += c
                else:
                    factors["physical_load"][1] += c
                    factors["physical_load"][2] = group
        governed = list(NOT_APPLYING.get(values.get("employment_status"), ()))
        for group in governed:
            main, joined, _ = factors.pop(group)
            factors["employment_status"][0] += main + joined
        source = {"diagnosis": "diagnosis_group", "weeks_absent": "sick_weeks"}
        if horizon != 13:
            factors.pop("weeks_absent")
        order = [group for group in contributions if group in factors]
        effects = []
        for group in order:
            main, joined, lead = factors[group]
            if blank(values.get(source.get(group, group))):
                continue
            total = main + joined
            moved = 100 * (risk - np.exp(np.log(risk) * np.exp(total)))
            both = lead is not None and joined != 0 and (abs(joined) > abs(main) or np.sign(joined) != np.sign(main))
            also = governed if group == "employment_status" else ()
            own = self.own_effect(X, entry, group, horizon, also=also, within=("diagnosis",) if both else ())
            if abs(moved) >= MIN_EFFECT_PP and own != 0 and np.sign(own) == np.sign(total):
                effects.append((moved, order.index(group), lead if both else group))
        up = sorted((e for e in effects if e[0] > 0), key=lambda e: (-e[0], e[1]))[:TOP]
        down = sorted((e for e in effects if e[0] < 0), key=lambda e: (e[0], e[1]))[:TOP]
        return ([f"↑ {describe_one(group, values)}" for _, _, group in up]
                + [f"↓ {describe_one(group, values)}" for _, _, group in down])


def test_reasons_are_the_factors_moving_the_ranked_risk_most_the_way_their_answer_points(model, week, week_result):
    """Recomputed one form at a time from the model's public contributions, in both queues."""
    estimator = model.estimator
    oracle = Oracle(estimator)
    ranked = week_result.ranked.set_index("case_id")
    valid = valid_forms(week)
    valid = pd.concat([valid.iloc[:220], valid.iloc[220:][valid["sick_weeks"].iloc[220:] >= 13]])
    frame = valid.reindex(columns=estimator.encoder_.feature_names_in_)
    X, entry = estimator.encode(valid)
    risks = estimator.predict_risk(valid)
    by_horizon = {h: estimator.contributions(frame, horizon=h) for h in (13, 22, 52)}
    checked = {"early": 0, "late": 0}
    for position, (case_id, row) in enumerate(zip(valid["case_id"], valid.itertuples(index=False))):
        weeks = float(row.sick_weeks)
        horizon = next((h for h in (13, 22, 52) if weeks < h), None)
        if horizon is None:
            continue
        contributions = by_horizon[horizon].iloc[position].to_dict()
        expected = oracle.reasons(typed_values(valid.iloc[position]), X[position], weeks, contributions,
                                  float(risks[f"risk_{horizon}"].iloc[position]), float(horizon))
        assert split(ranked.loc[case_id, "reasons"]) == expected, case_id
        checked["early" if horizon == 13 else "late"] += 1
    assert checked["early"] > 200 and checked["late"] > 20


def test_a_blank_answer_is_never_a_reason_but_may_be_a_question(model, week_result):
    ranked = week_result.ranked
    reasons = [reason for cell in ranked["reasons"] for reason in split(cell)]
    assert reasons and not [reason for reason in reasons if any(phrase in reason for phrase in BLANK_PHRASES)]
    questions = ranked["questions"].fillna("")
    asked = questions[questions != ""]
    assert len(asked) > 50  # a week of forms has blanks worth asking about
    assert asked.str.startswith("Spørg til: ").all()
    labels = {load_contract().fields[name].label_da for name in load_contract().fields}
    for cell in asked:
        named = cell.removeprefix("Spørg til: ").split("; ")
        assert 1 <= len(named) <= TOP_QUESTIONS and len(set(named)) == len(named)
        assert set(named) <= labels


def test_questions_name_only_blank_answers_that_apply(model, week, week_result):
    valid = valid_forms(week).set_index("case_id")
    ranked = week_result.ranked.set_index("case_id")
    fields = load_contract().fields
    label_of = {fields[name].label_da: name for name in fields}
    asked = 0
    for case_id, cell in ranked["questions"].items():
        for label in split(str(cell).removeprefix("Spørg til: ")):
            column = label_of[label]
            answers = typed_values(valid.loc[case_id])
            assert blank(answers[column]), (case_id, column)
            assert column not in NOT_APPLYING.get(answers["employment_status"], ()), (case_id, column)
            asked += 1
    assert asked > 100


def test_the_question_that_could_move_the_risk_most_comes_first(model):
    """A blank expected return (own expectation: the strongest answer on the form) is asked before a blank
    number of hours (no effect in the simulated population)."""
    score = model.score_one(form(expected_return=None, weekly_hours=None, case_id="Q-1"))
    assert score.questions and score.questions[0] == "egen forventning om tilbagevenden"
    assert "ugentlige timer" not in score.questions[:1]
    assert score.questions_text() == "Spørg til: " + "; ".join(score.questions)
    english = model.score_one(form(expected_return=None, case_id="Q-1"), language="en")
    assert english.questions[0] == "own expectation of return"
    assert not model.score_one(form(case_id="Q-2")).questions  # nothing blank: nothing to ask


def test_questions_that_do_not_apply_are_neither_reasons_nor_questions(model, week, week_result):
    """An unemployed person has no employer to talk to and no contracted hours; the self-employed no employer."""
    valid = valid_forms(week).set_index("case_id")
    ranked = week_result.ranked.set_index("case_id")
    status = valid["employment_status"].astype(object).reindex(ranked.index)
    words = {"employer_contact": ("arbejdsgiver",), "weekly_hours": ("timer om ugen", "fuld tid", "arbejdstid",
                                                                     "ugentlige timer")}
    checked = 0
    for answer, columns in NOT_APPLYING.items():
        for case_id in status.index[status == answer]:
            text = f"{ranked.loc[case_id, 'reasons']} {ranked.loc[case_id, 'questions']}"
            assert not [word for column in columns for word in words[column] if word in text], (case_id, text)
            checked += 1
    assert checked > 100
    for values in (form(employment_status="ledig", employer_contact=None, weekly_hours=None),
                   form(employment_status="ledig", employer_contact="ja", weekly_hours="37"),
                   form(employment_status="selvstændig", employer_contact=None)):
        score = model.score_one(values)
        assert not any(reason.group in ("employer_contact", "weekly_hours") for reason in score.reasons)
        assert not {"kontakt med arbejdsgiver"} & set(score.questions)
    employed = model.score_one(form(employer_contact=None, case_id="E-1"))  # blank for an employee: not stated
    assert not any(reason.group == "employer_contact" for reason in employed.reasons)


def test_one_phrase_per_factor(model, week_result):
    """A main effect and its interaction are one factor: never both, and no phrase twice for a form."""
    for cell in week_result.ranked["reasons"]:
        texts = [reason[2:] for reason in split(cell)]
        assert len(set(texts)) == len(texts)
        assert not [(a, b) for a in texts for b in texts if a != b and b.startswith(a + " ")], texts


def test_an_interaction_is_named_only_when_it_drives_its_factor():
    groups = ("physical_load", "diagnosis", "diagnosis x physical_load")
    plan = plan_of(groups)
    assert plan.factors == ("physical_load", "diagnosis")
    contributions = np.array([
        [0.30, 0.0, 0.05],   # the main effect leads: "stillesiddende arbejde"
        [0.05, 0.0, 0.30],   # the interaction leads: "... med en diagnose i ryg, muskler eller led"
        [0.20, 0.0, -0.05],  # opposite signs: both parts
        [0.20, 0.1, 0.40],   # the diagnosis is not given: the interaction's effect is the blank's
    ])
    blank = np.zeros((4, 2), dtype=bool)
    blank[3, 1] = True
    factors = merge(contributions, plan, blank, np.zeros_like(blank))
    np.testing.assert_allclose(factors.values[:, 0], [0.35, 0.35, 0.15, 0.20])
    np.testing.assert_allclose(factors.values[:, 1], [0.0, 0.0, 0.0, 0.50])
    assert factors.both_parts[:, 0].tolist() == [False, True, True, False]


def test_a_question_that_does_not_apply_passes_its_effect_to_the_answer_that_governs_it():
    groups = ("employment_status", "employer_contact", "weekly_hours")
    plan = plan_of(groups)
    contributions = np.array([[0.2, 0.1, 0.05], [0.2, 0.1, 0.05]])
    inapplicable = np.array([[False, True, True], [False, False, False]])
    factors = merge(contributions, plan, np.zeros_like(inapplicable), inapplicable)
    np.testing.assert_allclose(factors.values, [[0.35, 0.0, 0.0], [0.2, 0.1, 0.05]])


def test_the_threshold_is_on_the_risk_scale():
    """One contribution, two forms: 0.07 moves a risk of 0.40 by 2.6 points, one of 0.95 by 0.4."""
    values = np.array([[0.07], [0.07], [-0.07]])
    risk = np.array([0.40, 0.95, 0.40])
    moved = risk_moved(values, risk)
    cumulative = -np.log(risk)
    np.testing.assert_allclose(moved[:, 0], 100 * (risk - np.exp(-cumulative * np.exp(values[:, 0]))))
    assert moved[0, 0] > MIN_EFFECT_PP > moved[1, 0] > 0 and moved[2, 0] < -MIN_EFFECT_PP
    chosen = select(values, risk=risk)
    assert chosen.up[:, 0].tolist() == [0, -1, -1] and chosen.down[:, 0].tolist() == [-1, -1, 0]
    assert select(values, risk=np.array([np.nan, np.nan, np.nan])).up.max() == -1  # no risk left: nothing


def _select_by_sorting(moved, top, min_pp):
    """The selection as a stable sort of every row defines it (the reference for the fast version)."""
    rows = np.arange(len(moved))[:, None]
    down = np.argsort(moved, axis=1, kind="stable")[:, :top]
    up = np.argsort(-moved, axis=1, kind="stable")[:, :top]
    return np.where(moved[rows, up] >= min_pp, up, -1), np.where(moved[rows, down] <= -min_pp, down, -1)


@settings(max_examples=max(200, settings.default.max_examples), deadline=None)
@given(values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
                         elements=st.sampled_from([-0.3, -0.05, -0.049, 0.0, 0.049, 0.05, 0.3, 1.2, -1.2])),
       risk=st.sampled_from([0.05, 0.33, 0.6, 0.9]), top=st.integers(1, 4))
def test_selection_is_the_stable_sort_s_even_with_ties(values, risk, top):
    risks = np.full(len(values), risk)
    chosen = select(values, risk=risks, top=top)
    up, down = _select_by_sorting(risk_moved(values, risks), min(top, values.shape[1]), MIN_EFFECT_PP)
    np.testing.assert_array_equal(chosen.up, up)
    np.testing.assert_array_equal(chosen.down, down)


@settings(max_examples=max(100, settings.default.max_examples), deadline=None)
@given(n=st.integers(0, 300), width=st.integers(0, 6), texts=st.integers(1, 5), seed=st.integers(0, 2**16),
       ordered=st.booleans())
def test_cells_are_assembled_once_per_distinct_combination_and_taken_in_order(n, width, texts, seed, ordered):
    """A reasons or questions cell depends only on its row's codes: assembling each distinct row once and
    taking the cells from those gives every cell, in the working order, whatever the text chunk size."""
    rng = np.random.default_rng(seed)
    words = [f"tekst {k} æøå" for k in range(texts)]
    slots = [rng.integers(-1, texts, n) for _ in range(width)]
    order = rng.permutation(n) if ordered else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_reasons, "TEXT_CHUNK", 37)
        cells = _reasons._joined_slots(slots, words, n, first_prefix="Spørg til: ", order=order).to_pylist()
    rows = np.arange(n) if order is None else order
    expected = []
    for row in rows.tolist():
        chosen = [words[column[row]] for column in slots if column[row] >= 0]
        expected.append(("Spørg til: " if chosen else "") + "; ".join(chosen))
    assert cells == expected


# --- the property of issue 11: no phrase says the opposite of what its answer does -------------------


def _own_effects_agree(model, forms: pd.DataFrame) -> tuple[int, int]:
    """Every single-answer reason of ``score_one`` points the way the answer alone moves the typical form.

    The answer's own effect is :meth:`Oracle.own_effect`'s, computed from the model's
    risks alone: -log Λ of the typical form with the answer, less that of the typical
    form (what the contributions of the typical form with the answer add up to, to
    1e-15 on both families), every form of a horizon in one call, not from the
    attribution the reasons come from.
    Returns the reasons checked and the forms scored.
    """
    estimator = model.estimator
    oracle = Oracle(estimator)
    valid = valid_forms(forms)
    X, entry = estimator.encode(valid)
    asked = []  # (reason, the form's answers, horizon, [(hybrid, start) with the answer, and without])
    for position, row in enumerate(valid.to_dict("records")):
        values = {key: (None if blank(value) else value) for key, value in row.items()}
        score = model.score_one({key: value for key, value in values.items() if value is not None})
        if score.horizon is None:
            continue
        for reason in score.reasons:
            if " x " in reason.group:
                continue
            also = NOT_APPLYING.get(values.get("employment_status"), ()) if reason.group == "employment_status" else ()
            mine = [j for group in (reason.group, *also) for j in oracle.columns(group)]
            horizon = float(score.horizon)
            asked.append((reason, values, horizon,
                          [oracle.hybrid(X[position], float(entry[position]), mine, horizon,
                                         weeks=reason.group == "weeks_absent"),
                           oracle.hybrid(X[position], float(entry[position]), [], horizon, weeks=False)]))
    valued = {}
    for horizon in {horizon for _, _, horizon, _ in asked}:
        pairs = [pair for _, _, h, pair in asked if h == horizon]
        hybrids = np.array([hybrid for pair in pairs for hybrid, _ in pair])
        starts = np.array([start for pair in pairs for _, start in pair])
        hybrids[:, oracle.names.index("sick_weeks")] = starts  # as the form is valued from its start
        risk = estimator.risks_encoded(hybrids, starts, horizons=[horizon])[:, 0]
        valued[horizon] = iter(-np.log(-np.log(risk)))
    for reason, values, horizon, _ in asked:
        own = float(next(valued[horizon])) - float(next(valued[horizon]))
        own = 0.0 if abs(own) < TINY else own  # the typical answer itself: no effect (up to rounding)
        assert own * (1 if reason.direction == "up" else -1) > 0, (reason, own, values)  # 0: not named
    return len(asked), len(valid)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_no_reason_points_against_its_own_answer_additive(model, seed):
    checked, scored = _own_effects_agree(model, simulate_cohort(250, seed=seed).forms)
    assert checked > 2 * scored


@pytest.mark.parametrize("seed", [41, 42])
def test_no_reason_points_against_its_own_answer_boosted(boosted, seed):
    checked, scored = _own_effects_agree(boosted, simulate_cohort(120, seed=seed).forms)
    assert checked > scored


def test_expecting_to_be_back_soon_never_raises_the_risk(model, week_result):
    """The answer the issue found as "↑": it never shows as raising a risk it lowers on its own (or, being the
    typical answer, does not move at all)."""
    estimator = model.estimator
    oracle = Oracle(estimator)
    names = oracle.names
    X = estimator.reference_.copy()
    X[names.index("expected_return")] = estimator.encoder_.categories_[names.index("expected_return")].index(
        "within_4_weeks")
    own = oracle.own_effect(X, float(X[names.index("sick_weeks")]), "expected_return", 13.0)
    phrase = "↑ forventer at være tilbage inden for 4 uger"
    if own <= 0:
        assert not week_result.ranked["reasons"].str.contains(phrase, regex=False).any()


# --- words -----------------------------------------------------------------------------------------


def test_reasons_read_in_danish_by_default(week_result):
    text = " ".join(week_result.ranked["reasons"].head(200))
    assert "↑" in text and "↓" in text
    assert any(word in text for word in ("uger", "år gammel", "arbejde", "diagnose"))
    assert "weeks" not in text and "aged" not in text


def test_reasons_and_questions_in_english_on_request(model, week):
    ranked = model.score(week, language="en").ranked
    text = " ".join(ranked["reasons"].head(200))
    assert any(word in text for word in ("weeks", "aged", "job", "diagnosis"))
    assert "uger" not in text
    asked = ranked["questions"][ranked["questions"] != ""]
    assert len(asked) and asked.str.startswith("Ask about: ").all()
    assert ranked["priority"].isin(["high", "medium", "low"]).all()  # codes stay as the contract has them


def test_heavy_job_with_a_back_diagnosis_reads_as_one_reason():
    forms = _typed({"physical_load": 4, "diagnosis_group": "musculoskeletal"})
    codes, phrases = phrase_table(["diagnosis x physical_load"], forms)
    assert phrases[codes[0, 0]] == "hårdt fysisk arbejde med en diagnose i ryg, muskler eller led"
    codes, phrases = phrase_table(["diagnosis x physical_load"], forms, language="en")
    assert phrases[codes[0, 0]] == "heavy physical job with a back, muscle or joint diagnosis"


def test_expecting_a_long_absence_reads_as_the_person_said_it():
    forms = _typed({"expected_return": "over_13_weeks"})
    codes, phrases = phrase_table(["expected_return"], forms, language="en")
    assert phrases[codes[0, 0]] == "expects to be off more than 13 weeks"


def _typed(values: dict) -> pd.DataFrame:
    dtypes = {"physical_load": "Int64", "age": "Int64", "work_ability": "Int64", "sick_weeks": "float64"}
    return pd.DataFrame({name: pd.Series([value], dtype=dtypes.get(name, "str")) for name, value in values.items()})


def test_every_answer_in_the_contract_has_a_phrase_in_both_languages():
    contract = load_contract()
    for column, table in PHRASES.items():
        spec = contract.fields[column]
        if spec.parse == "boolean":
            expected = {True, False}
        else:
            expected = set(spec.codes or set(spec.labels.values()))
        assert {key for key in table if key is not None} == expected, column
        assert None in table, f"{column}: no phrase for a blank answer"
        assert all(len(pair) == 2 and all(pair) for pair in table.values())


def test_every_group_of_the_model_has_its_own_words(model):
    from screening.scoring._reasons import GROUP_SOURCES

    described = set(PHRASES) | set(RANGES) | set(VALUES)
    for group in model.estimator.contribution_groups_:
        for part in group.split(" x "):
            assert GROUP_SOURCES.get(part, part) in described, group
    assert set(WITH_DIAGNOSIS) == set(PHRASES["diagnosis_group"])


def test_one_form_is_described_exactly_as_in_the_batch(model, week):
    valid = valid_forms(week).iloc[:300]
    groups = [*model.estimator.contribution_groups_, "sex", "sick_weeks x expected_return"]
    for language in ("da", "en"):
        codes, phrases = phrase_table(groups, valid, language)
        for position, row in enumerate(valid.to_dict("records")):
            values = {key: (None if value is None or value != value else value) for key, value in row.items()}
            for k, group in enumerate(groups):
                assert describe_one(group, values, language) == phrases[codes[position, k]], (group, values[
                    _reasons._source(group.split(" x ")[0])])


def test_one_form_is_explained_exactly_as_in_the_batch(model, week, week_result):
    """score_one gives each form's reasons and questions as the week's ranked list does, whatever form it saw
    before (an unemployed person's blank employer contact must not be remembered as an employee's)."""
    ranked = week_result.ranked.set_index("case_id")
    rows = [row for row in week.head(400).to_dict("records")]
    rows.sort(key=lambda row: str(row.get("employment_status")))  # unemployed and employed forms in turn
    checked = 0
    for row in rows:
        values = {key: value for key, value in row.items() if not blank(value)}
        try:
            score = model.score_one(values)
        except RefusedFormError:  # refused alone, as in the file
            continue
        if score.case_id not in ranked.index:
            continue
        assert score.reasons_text == ranked.loc[score.case_id, "reasons"]
        assert score.questions_text() == ranked.loc[score.case_id, "questions"]
        checked += 1
    assert checked > 300


def test_a_model_saved_before_these_rules_explains_by_them(tmp_path):
    """Release 0.1.0's model read "not applicable" as blank; its reasons still never name either."""
    from pathlib import Path

    from screening.scoring import load_model

    data = Path(__file__).resolve().parents[1] / "data" / "model_0_1_0"
    old = load_model(data / "model")
    assert not getattr(old.estimator.encoder_, "not_applicable_", None)
    forms = pd.read_csv(data / "forms.csv", dtype="str", keep_default_na=False, na_values=[""])
    ranked = old.score(forms).ranked
    reasons = [reason for cell in ranked["reasons"] for reason in split(cell)]
    assert reasons and not [reason for reason in reasons if any(phrase in reason for phrase in BLANK_PHRASES)]
    status = valid_forms(forms).set_index("case_id")["employment_status"].astype(object).reindex(ranked["case_id"])
    unemployed = ranked[(status == "unemployed").to_numpy()]
    assert len(unemployed) and not unemployed["reasons"].str.contains("arbejdsgiver").any()
    assert not unemployed["questions"].str.contains(re.escape("kontakt med arbejdsgiver")).any()
