"""The fast single-form path decides exactly as the batch does, on any form (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.scoring import RefusedFormError
from tests.conftest import form

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SPELLINGS = {
    "case_id": st.sampled_from(["K-1", " K-1 ", "K 1", "010203-1234", "0102031234", "x" * 70, "=cmd", "K\x01",
                                "\u00a0K1", "K1\u2003", "", None, "ÆØÅ", "K.1:2_3"]),
    "jobcenter": st.one_of(st.sampled_from(["Århus", " Aarhus ", "<b>x</b>", "x" * 250, "", None, "Køge\u200b"]),
                           st.text(max_size=12)),
    "age": st.one_of(st.sampled_from(["45", "45.0", "45,0", " 45 ", "", None, "15", "76", "fyrre", "45.5"]),
                     st.integers(10, 80), st.floats(10, 80)),
    "sick_weeks": st.one_of(st.sampled_from(["3,5", "3.5", "", None, "52.1", "-1", "4", "13", "30", "inf"]),
                            st.floats(-1, 60, allow_nan=False), st.integers(0, 55)),
    "form_received": st.one_of(st.sampled_from(["2026-11-16", "16-11-2026", "16.11.2026", "2026-02-30", "", None,
                                                "16/11/2026", "1999-01-01", "2026-11-16 00:00:00",
                                                "2026-11-16T00:00:00", "2026-11-16T25:00", "16-11-2026 08:30"]),
                               st.dates(dt.date(2024, 1, 1), dt.date(2027, 1, 1)),
                               st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2027, 1, 1)),
                               st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2027, 1, 1)).map(pd.Timestamp)),
    "sick_leave_start": st.one_of(st.sampled_from(["2026-10-19", "19-10-2026", "", None, "2026-12-01"]),
                                  st.dates(dt.date(2024, 1, 1), dt.date(2027, 1, 1))),
    "diagnosis_code": st.sampled_from(["M54.5", "m545", "DM545", "DM545A", "F32.1", "Z99.99", "C50.9", "", None,
                                       "M50-M54", "S52.5"]),
    "diagnosis_group": st.sampled_from(["mental", "Psykisk", "other", "cancer", "", None, "unknown", "bevægeapparat"]),
    "physical_load": st.one_of(st.sampled_from(["hård", "HÅRD", "Tung", "let", "middel", "1", "5", "", None]),
                               st.integers(0, 5)),
    "weekly_hours": st.one_of(st.sampled_from(["37", "37,5", "0", "81", "", None, "abc"]), st.floats(0, 90)),
    "employment_status": st.sampled_from(["employed", "Ledig", "selvstændig", "self-employed", "retired", "", None]),
    "partial_sick_leave": st.one_of(st.sampled_from(["ja", "Nej", "1", "0", "måske", "", None]), st.booleans()),
    "employer_contact": st.one_of(st.sampled_from(["yes", "NO", "sand", "falsk", "", None]), st.booleans()),
    "prior_sick_weeks_12m": st.one_of(st.sampled_from(["0", "12", "53", "", None, "2.5"]), st.integers(-1, 60)),
    "work_ability": st.one_of(st.sampled_from(["0", "10", "11", "", None, "5,0"]), st.integers(-1, 12)),
    "expected_return": st.sampled_from(["within_4_weeks", "Over 13 uger", "ved ikke", "4-8 weeks", "soon", "", None]),
    "treatment": st.sampled_from(["none", "Egen læge", "venteliste", "hospital", "surgery", "", None]),
    "sex": st.sampled_from(["F", "k", "Mand", "X", "?", "", None]),
}


def batch(model, values: dict) -> pd.DataFrame | list:
    """The batch's verdict on one form: its ranked row, or its refusals."""
    result = model.score(pd.DataFrame({key: pd.Series([value], dtype=object) for key, value in values.items()}))
    if len(result.ranked):
        return result.ranked
    return sorted((row.column, row.kind) for row in result.refused.itertuples())


def assert_same_risks(score, row) -> None:
    """The single form's risks, queue and horizon are the ranked list's row."""
    late = row["queue"] == "late"
    assert score.queue == row["queue"]
    assert score.horizon == (None if pd.isna(row["horizon"]) else int(row["horizon"]))
    assert score.risk == (None if pd.isna(row["risk"]) else row["risk"])
    assert score.risks == {8: row["risk_8"], 13: 1.0 if late else row["risk"], 22: row["risk_22"], 52: row["risk_52"]}


@SETTINGS
@given(changes=st.fixed_dictionaries({}, optional=SPELLINGS))
def test_score_one_decides_and_scores_as_the_batch(model, changes):
    values = form()
    values.update(changes)
    expected = batch(model, values)
    try:
        score = model.score_one(values)
    except RefusedFormError as refused:
        assert isinstance(expected, list) and expected, "refused alone but scored in a batch"
        assert sorted((reason["column"], reason["kind"]) for reason in refused.reasons) == expected
        return
    assert isinstance(expected, pd.DataFrame), f"scored alone but refused in a batch: {expected}"
    row = expected.iloc[0]
    assert_same_risks(score, row)
    assert score.priority == (None if pd.isna(row["priority"]) else row["priority"])
    assert score.reasons_text == row["reasons"]


def test_an_empty_form_is_refused_with_the_required_fields(model):
    for empty in ({}, {"case_id": None, "age": ""}, {"unknown": "x"}):
        try:
            model.score_one(empty, ignore_unknown=True)
        except RefusedFormError as refused:
            assert sorted((reason["column"], reason["kind"]) for reason in refused.reasons) == [
                ("age", "missing_required"), ("case_id", "missing_required"),
                ("physical_load", "missing_required"), ("sick_weeks", "cannot_derive_weeks")]
        else:  # pragma: no cover
            raise AssertionError(f"an empty form was scored: {empty}")


def test_a_field_named_twice_is_refused_not_guessed(model):
    values = form()
    values["AGE"] = "50"
    for language, words in (("en", "twice"), ("da", "to gange")):
        try:
            model.score_one(values, language=language)
        except RefusedFormError as refused:
            assert words in refused.reasons[0]["reason"]
        else:  # pragma: no cover
            raise AssertionError("a form naming age twice was scored")


def test_load_model_prepares_single_forms_unless_a_batch_says_not_to(model_dir):
    from screening.scoring import load_model

    assert load_model(model_dir)._single is not None  # the first form does not pay for the set-up
    batch = load_model(model_dir, single_forms=False)
    assert batch._single is None
    batch.score_one({"case_id": "A1", "age": "45", "physical_load": "2", "sick_weeks": "3"})
    assert batch._single is not None


# --- the one-form path: the batch's arithmetic without its per-call overhead ---------------------------------


def first_seen_forms(rows: int, seed: int) -> list[dict]:
    """Simulated forms never scored before (new case ids), some answers left blank, some sent late."""
    import numpy as np

    from screening.synthetic import simulate_cohort

    rng = np.random.default_rng(seed)
    forms = []
    for i, row in enumerate(simulate_cohort(rows, seed=seed).forms.to_dict("records")):
        values = {key: (None if value != value else value) for key, value in row.items()}
        for key in values:
            if key not in ("case_id", "age", "physical_load", "sick_weeks") and rng.random() < 0.15:
                values[key] = None
        if rng.random() < 0.2:  # weeks absent as given, past 13 and 22 weeks too
            values.update(sick_weeks=f"{rng.uniform(0, 51.9):.1f}", form_received=None, sick_leave_start=None)
        values["case_id"] = f"NEW-{seed}-{i}"
        forms.append(values)
    return forms


def test_one_form_risks_and_contributions_are_the_batch_ones(model):
    import numpy as np

    from screening.scoring import _engine
    from tests.scoring.conftest import valid_forms

    estimator = model.estimator
    X, entry = estimator.encode(valid_forms(400, seed=41))
    entry = entry.copy()
    entry[:100] = np.round(np.random.default_rng(0).uniform(0, 60, 100), 1)  # every queue, and past the last horizon
    explain_at = _engine.reason_horizons(entry, _engine.horizons_of(estimator))
    risks, contributions = estimator.risks_and_contributions(X, entry, explain_at=explain_at)
    for i in range(len(X)):
        one = slice(i, i + 1)
        risk, contribution = estimator.risks_and_contributions(X[one], entry[one], explain_at=explain_at[one])
        np.testing.assert_allclose(risk[0], risks[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(contribution[0], contributions[i], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(estimator.risks_encoded(X[one], entry[one])[0], risks[i], rtol=1e-12, atol=1e-15)


def test_one_form_reasons_are_the_vectorised_explanation_to_the_last_bit(model):
    """The reasons of one form's typed values, worked out on Python floats, are :func:`explain`'s on arrays of one
    row: the same factors, effects equal as floats, the same questions."""
    import numpy as np

    from screening.scoring import _engine, _reasons

    scorer, estimator = model._single, model.estimator
    explained = 0
    for values in first_seen_forms(300, seed=8):
        try:
            valid = scorer.validator.validate(values)
        except RefusedFormError:
            continue
        X = scorer.encode(valid.values)[None, :]
        entry = np.array([float(valid.values["sick_weeks"])])
        scored = _engine.score_encoded(estimator, X, entry)
        horizon = float(scored.reason_horizon[0])
        at = [k for k, h in enumerate(scored.horizons) if h == horizon]
        risk = float(scored.risks[0, at[0]]) if at else np.nan
        for language in ("da", "en"):
            reasons, questions = _reasons.explain_one(
                estimator, X[0], float(entry[0]), scored.contributions[0], scored.groups, valid.values, risk=risk,
                horizon=horizon, already_absent=horizon != 13, language=language)
            vectorised = _reasons.explain(
                estimator, X, entry, scored.contributions, scored.groups, valid.values, risk=np.array([risk]),
                horizon=np.array([horizon]), already_absent=np.array([horizon != 13]))
            plan, factors = vectorised.plan, vectorised.factors
            expected = []
            for direction, chosen in (("up", vectorised.selection.up[0]), ("down", vectorised.selection.down[0])):
                for f in (f for f in chosen.tolist() if f >= 0):
                    group = plan.groups[int(factors.phrased_group(plan, np.array([0]), f)[0])]
                    expected.append((direction, group, _reasons.describe_one(group, valid.values, language),
                                     float(factors.values[0, f])))
            labels = _reasons.question_labels(plan, language)
            assert reasons == expected
            assert questions == tuple(labels[f] for f in vectorised.questions[0].tolist() if f >= 0)
            explained += bool(reasons) + bool(questions)
    assert explained > 200


def test_forms_seen_for_the_first_time_find_the_model_terms_made_when_loading(model, monkeypatch):
    """Building the scorer tabled every answer's terms and every entry's periods: a new form only looks them up."""
    estimator = model.estimator

    def no_terms(*args, **kwargs):
        raise AssertionError("a form's terms were computed while scoring it")

    def no_periods(*args, **kwargs):
        raise AssertionError("an entry's periods were laid out while scoring a form")

    monkeypatch.setattr(estimator.hazard_, "factorised_terms", no_terms)
    monkeypatch.setattr(estimator, "_one_form_grid", no_periods)
    scored = 0
    for values in first_seen_forms(300, seed=12):
        try:
            model.score_one(values)
            scored += 1
        except RefusedFormError:
            pass
    assert scored > 250
