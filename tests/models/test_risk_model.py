"""The risk model: one hazard for all horizons, censoring used without bias, explained."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from screening.models import fit_risk_model


def test_risks_never_rise_with_the_horizon_and_are_one_once_passed(additive_model, test_cohort):
    forms = test_cohort[0]
    risks = additive_model.predict_risk(forms)
    assert list(risks.columns) == ["risk_8", "risk_13", "risk_22", "risk_52"]
    assert risks.index.equals(forms.index)
    values = risks.to_numpy()
    assert np.all((values >= 0) & (values <= 1)) and np.all(np.diff(values, axis=1) <= 1e-12)
    for h in (8, 13, 22, 52):
        passed = forms["sick_weeks"].to_numpy() >= h
        assert passed.any() or h > 20
        assert np.all(risks.loc[passed, f"risk_{h}"] == 1.0)
        assert np.all(risks.loc[~passed, f"risk_{h}"] < 1.0)


def test_the_same_seed_gives_the_same_model(train_cohort, additive_model, test_cohort):
    again = fit_risk_model(train_cohort[0], family="additive", seed=0)
    pd.testing.assert_frame_equal(again.predict_risk(test_cohort[0]), additive_model.predict_risk(test_cohort[0]))


def test_training_summary_reports_censoring_and_how_it_was_used(additive_model, train_cohort):
    summary = additive_model.training_summary
    forms = train_cohort[0]
    assert summary["censored"] == int((~forms["spell_ended"].to_numpy(dtype=bool)).sum()) > 0
    assert "never counted as a return" in summary["censored_use"]
    assert summary["rows"] == len(forms) and summary["family"] == "additive"
    assert summary["person_periods"]["fit_rows"] > len(forms)
    # Refitted on every form and calibrated on out-of-fold predictions of all of them (issue 12).
    assert summary["split"]["fit_forms"] == summary["split"]["calibration_forms"] == len(forms)
    assert summary["person_periods"]["calibration_folds"] == 3
    assert "out-of-fold" in summary["calibration"]["method"]
    assert summary["seed"] == 0 and summary["horizons"] == [8, 13, 22, 52]


def _heavily_censored(cohort, seed: int) -> pd.DataFrame:
    """The same people with follow-up cut short at random: about half the spells censored."""
    forms, latent, _ = cohort
    rng = np.random.default_rng(seed)
    entry = forms["sick_weeks"].to_numpy()
    duration = latent["duration_weeks"].to_numpy()
    censor = entry + rng.uniform(0, 16, len(forms))
    out = forms.copy()
    out["absence_weeks"] = np.round(np.minimum(duration, censor), 3)
    out["spell_ended"] = pd.array(duration <= censor, dtype="boolean")
    return out


def test_censored_spells_are_not_counted_as_returns(train_cohort, test_cohort):
    """Half censored: counting censored spells as returns, or dropping them, is biased; the model is not."""
    censored = _heavily_censored(train_cohort, seed=5)
    ended = censored["spell_ended"].to_numpy(dtype=bool)
    assert 0.35 < (~ended).mean() < 0.7
    forms, latent, _ = test_cohort
    at_risk = forms["sick_weeks"].to_numpy() < 13
    truth = (latent["duration_weeks"].to_numpy() > 13)[at_risk].mean()

    train_at_risk = censored["sick_weeks"].to_numpy() < 13
    long = censored["absence_weeks"].to_numpy() > 13
    as_returns = long[train_at_risk].mean()  # censored = returned
    dropped = long[train_at_risk & (ended | long)].mean()  # censored before 13 weeks dropped
    assert truth - as_returns > 0.08
    assert abs(dropped - truth) > 0.04

    model = fit_risk_model(censored, family="additive", seed=0)
    predicted = model.predict_risk(forms)["risk_13"].to_numpy()[at_risk].mean()
    assert abs(predicted - truth) < 0.02


def test_additive_contributions_are_grouped_exact_and_point_the_right_way(additive_model, test_cohort):
    forms = test_cohort[0].iloc[:300]
    contributions = additive_model.contributions(forms, horizon=13)
    assert contributions.index.equals(forms.index)
    assert {"expected_return", "weeks_absent", "diagnosis", "work_ability"} <= set(contributions.columns)
    passed = forms["sick_weeks"].to_numpy() >= 13
    assert np.all(contributions.to_numpy()[passed] == 0)
    expectation = contributions["expected_return"]
    answer = forms["expected_return"]
    assert expectation[answer == "over_13_weeks"].mean() > 0 > expectation[answer == "within_4_weeks"].mean()
    # The columns add up to -log(cumulative hazard) minus the typical form's: risk order is kept.
    risk = additive_model.predict_risk(forms)["risk_13"][~passed]
    total = contributions.sum(axis=1)[~passed]
    np.testing.assert_allclose(np.exp(-np.exp(-(total + reference_value(additive_model)))), risk, rtol=1e-9)


def reference_value(model) -> float:
    """-log cumulative hazard to week 13 of the typical training form."""
    entry = model.reference_[[model.input_names_.index("sick_weeks")]]
    return float(-np.log(model._cumulative_hazard(model.reference_[None, :], entry, 13.0))[0])


def test_boosted_contributions_add_up_to_the_difference_from_the_typical_form(boosted_model, test_cohort):
    forms = test_cohort[0].iloc[:40]
    forms = forms[forms["sick_weeks"] < 13]
    contributions = boosted_model.contributions(forms, horizon=13)
    X = boosted_model.encoder_.transform(forms.drop(columns=["absence_weeks", "spell_ended"]))
    value = -np.log(boosted_model._cumulative_hazard(X, forms["sick_weeks"].to_numpy(), 13.0))
    np.testing.assert_allclose(contributions.sum(axis=1), value - reference_value(boosted_model), atol=1e-8)


def test_boosted_risks_are_monotone_too(boosted_model, test_cohort):
    values = boosted_model.predict_risk(test_cohort[0]).to_numpy()
    assert np.all(np.diff(values, axis=1) <= 1e-12)


def test_auto_chooses_by_the_censored_log_score(train_cohort):
    model = fit_risk_model(train_cohort[0].iloc[:1500], family="auto", seed=1)
    scores = model.training_summary["selection"]["scores"]
    assert set(scores) == {"additive", "boosted"}
    assert model.family_ == min(scores, key=scores.get)


def test_the_family_is_chosen_on_every_form_out_of_fold(train_cohort):
    """Each usable form is scored once by fits that did not see it (not only the newest, most censored 20 %)."""
    forms = train_cohort[0].iloc[:1500]
    model = fit_risk_model(forms, family="auto", seed=1)
    summary = model.training_summary
    assert summary["selection"]["forms"] == {"scored": summary["rows_used"], "folds": 3}
    assert summary["person_periods"]["calibration_folds"] == 3
    # The old time-ordered scheme is still there for comparison, on the newest forms only.
    old = fit_risk_model(forms, family="auto", seed=1, calibration_folds=1).training_summary["selection"]
    assert old["forms"]["selection"] < summary["rows_used"] / 4


def test_fitted_model_round_trips_through_skops(additive_model, test_cohort):
    import skops.io as sio

    data = sio.dumps(additive_model)
    untrusted = sio.get_untrusted_types(data=data)
    assert all(name.startswith(("screening.", "sklearn.", "numpy.", "builtins.")) for name in untrusted)
    loaded = sio.loads(data, trusted=untrusted)
    forms = test_cohort[0].iloc[:50]
    pd.testing.assert_frame_equal(loaded.predict_risk(forms), additive_model.predict_risk(forms))


def test_importing_the_models_stays_light():
    code = ("import sys, screening.models; "
            "print(sorted(m for m in ('mlflow', 'matplotlib', 'fairlearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_training_forms_need_the_outcome_columns(test_cohort):
    with pytest.raises(ValueError, match="training=True"):
        fit_risk_model(test_cohort[0].drop(columns=["spell_ended"]))


def _expanded_contributions(model, X, entry, horizon):
    """Contributions as defined: every form expanded into person-period rows, the design built per row."""
    undecided = entry < horizon
    reference_entry = min(float(model.reference_[model.input_names_.index("sick_weeks")]), np.nextafter(horizon, 0))
    both = np.vstack([X[undecided], model.reference_[None, :]])
    both_entry = np.r_[entry[undecided], reference_entry]
    periods, rows, log_rate = model._log_rates(both, both_entry, horizon)
    exposed = np.clip(np.minimum(periods.end, horizon) - periods.start, 0.0, None)
    mass = np.exp(log_rate) * exposed
    total = np.bincount(periods.form, weights=mass, minlength=len(both))
    share = mass / np.where(total > 0, total, 1.0)[periods.form]
    terms = model.hazard_.group_terms(rows) * model.calibrator_.slope_
    weighted = np.zeros((len(both), len(model.contribution_groups_)))
    for k, name in enumerate(model.hazard_.groups_):
        column = model.contribution_groups_.index(model._group_of(name))
        weighted[:, column] -= np.bincount(periods.form, weights=share * terms[:, k], minlength=len(both))
    relative = weighted[:-1] - weighted[-1]
    value = -np.log(total)
    weeks = model.contribution_groups_.index("weeks_absent")
    relative[:, weeks] = (value[:-1] - value[-1]) - np.delete(relative, weeks, axis=1).sum(axis=1)
    out = np.zeros((len(X), len(model.contribution_groups_)))
    out[undecided] = relative
    return out


def test_additive_grid_gives_the_numbers_of_the_person_period_expansion(additive_model, test_cohort):
    """The split log hazard on the (form x period) grid equals building the design for every period row."""
    from screening.models._person_period import cumulative_hazards

    model = additive_model
    forms = test_cohort[0].iloc[:500]
    X = model.encoder_.transform(forms.drop(columns=["absence_weeks", "spell_ended"]))
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64).copy()
    entry[:6] = [0.0, 12.95, 13.0, 22.0, 51.9, 52.0]  # period bounds, horizons and past the last bound
    X[:, model.input_names_.index("sick_weeks")] = entry
    periods, _, log_rate = model._log_rates(X, entry, max(model.horizons_))
    expected = np.exp(-cumulative_hazards(periods, np.exp(log_rate), len(X), model.horizons_))
    np.testing.assert_allclose(model._risks(X, entry, model.horizons_), expected, rtol=1e-12, atol=1e-15)
    for horizon in (8.0, 13.0, 22.0, 52.0):
        np.testing.assert_allclose(model._additive_contributions(X, entry, horizon),
                                   _expanded_contributions(model, X, entry, horizon), rtol=1e-9, atol=1e-12)
    # One form at a time (remembered answers and entries) gives the same numbers as the batch.
    for i in range(0, 40, 3):
        np.testing.assert_allclose(model._risks(X[i : i + 1], entry[i : i + 1], model.horizons_),
                                   expected[i : i + 1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(model._additive_contributions(X[i : i + 1], entry[i : i + 1], 13.0),
                                   _expanded_contributions(model, X[i : i + 1], entry[i : i + 1], 13.0),
                                   rtol=1e-9, atol=1e-12)


def test_risks_and_contributions_from_one_pass_equal_the_separate_ones(additive_model, test_cohort):
    """One grid pass gives the risks at every horizon and each form's contributions at its own
    horizon, with the numbers of the person-period expansion; forms of one entry may be explained at
    different horizons, and a form already absent that long, or not to be explained, gets zeros."""
    from screening.models._person_period import cumulative_hazards

    model = additive_model
    forms = test_cohort[0].iloc[:400]
    X = model.encoder_.transform(forms.drop(columns=["absence_weeks", "spell_ended"]))
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64).copy()
    entry[:8] = [0.0, 12.95, 13.0, 22.0, 51.9, 52.0, np.nan, 4.0]
    X[:, model.input_names_.index("sick_weeks")] = entry
    rng = np.random.default_rng(5)
    horizon = rng.choice([8.0, 13.0, 22.0, 52.0, np.nan], size=len(X))
    horizon[:8] = [13.0, 13.0, 13.0, 52.0, 52.0, 52.0, 13.0, np.nan]
    risks, contributions = model._additive_scores(X, entry, model.horizons_, horizon)

    periods, _, log_rate = model._log_rates(X, entry, max(model.horizons_))
    expected = np.exp(-cumulative_hazards(periods, np.exp(log_rate), len(X), model.horizons_))
    np.testing.assert_allclose(risks, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(risks, model._risks(X, entry, model.horizons_), rtol=1e-12, atol=1e-15)
    for h in (8.0, 13.0, 22.0, 52.0):
        rows = np.flatnonzero(horizon == h)
        np.testing.assert_allclose(contributions[rows], _expanded_contributions(model, X[rows], entry[rows], h),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(contributions[rows], model._additive_contributions(X[rows], entry[rows], h),
                                   rtol=1e-12, atol=1e-13)
    assert (contributions[np.isnan(horizon)] == 0).all()
    assert (contributions[entry >= horizon] == 0).all() and (contributions[np.isnan(entry)] == 0).all()
    assert np.abs(contributions[~np.isnan(horizon) & (entry < horizon)]).sum(axis=1).min() > 0
    # One form at a time gives the same numbers.
    for i in range(0, 30, 3):
        one = model._additive_scores(X[i : i + 1], entry[i : i + 1], model.horizons_, horizon[i : i + 1])
        np.testing.assert_allclose(one[0], risks[i : i + 1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(one[1], contributions[i : i + 1], rtol=1e-10, atol=1e-12)


def test_additive_grid_chunks_do_not_change_the_results(additive_model, test_cohort, monkeypatch):
    from screening.models import _risk_scoring

    model = additive_model
    forms = test_cohort[0].iloc[:700]
    whole = model.predict_risk(forms).to_numpy(), model.contributions(forms).to_numpy()
    monkeypatch.setattr(_risk_scoring, "GRID_CHUNK_FORMS", 97)
    monkeypatch.setattr("screening.models._additive_scoring._DISTINCT_FROM", 10)
    chunked = model.predict_risk(forms).to_numpy(), model.contributions(forms).to_numpy()
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10, atol=1e-13)


def test_a_chunk_s_terms_made_once_per_distinct_answer_are_each_form_s_own_to_the_last_bit(additive_model, test_cohort):
    """The batch makes each term of the hazard once per distinct combination of the answers it reads and
    looks it up for every form: the numbers are those the hazard makes for the forms themselves, exactly."""
    from screening.models._person_period import TIME_FEATURES

    model = additive_model
    forms = test_cohort[0]
    X = model.encoder_.transform(forms.drop(columns=["absence_weeks", "spell_ended"]))
    X[::7, 5] = np.nan  # blank answers are answers too
    n_inputs = len(model.input_names_)
    time_columns = range(n_inputs - len(TIME_FEATURES), n_inputs)
    order = np.random.default_rng(4).permutation(len(X))
    width = model._period_tables(np.array([0.0]), 4).shape[2]
    const, _, parts = model.hazard_.factorised_terms(X, None, time_columns)
    table, table_parts, rows, A, pattern = model._chunk_terms(X, order, time_columns, width)
    assert len(table) < len(X) / 2  # a table of answers, not of forms
    for g in range(const.shape[1]):
        looked_up = table[rows[g], g] if rows[g] is not None else np.full(len(X), table[0, g])
        np.testing.assert_array_equal(looked_up, const[order, g])
    expected_A = np.zeros((len(X), width))
    for (g, columns, factor), (g2, columns2, factor2) in zip(parts, table_parts):
        assert g == g2 and list(columns) == list(columns2)
        looked_up = factor2[rows[g]] if rows[g] is not None else np.broadcast_to(factor2[0], factor.shape)
        np.testing.assert_array_equal(looked_up, factor[order])
        expected_A[:, columns] += factor
    np.testing.assert_array_equal(A[pattern], expected_A[order])


def test_split_log_hazard_adds_up_and_forgets_what_it_remembered_when_refitted():
    from screening.models._hazard import AdditiveHazard

    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=2000), rng.integers(0, 3, 2000), rng.uniform(0, 20, 2000)])
    X[::17, 0] = np.nan
    hazard = AdditiveHazard(categorical_features=[False, True, False], feature_names=["a", "c", "weeks"],
                            interactions=[("c", "weeks"), ("a", "c")])

    def check():
        for rows in (X[:1], X[:5], X):  # remembered per answer, a few rows, a table of values
            const, B, parts = hazard.factorised_terms(rows, rows, [2])
            log_rate = hazard.intercept_ + const.sum(axis=1)
            for _, columns, form_factor in parts:
                log_rate = log_rate + (form_factor * B[:, columns]).sum(axis=1)
            np.testing.assert_allclose(log_rate, hazard.predict_log_rate(rows), rtol=1e-12, atol=1e-12)

    hazard.fit(X, rng.poisson(0.2, 2000).astype(float), exposure=np.ones(2000))
    check()
    hazard.fit(X, rng.poisson(0.6, 2000).astype(float) * (X[:, 1] == 1), exposure=np.ones(2000))
    check()


@pytest.mark.parametrize("family", ["additive", "boosted"])
def test_the_encoded_input_methods_give_what_predict_risk_and_contributions_give(family, request, test_cohort):
    """``encode`` once, then ``risks_encoded`` / ``contributions_encoded`` / ``risks_and_contributions``:
    the numbers of the frame-level methods, for forms with or without outcome and extra columns."""
    model = request.getfixturevalue(f"{family}_model")
    forms = test_cohort[0].iloc[: 300 if family == "additive" else 40]
    arriving = forms.drop(columns=["absence_weeks", "spell_ended"]).assign(case_id="x")
    X, entry = model.encode(arriving)
    again, _ = model.encode(forms)
    np.testing.assert_array_equal(X, again)
    np.testing.assert_array_equal(entry, forms["sick_weeks"].to_numpy(dtype=np.float64))

    risks = model.predict_risk(forms).to_numpy()
    np.testing.assert_array_equal(model.risks_encoded(X, entry), risks)
    # Fewer horizons: other products (BLAS sums in blocks), the same numbers up to the last bits.
    np.testing.assert_allclose(model.risks_encoded(X, entry, horizons=[13.0, 52.0]), risks[:, [1, 3]],
                               rtol=1e-13, atol=1e-15)
    by_horizon = {h: model.contributions(forms, horizon=h).to_numpy() for h in (13.0, 22.0, 52.0)}
    for h, expected in by_horizon.items():
        np.testing.assert_array_equal(model.contributions_encoded(X, entry, horizon=h), expected)

    explain_at = np.random.default_rng(1).choice([13.0, 22.0, 52.0, np.nan], size=len(X))
    both_risks, both = model.risks_and_contributions(X, entry, explain_at=explain_at)
    np.testing.assert_allclose(both_risks, risks, rtol=1e-12, atol=1e-15)
    for h, expected in by_horizon.items():
        rows = explain_at == h
        np.testing.assert_allclose(both[rows], expected[rows], rtol=1e-10, atol=1e-12)
    assert (both[np.isnan(explain_at)] == 0).all()
