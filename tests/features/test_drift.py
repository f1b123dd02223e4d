"""Drift: bins frozen from the training data, PSI per input, a warning above 0.25."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from screening.features import PSI_WARNING, drift_reference, population_stability
from screening.features._drift import drift_inputs, psi


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
