"""Evaluation under censoring that tells the truth (issue 12): follow-up must reach the horizon,
capacity is measured on the list consultants get, every figure has an interval, and the
promotion guard decides on the interval of the paired difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening.models import NotEvaluableError, compare_paired, evaluate, extraction_date, follow_up_weeks
from screening.models._evaluate import top_k_per_batch



@pytest.fixture(scope="module")
def one_year_extract():
    """The newest 20 % of a one-year extract (forms of the last 365 days of a simulated cohort)."""
    from screening.intake import RawTable, validate_table
    from screening.synthetic import simulate_cohort

    cohort = simulate_cohort(30_000, seed=31, training=True)
    forms = validate_table(RawTable(cohort.forms, np.arange(2, 30_002)), training=True).valid.reset_index(drop=True)
    latent, truth = cohort.latent.reset_index(drop=True), cohort.true_risk.reset_index(drop=True)
    received = pd.to_datetime(forms["form_received"])
    last_year = (received > pd.Timestamp("2025-11-01")).to_numpy()
    forms, latent, truth = (frame[last_year].reset_index(drop=True) for frame in (forms, latent, truth))
    newest = pd.to_datetime(forms["form_received"]).rank(method="first").to_numpy() > 0.8 * len(forms)
    return (forms[newest].reset_index(drop=True), latent[newest].reset_index(drop=True),
            truth[newest].reset_index(drop=True))


def test_the_extraction_date_is_read_from_the_censored_spells(one_year_extract):
    forms = one_year_extract[0]
    assert extraction_date(forms) == pd.Timestamp("2026-11-01")
    reach = follow_up_weeks(forms, "2026-11-01")
    assert np.nanmax(reach) < 52  # nobody in the newest forms can be followed for a year


def test_a_horizon_no_form_can_reach_is_refused_not_reported_as_nan(one_year_extract):
    forms, latent, truth = one_year_extract
    with pytest.raises(NotEvaluableError, match="52 weeks"):
        evaluate(truth, forms, horizon=52, n_boot=0)


def test_the_observed_rate_counts_only_forms_whose_follow_up_reaches_the_horizon(one_year_extract):
    forms, latent, truth = one_year_extract
    evaluation = evaluate(truth, forms, horizon=13, n_boot=50, subgroups=())
    scored = (forms["sick_weeks"].to_numpy() < 13) & (follow_up_weeks(forms, "2026-11-01") >= 13)
    actual = (latent["duration_weeks"].to_numpy() > 13)[scored].mean()
    # Before: forms with too little follow-up were kept, weighted without bound, and the rate came out
    # ~5 points low (0.277 against 0.327); now it is the rate of the forms that can show it.
    assert abs(evaluation.metrics["observed_rate"] - actual) < 0.005
    assert abs(evaluation.metrics["observed_rate"] - truth["risk_13"].to_numpy()[scored].mean()) < 0.03
    assert evaluation.notes["forms_follow_up_too_short"] > 0
    assert 0 < evaluation.notes["effective_sample_size"] <= evaluation.notes["forms_scored"]


def test_precision_at_capacity_is_of_the_list_consultants_get(test_cohort, additive_model):
    """Rank the whole week's early queue first, then weight the selected forms whose outcome is known."""
    forms, latent, _ = test_cohort
    rng = np.random.default_rng(3)
    entry = forms["sick_weeks"].to_numpy()
    duration = latent["duration_weeks"].to_numpy()
    censor = entry + rng.uniform(0, 16, len(forms))  # about half censored, for reasons unrelated to risk
    censored = forms.assign(absence_weeks=np.minimum(duration, censor),
                            spell_ended=pd.array(duration <= censor, dtype="boolean"))
    risks = additive_model.predict_risk(forms)
    evaluation = evaluate(risks, censored, horizon=13, capacity=3, outcome=None, n_boot=0, subgroups=(),
                          extraction=pd.Timestamp("2030-01-01"))
    arrived = pd.to_datetime(forms["form_received"]).fillna(
        pd.to_datetime(forms["sick_leave_start"]) + pd.to_timedelta(forms["sick_weeks"] * 7, unit="D"))
    days = (arrived - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 86400
    dated, early = ~np.isnan(days), entry < 13
    site = pd.Categorical(forms["jobcenter"].astype(object).fillna("(none)")).codes.astype(np.int64)
    batch = site * 10_000 + np.floor(np.nan_to_num(days) / 7)
    chosen = np.zeros(len(forms), dtype=bool)
    pool = dated & early
    chosen[pool] = top_k_per_batch(risks["risk_13"].to_numpy()[pool], batch[pool], 3)
    truth_precision = (duration > 13)[chosen].mean()
    assert abs(evaluation.metrics["precision_at_capacity"] - truth_precision) < 0.03


def test_every_metric_has_an_interval_that_holds_the_estimate(test_cohort, additive_model):
    forms, latent, truth = test_cohort
    evaluation = evaluate(additive_model, forms, horizon=13, outcome=latent["duration_weeks"] > 13,
                          true_risk=truth, n_boot=100, min_group=150)
    for metric, value in evaluation.metrics.items():
        low, high = evaluation.interval(metric)
        assert low <= value + 1e-9 and value - 1e-9 <= high or metric == "ece", metric
        assert high - low < 0.2, metric
    groups = evaluation.subgroups
    small = groups["effective_n"] < 150
    assert small.any() and (~small).any()
    assert groups.loc[small, "auc"].isna().all()
    assert (groups.loc[small, "status"].str.startswith("too small")).all()
    ok = groups[~small]
    assert ((ok["observed_rate_low"] <= ok["observed_rate"]) & (ok["observed_rate"] <= ok["observed_rate_high"])).all()
    again = evaluate(additive_model, forms, horizon=13, outcome=latent["duration_weeks"] > 13, n_boot=100)
    assert again.interval("auc") == evaluation.interval("auc")  # seeded


def test_paired_differences_are_narrower_than_separate_intervals(test_cohort, additive_model, boosted_model):
    forms, latent, _ = test_cohort
    outcome = latent["duration_weeks"].to_numpy() > 13
    paired = compare_paired(additive_model, boosted_model, forms, outcome=outcome, n_boot=100)
    row = paired.table.loc["auc"]
    separate = evaluate(additive_model, forms, outcome=outcome, n_boot=100, subgroups=()).interval("auc")
    assert row["low"] <= row["difference"] <= row["high"]
    assert row["high"] - row["low"] < separate[1] - separate[0]
    same = compare_paired(additive_model, additive_model, forms, outcome=outcome, n_boot=20).table
    assert (same["difference"] == 0).all() and (same["high"] == 0).all()
