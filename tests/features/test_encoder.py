"""FormEncoder reads validated forms into model inputs by the contract's rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.features import AUDIT_ATTRIBUTES, FormEncoder


def forms(n: int = 40, **overrides: object) -> pd.DataFrame:
    """Validated-looking forms, typed as validation types them."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "case_id": pd.Series([f"C{i}" for i in range(n)], dtype="str"),
        "jobcenter": pd.Series(rng.choice(["Aarhus", "Odense"], n), dtype="str"),
        "form_received": pd.to_datetime("2026-01-05") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "sick_weeks": rng.uniform(0, 10, n).round(1),
        "age": pd.array(rng.integers(16, 76, n), dtype="Int64"),
        "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
        "diagnosis_code": pd.Series(rng.choice(["M54.5", "F32.1", "S82.0"], n), dtype="str"),
        "diagnosis_group": pd.Series(["musculoskeletal"] * n, dtype="str"),
        "physical_load": pd.array(rng.integers(1, 5, n), dtype="Int64"),
        "partial_sick_leave": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "work_ability": pd.array(rng.integers(0, 11, n), dtype="Int64"),
        "expected_return": pd.Series(rng.choice(["within_4_weeks", "unknown"], n), dtype="str"),
    })
    for name, value in overrides.items():
        frame[name] = value
    return frame


def test_identifiers_dates_and_audit_attributes_are_not_inputs():
    encoder = FormEncoder().fit(forms())
    names = encoder.get_feature_names_out().tolist()
    assert "case_id" not in names and "form_received" not in names
    assert not set(AUDIT_ATTRIBUTES) & set(names)
    assert names[:3] == ["sick_weeks", "age", "diagnosis_chapter"]


def test_audit_attributes_become_inputs_only_when_asked():
    encoder = FormEncoder(audit_inputs=("sex", "jobcenter")).fit(forms())
    names = encoder.get_feature_names_out().tolist()
    assert {"sex", "jobcenter"} <= set(names)
    assert encoder.categories_[names.index("sex")] == ["F", "M", "X"]
    with pytest.raises(ValueError, match="audit_inputs"):
        FormEncoder(audit_inputs=("age",)).fit(forms())


def test_blank_answers_stay_missing_and_unknown_is_an_answer():
    frame = forms(expected_return=pd.Series(["unknown", None] * 20, dtype="str"),
                  work_ability=pd.array([None, 5] * 20, dtype="Int64"))
    encoder = FormEncoder().fit(frame)
    X = encoder.transform(frame)
    names = encoder.get_feature_names_out().tolist()
    expected = X[:, names.index("expected_return")]
    assert expected[0] == encoder.categories_[names.index("expected_return")].index("unknown")
    assert np.isnan(expected[1])
    assert np.isnan(X[0, names.index("work_ability")]) and X[1, names.index("work_ability")] == 5


def test_diagnosis_code_becomes_its_who_chapter_with_rare_chapters_merged():
    codes = pd.Series(["M54.5"] * 30 + ["F32.1"] * 25 + ["I10"] * 5, dtype="str")
    frame = forms(60, diagnosis_code=codes)
    encoder = FormEncoder(min_frequency=20).fit(frame)
    chapter = encoder.get_feature_names_out().tolist().index("diagnosis_chapter")
    assert encoder.categories_[chapter] == ["V", "XIII", "(other)"]
    X = encoder.transform(forms(3, diagnosis_code=pd.Series(["M54.5", "I10", None], dtype="str")))
    assert X[0, chapter] == 1 and X[1, chapter] == 2 and np.isnan(X[2, chapter])


def test_booleans_are_one_zero_or_missing():
    frame = forms(3, partial_sick_leave=pd.array([True, False, None], dtype="boolean"))
    encoder = FormEncoder(min_frequency=1).fit(frame)
    column = encoder.get_feature_names_out().tolist().index("partial_sick_leave")
    np.testing.assert_array_equal(encoder.transform(frame)[:, column], [1.0, 0.0, np.nan])


def test_a_code_outside_the_contract_is_refused_not_guessed():
    encoder = FormEncoder().fit(forms())
    with pytest.raises(ValueError, match="validate forms first"):
        encoder.transform(forms(expected_return=pd.Series(["soon"] * 40, dtype="str")))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=1, max_size=30),
       st.lists(st.one_of(st.none(), st.sampled_from(["none", "gp", "hospital"])), min_size=1, max_size=30))
def test_any_mix_of_blank_and_given_answers_encodes(work_ability, treatment):
    n = min(len(work_ability), len(treatment))
    frame = forms(n, work_ability=pd.array(work_ability[:n], dtype="Int64"),
                  treatment=pd.Series(treatment[:n], dtype="str"))
    encoder = FormEncoder().fit(frame)
    X = encoder.transform(frame)
    names = encoder.get_feature_names_out().tolist()
    assert X.shape == (n, len(names))
    blank = np.array([value is None for value in treatment[:n]])
    np.testing.assert_array_equal(np.isnan(X[:, names.index("treatment")]), blank)


def test_a_table_encodes_as_its_forms_one_at_a_time_whatever_the_text_dtype():
    """Many forms (distinct answers looked up once) give each form's own encoding, for text held
    by Arrow, by Python, as objects or as categories, blanks, unseen jobcenters and codes without a
    chapter included."""
    n = 300
    rng = np.random.default_rng(4)
    answers = rng.choice(np.array(["within_4_weeks", "unknown", None], dtype=object), n)
    codes = rng.choice(np.array(["M54.5", "F32.1", "S82.0", "I10", "Q99.9", None], dtype=object), n)
    centres = rng.choice(np.array(["Aarhus", "Odense", "Vejle", None], dtype=object), n)
    fitted = FormEncoder(audit_inputs=("jobcenter",), min_frequency=1).fit(forms(n))
    for dtype in ("str", pd.StringDtype("python", na_value=np.nan), object, "category"):
        frame = forms(n, expected_return=pd.Series(answers, dtype=dtype), diagnosis_code=pd.Series(codes, dtype=dtype),
                      jobcenter=pd.Series(centres, dtype=dtype))
        X = fitted.transform(frame)
        alone = np.vstack([fitted.transform(frame.iloc[i : i + 1]) for i in range(n)])
        np.testing.assert_array_equal(X, alone)
        names = fitted.get_feature_names_out().tolist()
        expected_return = X[:, names.index("expected_return")]
        assert np.isnan(expected_return[answers == None]).all()  # noqa: E711
        assert (expected_return[answers == "unknown"] == fitted.categories_[names.index("expected_return")].index("unknown")).all()
        jobcenter = fitted.categories_[names.index("jobcenter")]
        assert (X[centres == "Vejle", names.index("jobcenter")] == jobcenter.index("(other)")).all()
        chapter = X[:, names.index("diagnosis_chapter")]
        assert np.isnan(chapter[codes == None]).all() and not np.isnan(chapter[codes == "M54.5"]).any()  # noqa: E711


# --- questions that do not apply (the contract's applies_unless) ---------------------------------------


def working_situations(n: int = 60) -> pd.DataFrame:
    """Forms of employees, unemployed and self-employed people (and blank statuses), as forms arrive:
    blanks where the question does not apply, and some where it does."""
    rng = np.random.default_rng(1)
    status = np.array(["employed", "unemployed", "self_employed", None] * (n // 4), dtype=object)
    employee = (status == "employed") | pd.isna(status)
    contact = np.where(employee & (rng.random(n) < 0.8), rng.random(n) < 0.6, None)
    hours = np.where(status == "self_employed", 44.0, rng.choice([37.0, 30.0, 20.0], n))
    hours[(status == "unemployed") | (rng.random(n) < 0.15)] = np.nan
    return forms(n, employment_status=pd.Series(status, dtype="str"),
                 employer_contact=pd.array(contact.tolist(), dtype="boolean"), weekly_hours=hours)


def test_the_contract_says_which_questions_do_not_apply():
    rules = FormEncoder.applicability_rules()
    assert rules["employer_contact"] == {"employment_status": ("unemployed", "self_employed")}
    assert rules["weekly_hours"] == {"employment_status": ("unemployed",)}
    assert "partial_sick_leave" not in rules  # an unemployed person can be partly sick-listed


def test_a_question_that_does_not_apply_is_not_a_blank():
    frame = working_situations()
    encoder = FormEncoder().fit(frame)
    X = encoder.transform(frame)
    names = encoder.get_feature_names_out().tolist()
    status = frame["employment_status"].astype(object).to_numpy()
    contact, hours = X[:, names.index("employer_contact")], X[:, names.index("weekly_hours")]
    no_employer = np.isin(status, ["unemployed", "self_employed"])
    # Not applicable: a level of its own, never NaN; a blank answer that applies stays NaN.
    assert encoder.categories_[names.index("employer_contact")] == ["False", "True", "(not applicable)"]
    assert (contact[no_employer] == 2).all()
    answered = frame["employer_contact"].notna().to_numpy()
    assert np.isnan(contact[~no_employer & ~answered]).all()
    np.testing.assert_array_equal(contact[~no_employer & answered],
                                  frame["employer_contact"].to_numpy()[~no_employer & answered].astype(float))
    assert encoder.categorical_mask_[names.index("employer_contact")]
    # A number that does not apply is held at the typical answer of those it applies to: not blank, no effect.
    unemployed = status == "unemployed"
    applicable = frame["weekly_hours"].to_numpy()[~unemployed]
    assert (hours[unemployed] == np.nanmedian(applicable)).all()
    assert np.isnan(hours[~unemployed & np.isnan(frame["weekly_hours"].to_numpy())]).all()
    # A blank employment status says nothing either way: its blank answers stay blank.
    assert np.isnan(contact[pd.isna(status) & ~answered]).all()


def test_an_answer_to_a_question_that_does_not_apply_is_not_read():
    frame = working_situations()
    encoder = FormEncoder().fit(frame)
    names = encoder.get_feature_names_out().tolist()
    written = frame.copy()
    unemployed = (written["employment_status"] == "unemployed").fillna(False).to_numpy()
    written.loc[unemployed, "employer_contact"] = True
    written.loc[unemployed, "weekly_hours"] = 12.0
    np.testing.assert_array_equal(encoder.transform(written), encoder.transform(frame))
    assert (encoder.transform(written)[unemployed, names.index("employer_contact")] == 2).all()


def test_an_encoder_saved_before_the_rules_encodes_as_it_always_did():
    """A model saved by an earlier release has no ``not_applicable_``: blank stays blank, as it was trained."""
    frame = working_situations()
    encoder = FormEncoder().fit(frame)
    names = encoder.get_feature_names_out().tolist()
    old = FormEncoder().fit(frame)
    del old.not_applicable_
    j = names.index("employer_contact")
    old.categories_[j], old.categorical_mask_[j] = [], False
    X = old.transform(frame)
    status = frame["employment_status"].astype(object).to_numpy()
    contact = frame["employer_contact"].to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(X[:, j], contact)  # NaN for the unemployed who left it blank, as before
    assert np.isnan(X[status == "unemployed", names.index("weekly_hours")]).all()


def test_the_release_0_1_0_encoder_has_no_rules_and_reads_blanks_as_blank():
    from pathlib import Path

    from screening.scoring import load_model

    old = load_model(Path(__file__).resolve().parents[1] / "data" / "model_0_1_0" / "model").estimator.encoder_
    assert not hasattr(old, "not_applicable_")
    frame = working_situations().reindex(columns=old.feature_names_in_)
    X = old.transform(frame)
    names = old.get_feature_names_out().tolist()
    unemployed = (frame["employment_status"] == "unemployed").fillna(False).to_numpy()
    assert np.isnan(X[unemployed, names.index("employer_contact")]).all()


def test_one_form_at_a_time_encodes_as_the_table_does_with_rules():
    frame = working_situations()
    encoder = FormEncoder().fit(frame)
    alone = np.vstack([encoder.transform(frame.iloc[i : i + 1]) for i in range(len(frame))])
    np.testing.assert_array_equal(encoder.transform(frame), alone)
    first = frame.iloc[0].to_dict()
    assert FormEncoder.not_applying({**first, "employment_status": "unemployed"}) == {
        "weekly_hours": True, "employer_contact": True}
    assert FormEncoder.not_applying({**first, "employment_status": None}) == {
        "weekly_hours": False, "employer_contact": False}
