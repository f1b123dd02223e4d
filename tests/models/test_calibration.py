"""Recalibration on the hazard scale fixes a miscalibrated model and keeps horizons monotone."""

from __future__ import annotations

import numpy as np

from screening.models._calibration import HazardCalibrator
from screening.models._evaluate import expected_calibration_error
from screening.models._person_period import cumulative_hazards, person_periods, prediction_periods


def test_calibration_recovers_the_map_and_lowers_the_ece():
    rng = np.random.default_rng(3)
    n = 20_000
    true_log_rate = rng.normal(np.log(0.12), 0.6, n)
    entry = rng.uniform(0, 6, n)
    duration = entry + rng.exponential(1 / np.exp(true_log_rate))
    censor = entry + rng.uniform(0, 30, n)
    periods = person_periods(entry, np.minimum(duration, censor), duration <= censor)
    distorted = 0.4 + 1.5 * true_log_rate  # over-confident and too high
    calibrator = HazardCalibrator().fit(distorted[periods.form], periods.event, exposure=periods.exposure)
    assert abs(calibrator.slope_ - 1 / 1.5) < 0.03
    np.testing.assert_allclose(calibrator.transform(distorted), true_log_rate, atol=0.1)

    grid = prediction_periods(entry, 52)
    before = np.exp(-cumulative_hazards(grid, np.exp(distorted[grid.form]), n, [8, 13, 22, 52]))
    after = np.exp(-cumulative_hazards(grid, np.exp(calibrator.transform(distorted[grid.form])), n, [8, 13, 22, 52]))
    outcome = duration > 13
    assert expected_calibration_error(outcome, after[:, 1]) < 0.02
    assert expected_calibration_error(outcome, after[:, 1]) < expected_calibration_error(outcome, before[:, 1]) / 3
    assert np.all(np.diff(after, axis=1) <= 0)
