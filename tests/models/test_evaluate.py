"""Evaluation: metrics that mean what they say, censoring handled, subgroups, peers, plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from screening.models import evaluate, fit_plain_peers, ipcw_outcome
from screening.models._evaluate import calibration_slope_intercept, expected_calibration_error, top_k_per_batch
from screening.models._peers import known_label


def test_calibrated_risks_score_as_calibrated_and_distorted_ones_do_not():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 3, 40_000)
    y = rng.random(len(p)) < p
    assert expected_calibration_error(y, p) < 0.01
    slope, intercept = calibration_slope_intercept(y, p)
    assert abs(slope - 1) < 0.05 and abs(intercept) < 0.03
    logit = np.log(p / (1 - p))
    overconfident = 1 / (1 + np.exp(-2 * logit))
    slope, _ = calibration_slope_intercept(y, overconfident)
    assert abs(slope - 0.5) < 0.05
    assert expected_calibration_error(y, overconfident) > 0.05


def test_capacity_takes_the_top_k_of_each_batch():
    p = np.array([0.1, 0.9, 0.5, 0.7, 0.2, 0.3])
    batch = np.array([0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(top_k_per_batch(p, batch, 2), [False, True, True, True, False, True])


def test_ipcw_recovers_the_long_absence_rate_that_dropping_censored_spells_misses(test_cohort):
    forms, latent, _ = test_cohort
    rng = np.random.default_rng(2)
    entry = forms["sick_weeks"].to_numpy()
    duration = latent["duration_weeks"].to_numpy()
    censor = entry + rng.uniform(0, 16, len(forms))
    censored = forms.assign(absence_weeks=np.minimum(duration, censor),
                            spell_ended=pd.array(duration <= censor, dtype="boolean"))
    at_risk = entry < 13
    truth = (duration > 13)[at_risk].mean()
    y, weight = ipcw_outcome(censored, 13)
    assert (weight[at_risk] == 0).mean() > 0.2  # many outcomes unknown
    ipcw_rate = np.average(y[at_risk], weights=weight[at_risk])
    label, known = known_label(censored, 13)
    dropped_rate = label[at_risk & known].mean()
    assert abs(ipcw_rate - truth) < 0.02
    assert abs(dropped_rate - truth) > 0.04


def test_evaluation_scores_model_peers_truth_and_subgroups(additive_model, train_cohort, test_cohort):
    forms, latent, truth = test_cohort
    peers = fit_plain_peers(train_cohort[0], horizon=13, seed=0)
    outcome = latent["duration_weeks"].to_numpy() > 13
    evaluation = evaluate(additive_model, forms, horizon=13, outcome=outcome, true_risk=truth, peers=peers,
                          capacity=5)
    assert list(evaluation.comparison.index) == ["model", "logistic", "boosted", "true_risk"]
    metrics = evaluation.metrics
    for name in ("auc", "brier", "log_loss", "ece", "calibration_slope", "calibration_intercept",
                 "precision_at_capacity", "recall_at_capacity", "mae_true_risk"):
        assert np.isfinite(metrics[name]), name
    assert evaluation.notes["forms_scored"] == int((forms["sick_weeks"] < 13).sum())
    assert set(evaluation.subgroups.index.get_level_values("attribute")) == {
        "sex", "age_band", "diagnosis_group", "jobcenter"}
    assert evaluation.subgroups.loc["age_band", "n"].sum() == evaluation.notes["forms_scored"]
    assert {"contact_all", "contact_none", "model"} <= set(evaluation.decision_curve.columns)
    json.dumps(evaluation.to_dict())


def test_without_an_outcome_the_censored_columns_are_used(additive_model, test_cohort):
    forms = test_cohort[0]
    evaluation = evaluate(additive_model, forms, horizon=13)
    assert "IPCW" in evaluation.notes["outcome"]
    assert abs(evaluation.metrics["mean_risk"] - evaluation.metrics["observed_rate"]) < 0.05


def test_plots_draw_on_given_axes(additive_model, test_cohort):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluation = evaluate(additive_model, test_cohort[0], horizon=13)
    figure, (left, right) = plt.subplots(1, 2)
    assert evaluation.plot_reliability(left) is left
    assert evaluation.plot_decision_curve(right) is right
    plt.close(figure)


def test_peers_learn_only_from_known_labels(train_cohort):
    forms = train_cohort[0]
    label, known = known_label(forms, 13)
    assert not known.all()
    peers = fit_plain_peers(forms, horizon=13)
    assert peers["logistic"].named_steps["model"].n_features_in_ > 0
    assert peers["boosted"].n_features_in_ == 12


def test_the_intervals_of_calibration_errors_hold_their_estimates(additive_model, test_cohort):
    """An analyst's report: "ECE 0.023 [0.028, 0.069]", "calibration_gap 0.0001 [0.0002, 0.0143]". Sizes of an
    error only grow with a bootstrap replicate's noise, so their percentile intervals sat above the estimate on
    small sets. On small sets of both sizes and two horizons, each interval now holds its estimate."""
    forms, latent, _ = test_cohort
    for rows, horizon in ((300, 13), (600, 22), (1000, 13)):
        part = forms.iloc[:rows]
        outcome = latent["duration_weeks"].to_numpy()[:rows] > horizon
        evaluation = evaluate(additive_model, part, horizon=horizon, outcome=outcome, capacity=5, subgroups=())
        for metric in ("ece", "calibration_gap"):
            estimate, low, high = evaluation.intervals.loc[("model", metric), ["estimate", "low", "high"]]
            assert 0.0 <= low <= estimate <= high, (rows, horizon, metric, estimate, low, high)
        signed = evaluation.intervals.loc[("model", "calibration_in_the_large"), ["low", "high"]].abs()
        assert np.isclose(high, signed.max())  # the gap's interval: the size of the signed one's
    # Risks calibrated in the large exactly (their mean is the observed rate): the gap is 0 and every
    # replicate's is above 0, so a percentile interval would leave the estimate out.
    outcome = latent["duration_weeks"].to_numpy()[:500] > 13
    part = forms.iloc[:500]
    early = part["sick_weeks"].to_numpy() < 13
    spread = np.random.default_rng(5).uniform(-0.1, 0.1, len(part))
    risks = outcome[early].mean() + spread - spread[early].mean()
    evaluation = evaluate(risks, part, horizon=13, outcome=outcome, capacity=5, subgroups=())
    estimate, low, high = evaluation.intervals.loc[("model", "calibration_gap"), ["estimate", "low", "high"]]
    assert estimate < 1e-9 and low == 0.0 < high, (estimate, low, high)
    estimate, low, high = evaluation.intervals.loc[("model", "ece"), ["estimate", "low", "high"]]
    assert low <= estimate <= high, (estimate, low, high)
