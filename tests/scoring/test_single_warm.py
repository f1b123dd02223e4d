"""A form's first answers cost what known ones do: the scorer's one-off work is done when it is built."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from screening.intake import RefusedFormError, _form
from screening.scoring._single import SingleFormScorer
from tests.conftest import form
from tests.scoring.test_single import assert_same_risks, batch

CODES = ["M54.5", "F32.1", "C50.9", "S52.5", "I10", "Z76.8", "A00.1", "T14.9", "G35"]


@pytest.fixture(scope="module")
def scorer(model):
    return SingleFormScorer(model.estimator)


def spellings(code: str) -> list[str]:
    compact = code.replace(".", "")
    return [code, code.lower(), compact, "D" + compact, f" {code} ", f"  D{compact}"]


def test_first_forms_after_building_parse_and_import_nothing(scorer, monkeypatch):
    """Every ICD-10 code in its usual spellings, padded or not, is known before the first form."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("a cell was parsed while scoring a form")

    def no_checking(*args, **kwargs):
        raise AssertionError("a value was checked with pandera while scoring a form")

    monkeypatch.setattr(_form, "_parse_column", no_parsing)
    monkeypatch.setattr(scorer.validator, "_check_many", no_checking)
    modules = set(sys.modules)
    memo = scorer.estimator.hazard_.memo()
    tables = {key for key in memo if key[0] in ("periods", "periods warmed", "reference")}
    for code in CODES:
        for spelling in spellings(code):
            for weeks in ("4", "15", "30"):  # explained at 13, 22 and 52 weeks
                valid = scorer.validator.validate(form(diagnosis_code=spelling, sick_weeks=weeks, sick_leave_start=None))
                assert valid.fast, f"{spelling!r} went to the full validator"
                scorer.score(valid.values, version="test", language="da")
    assert set(sys.modules) == modules
    assert {key for key in memo if key[0] in ("periods", "periods warmed", "reference")} == tables


@pytest.mark.parametrize("name, spelling", [
    ("diagnosis_code", " M54.5 "), ("diagnosis_code", "  dm545"), ("diagnosis_code", "M54.5\t"),
    ("diagnosis_code", "\u00a0M54.5"), ("diagnosis_code", " M99.99 "), ("age", " 45 "), ("age", " 4 5 "),
    ("physical_load", "  hård "), ("weekly_hours", " 37,5"), ("sick_weeks", " 4 "), ("expected_return", " soon "),
    ("form_received", " 2026-11-16 "), ("partial_sick_leave", "  "),
])
def test_padded_cells_are_read_as_the_batch_reads_them(model, name, spelling):
    values = form(**{name: spelling})
    expected = batch(model, values)
    try:
        score = model.score_one(values)
    except RefusedFormError as refused:
        assert isinstance(expected, list) and expected
        assert sorted((reason["column"], reason["kind"]) for reason in refused.reasons) == expected
        return
    assert not isinstance(expected, list), f"scored alone but refused in a batch: {expected}"
    row = expected.iloc[0]
    assert_same_risks(score, row)
    assert score.reasons_text == row["reasons"]


def test_the_warm_scorer_gives_the_numbers_of_a_cold_one(model, scorer):
    """Answers remembered in bulk encode as the model's encoder encodes each form alone."""
    for code in CODES:
        values = scorer.validator.validate(form(diagnosis_code=code)).values
        warm = scorer.encode(values)
        cold = scorer._encode_cold(values)
        np.testing.assert_array_equal(warm, cold)
