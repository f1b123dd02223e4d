"""Spells become person-periods from entry (left truncation) to end or censoring."""

from __future__ import annotations

import numpy as np

from screening.models._person_period import (
    MIN_EVENT_EXPOSURE,
    PERIOD_BOUNDS,
    cumulative_hazards,
    person_periods,
    prediction_periods,
    subsample_without_event,
)


def test_a_form_contributes_only_from_its_entry_week():
    periods = person_periods(np.array([4.3]), np.array([7.5]), np.array([True]))
    assert periods.start[0] == 4.3 and periods.exposure.sum() == np.float64(7.5 - 4.3)
    np.testing.assert_array_equal(periods.event, [0, 0, 0, 1])


def test_a_censored_spell_contributes_weeks_at_risk_and_never_a_return():
    periods = person_periods(np.array([2.0]), np.array([10.25]), np.array([False]))
    assert periods.event.sum() == 0
    np.testing.assert_allclose(periods.exposure.sum(), 8.25)


def test_nothing_counts_beyond_week_52():
    periods = person_periods(np.array([20.0, 53.0 - 1]), np.array([60.0, 70.0]), np.array([True, True]))
    assert periods.event.sum() == 0 and periods.end.max() == PERIOD_BOUNDS[-1]
    np.testing.assert_allclose(np.bincount(periods.form, weights=periods.exposure, minlength=2), [32.0, 0.0])


def test_a_return_at_the_moment_of_entry_still_counts():
    periods = person_periods(np.array([3.0]), np.array([3.0]), np.array([True]))
    assert periods.event.tolist() == [1.0] and periods.exposure.tolist() == [MIN_EVENT_EXPOSURE]


def test_cumulative_hazard_is_zero_once_the_horizon_has_passed():
    entry = np.array([2.5, 15.0])
    periods = prediction_periods(entry, 52)
    hazards = cumulative_hazards(periods, np.full(len(periods), 0.1), 2, [8, 13, 22, 52])
    np.testing.assert_allclose(hazards[0], 0.1 * (np.array([8, 13, 22, 52]) - 2.5))
    np.testing.assert_allclose(hazards[1], [0, 0, 0.7, 3.7])


def test_subsampling_keeps_every_return_and_reweights_the_rest():
    rng = np.random.default_rng(0)
    entry = rng.uniform(0, 10, 2000)
    exit_ = entry + rng.exponential(8, 2000)
    periods = person_periods(entry, exit_, rng.random(2000) < 0.8)
    kept, share = subsample_without_event(periods, 5000, np.random.default_rng(1))
    assert 0 < share < 1 and len(kept) < len(periods)
    assert kept.event.sum() == periods.event.sum()
    assert np.all(kept.weight[kept.event == 0] == 1 / share)
    expected = periods.exposure.sum()
    assert abs((kept.exposure * kept.weight).sum() - expected) / expected < 0.05
