"""Drift: bins frozen from the training data, PSI per input, and a warning only for a
difference larger than the week's size explains (and not trivially small)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.features import (
    FALSE_ALARM_RATE,
    NOT_IN_FILE,
    PSI_MODERATE,
    PSI_WARNING,
    drift_counts,
    drift_p_value,
    drift_reference,
    pool_counts,
    population_stability,
    stability_of_counts,
)
from screening.features._drift import drift_inputs, holm, psi
from tests.scoring.conftest import valid_forms


def mental_week(pool: pd.DataFrame, size: int, share: float, seed: int) -> pd.DataFrame:
    """``size`` forms of ``pool`` of which ``share`` have a mental diagnosis (drawn without replacement)."""
    rng = np.random.default_rng(seed)
    mental = (pool["diagnosis_group"] == "mental").to_numpy(dtype=bool, na_value=False)
    n_mental = round(share * size)
    rows = np.concatenate([rng.choice(np.flatnonzero(mental), n_mental, replace=False),
                           rng.choice(np.flatnonzero(~mental), size - n_mental, replace=False)])
    return pool.iloc[rng.permutation(rows)]


@pytest.fixture(scope="module")
def reference(training_forms):
    return json.loads(json.dumps(drift_reference(training_forms)))  # as stored in a model's metadata


def test_reference_is_json_and_covers_every_answer_of_the_contract(training_forms):
    reference = json.loads(json.dumps(drift_reference(training_forms)))
    assert reference["rows"] == len(training_forms)
    assert set(reference["inputs"]) == set(drift_inputs())
    assert {"age", "sick_weeks", "expected_return", "physical_load", "employer_contact"} <= set(reference["inputs"])
    assert "case_id" not in reference["inputs"] and "jobcenter" not in reference["inputs"]
    assert reference["inputs"]["physical_load"]["categories"] == ["1", "2", "3", "4"]
    for spec in reference["inputs"].values():
        assert math.isclose(sum(spec["shares"]), 1.0) and len(spec["shares"]) == len(spec["labels"])


def test_the_training_data_does_not_drift_from_itself(training_forms):
    drift = population_stability(drift_reference(training_forms), training_forms)
    assert np.allclose(drift["psi"], 0.0) and not drift["warning"].any()


def test_a_shifted_week_is_flagged(training_forms):
    reference = drift_reference(training_forms)
    week = training_forms.copy()
    week["expected_return"] = "over_13_weeks"
    week["age"] = (week["age"] + 15).clip(upper=75)
    week["work_ability"] = pd.array([pd.NA] * len(week), dtype="Int64")  # the field stopped being filled in
    drift = population_stability(reference, week).set_index("input")
    for name in ("expected_return", "age", "work_ability"):
        assert drift.loc[name, "psi"] > PSI_WARNING and drift.loc[name, "warning"], name
        assert drift.loc[name, "level"] == "shift"
    assert drift.loc["work_ability", "blank_share_now"] == 1.0
    assert drift.loc["sex", "psi"] < 0.1
    assert list(drift.index[:3]) != ["sex"]  # largest first


def test_psi_is_the_usual_formula():
    expected, actual = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert math.isclose(psi(expected, actual), (-0.25) * math.log(0.5) + 0.25 * math.log(1.5))
    assert psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])) < 100  # empty bins stay finite


def test_a_small_week_from_the_training_population_does_not_warn(reference):
    for seed in (21, 22, 23, 24, 25):
        week = valid_forms(30, seed=seed)
        drift = population_stability(reference, week)
        assert (drift["psi"] > PSI_WARNING).any(), seed  # the old rule, PSI above 0.25, warned on noise
        assert not drift["warning"].any(), (seed, drift.loc[drift["warning"], "input"].tolist())
        assert set(drift["level"]) == {"stable"} and (drift["n"] == 30).all()


def test_small_weeks_from_the_training_population_rarely_warn(reference):
    forms = pd.concat([valid_forms(1500, seed=seed) for seed in (31, 32, 33, 34)], ignore_index=True)
    weeks = [forms.iloc[start:start + 30] for start in range(0, 6000, 30)]
    warned = sum(bool(population_stability(reference, week)["warning"].any()) for week in weeks)
    assert len(weeks) == 200 and warned / len(weeks) <= 0.10  # about 5 % expected; a loose bound


@pytest.mark.parametrize("seed", [41, 42])
def test_a_week_with_many_more_mental_diagnoses_warns_on_the_diagnosis(reference, seed):
    week = mental_week(valid_forms(1500, seed=seed), 300, 0.60, seed)  # 29 % in the training data
    drift = population_stability(reference, week).set_index("input")
    assert drift.loc["diagnosis_group", "warning"]
    assert drift.loc["diagnosis_group", "p_adjusted"] <= FALSE_ALARM_RATE
    assert drift.loc["diagnosis_group", "level"] in ("moderate", "shift")
    assert drift.index[0] == "diagnosis_group" or drift.iloc[0]["warning"]  # warnings come first


def test_a_large_file_does_not_warn_on_a_trivial_shift(reference):
    pool = valid_forms(24_000, seed=51)
    share = float((reference["inputs"]["diagnosis_group"]["shares"][1]))  # mental
    week = mental_week(pool, 12_000, share + 0.03, seed=51)
    drift = population_stability(reference, week).set_index("input")
    assert drift.loc["diagnosis_group", "p_adjusted"] <= FALSE_ALARM_RATE  # real, and measured precisely
    assert drift.loc["diagnosis_group", "psi"] < PSI_MODERATE  # but small
    assert not drift.loc["diagnosis_group", "warning"] and drift.loc["diagnosis_group", "level"] == "stable"


def test_counts_summed_over_chunks_give_the_same_answer_as_the_whole_week(reference):
    week = valid_forms(130, seed=61)
    whole = population_stability(reference, week)
    chunks = [week.iloc[:7], week.iloc[7:50], week.iloc[50:51], week.iloc[51:]]
    added: dict[str, np.ndarray] = {}
    for chunk in chunks:  # as the batch adds them
        for name, counts in drift_counts(reference, chunk).items():
            added[name] = added.get(name, 0) + counts
    pd.testing.assert_frame_equal(stability_of_counts(reference, added), whole)
    pooled = pool_counts(drift_counts(reference, chunk) for chunk in chunks)
    pd.testing.assert_frame_equal(stability_of_counts(reference, pooled), whole)
    assert (whole["n"] == 130).all()


def test_pooled_weeks_are_tested_as_one_larger_week(reference):
    pool = valid_forms(1500, seed=71)
    weeks = [mental_week(pool.iloc[k * 500:(k + 1) * 500], 25, 0.60, seed=71 + k) for k in range(3)]
    one_week = population_stability(reference, weeks[0]).set_index("input")
    pooled = stability_of_counts(reference, pool_counts(drift_counts(reference, week) for week in weeks))
    pooled = pooled.set_index("input")
    assert (pooled["n"] == 75).all()
    assert pooled.loc["diagnosis_group", "p_value"] < one_week.loc["diagnosis_group", "p_value"]
    assert pooled.loc["diagnosis_group", "warning"]


def test_a_week_without_forms_is_not_judged(reference):
    drift = population_stability(reference, valid_forms(10, seed=81).iloc[:0])
    assert not drift["warning"].any() and set(drift["level"]) == {"no forms"}
    assert (drift["n"] == 0).all() and drift["p_value"].isna().all() and drift["p_adjusted"].isna().all()


def test_the_drift_frame_keeps_its_columns_and_adds_the_test(reference, training_forms):
    drift = population_stability(reference, training_forms.iloc[:40])
    assert list(drift.columns) == ["input", "psi", "level", "warning", "blank_share_training", "blank_share_now",
                                   "labels", "shares_training", "shares_now", "n", "p_value", "p_adjusted"]
    assert drift["warning"].dtype == bool and drift["n"].dtype == np.int64
    assert ((drift["p_value"] > 0) & (drift["p_value"] <= drift["p_adjusted"]) & (drift["p_adjusted"] <= 1)).all()


def test_the_p_value_is_small_only_for_unlikely_counts():
    shares = [0.5, 0.3, 0.2]
    assert drift_p_value("x", shares, [50, 30, 20]) == 1.0  # exactly as expected: every draw is as far
    assert drift_p_value("x", shares, [5, 5, 90]) == pytest.approx(1 / 10_000)  # never drawn
    assert 0.2 < drift_p_value("x", shares, [6, 2, 2]) <= 1.0  # ten forms: this is ordinary
    assert drift_p_value("x", shares, [6, 2, 2]) == drift_p_value("x", shares, np.array([6, 2, 2]))  # seeded
    weeks = np.array([[50, 30, 20], [5, 5, 90], [6, 2, 2], [0, 0, 0]])  # one week per row, any sizes
    assert np.array_equal(drift_p_value("x", shares, weeks)[:3], [drift_p_value("x", shares, w) for w in weeks[:3]])
    assert math.isnan(drift_p_value("x", shares, weeks)[3]) and math.isnan(drift_p_value("x", shares, [0, 0, 0]))


def test_holm_adjusts_step_down_and_skips_untested():
    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    assert np.allclose(adjusted[:3], [0.03, 0.06, 0.06]) and math.isnan(adjusted[3])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=20))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values):
    p = np.array(p_values)
    adjusted = holm(p)
    assert (adjusted >= p - 1e-12).all() and (adjusted <= 1.0).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(adjusted[order]) >= -1e-12).all()


def test_a_column_the_file_does_not_have_is_named_not_in_file_not_drift(reference):
    """A jobcenter's form without the question is not a different population: no warning, no test."""
    week = valid_forms(200, seed=61).assign(sex=pd.NA, employment_status=pd.NA)
    counts = drift_counts(reference, week)
    told = stability_of_counts(reference, counts, absent=["sex", "employment_status", "treatment"]).set_index("input")
    assert set(told.index[told["level"] == NOT_IN_FILE]) == {"sex", "employment_status"}  # treatment was answered
    assert not told.loc[["sex", "employment_status"], "warning"].any()
    assert told.loc[["sex", "employment_status"], ["psi", "p_value", "p_adjusted"]].isna().all().all()
    assert told.loc["treatment", "level"] != NOT_IN_FILE
    # The same blanks in a column the file has: a field that stopped being filled in, which warns.
    blank = stability_of_counts(reference, counts).set_index("input")
    assert blank.loc[["sex", "employment_status"], "warning"].all()
