"""Reasons a consultant reads: faithful to the model's contributions, in Danish unless asked otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from screening.intake import load_contract
from screening.scoring import _reasons
from screening.scoring._reasons import MIN_EFFECT, PHRASES, TOP, describe_one, phrase_table, select


def expected_reasons(effects: np.ndarray, groups: list[str], phrases: list[str]) -> list[str]:
    """The reasons of one form, the slow and obvious way."""
    ranked = sorted(range(len(groups)), key=lambda k: (-effects[k], k))
    up = [k for k in ranked if effects[k] >= MIN_EFFECT][:TOP]
    falling = sorted(range(len(groups)), key=lambda k: (effects[k], k))
    down = [k for k in falling if effects[k] <= -MIN_EFFECT][:TOP]
    return [f"↑ {phrases[k]}" for k in up] + [f"↓ {phrases[k]}" for k in down]


def test_reasons_are_the_largest_contributions_with_their_sign(model, week, week_result):
    """Recomputed from the model's public contributions, form by form, for forms under 13 weeks."""
    from screening.intake import RawTable, validate_table

    ranked = week_result.ranked.set_index("case_id")
    valid = validate_table(RawTable(week, np.arange(2, len(week) + 2))).valid
    valid = valid[valid["sick_weeks"] < 13].iloc[:400]
    estimator = model.estimator
    contributions = estimator.contributions(valid.reindex(columns=estimator.encoder_.feature_names_in_), horizon=13)
    groups = list(contributions.columns)
    codes, vocabulary = phrase_table(groups, valid)
    for position, case_id in enumerate(valid["case_id"]):
        effects = contributions.iloc[position].to_numpy()
        expected = expected_reasons(effects, groups, [vocabulary[code] for code in codes[position]])
        written = ranked.loc[case_id, "reasons"]
        assert (written.split("; ") if written else []) == expected, case_id
    assert len(valid) > 300


def test_reasons_read_in_danish_by_default(week_result):
    text = " ".join(week_result.ranked["reasons"].head(200))
    assert "↑" in text and "↓" in text
    assert any(word in text for word in ("uger", "år gammel", "arbejde", "diagnose"))
    assert "weeks" not in text and "aged" not in text


def test_reasons_in_english_on_request(model, week):
    ranked = model.score(week, language="en").ranked
    text = " ".join(ranked["reasons"].head(200))
    assert any(word in text for word in ("weeks", "aged", "job", "diagnosis"))
    assert "uger" not in text
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
    from screening.scoring._reasons import GROUP_SOURCES, RANGES, VALUES, WITH_DIAGNOSIS

    described = set(PHRASES) | set(RANGES) | set(VALUES)
    for group in model.estimator.contribution_groups_:
        for part in group.split(" x "):
            assert GROUP_SOURCES.get(part, part) in described, group
    assert set(WITH_DIAGNOSIS) == set(PHRASES["diagnosis_group"])


def test_one_form_is_described_exactly_as_in_the_batch(model, week):
    from screening.intake import RawTable, validate_table

    valid = validate_table(RawTable(week, np.arange(2, len(week) + 2))).valid.iloc[:300]
    groups = [*model.estimator.contribution_groups_, "sex", "sick_weeks x expected_return"]
    for language in ("da", "en"):
        codes, phrases = phrase_table(groups, valid, language)
        for position, row in enumerate(valid.to_dict("records")):
            values = {key: (None if value is None or value != value else value) for key, value in row.items()}
            for k, group in enumerate(groups):
                assert describe_one(group, values, language) == phrases[codes[position, k]], (group, values[
                    _reasons._source(group.split(" x ")[0])])


def test_small_effects_are_not_reasons_and_ties_go_to_the_earlier_group():
    effects = np.array([[0.2, 0.2, 0.01, -0.04, -0.3, 0.5, -0.3]])
    chosen = select(effects)
    assert chosen.up[0].tolist() == [5, 0, 1]
    assert chosen.down[0].tolist() == [4, 6, -1]


def test_forms_past_13_weeks_are_explained_at_their_horizon_without_their_weeks_absent(model, week_result):
    ranked = week_result.ranked
    past = ranked[ranked["queue"] == "late"]
    assert len(past) > 0 and (past["horizon"] > 13).all()
    assert not past["reasons"].str.contains("allerede sygemeldt").any()  # the queue says it
    assert not past["reasons"].str.contains("sygemeldt 13 uger eller mere, da skemaet kom").any()


def _select_by_sorting(values, top, min_effect):
    """The selection as a stable sort of every row defines it (the reference for the fast version)."""
    n = len(values)
    rows = np.arange(n)[:, None]
    down = np.argsort(values, axis=1, kind="stable")[:, :top]
    up = np.argsort(-values, axis=1, kind="stable")[:, :top]
    return (np.where(values[rows, up] >= min_effect, up, -1), np.where(values[rows, down] <= -min_effect, down, -1))




@settings(max_examples=max(200, settings.default.max_examples), deadline=None)
@given(values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
                         elements=st.sampled_from([-0.3, -0.05, -0.049, 0.0, 0.049, 0.05, 0.3, 1.2, -1.2])),
       top=st.integers(1, 4))
def test_selection_is_the_stable_sort_s_even_with_ties(values, top):
    from screening.scoring._reasons import select

    chosen = select(values, top=top)
    up, down = _select_by_sorting(values, min(top, values.shape[1]), 0.05)
    np.testing.assert_array_equal(chosen.up, up)
    np.testing.assert_array_equal(chosen.down, down)
