"""Recalibration of a hazard model on data it was not fitted on.

One map for all horizons, on the hazard scale:

    log λ_calibrated(t | form) = a + b · log λ(t | form),

fitted by maximum likelihood (the same Poisson likelihood as the model) on the
person-periods of the calibration forms, censored spells included exactly as in
fitting. Why this and not a per-horizon calibration of the risks:

* the risks stay monotone across horizons by construction (a positive hazard
  integrates to a cumulative hazard that only grows), with no repair step that
  would move a calibrated risk afterwards;
* it needs no labels, so it needs no rule for censored spells whose 13-week outcome
  is unknown: those contribute their observed weeks, as in fitting;
* two parameters cannot overfit a calibration split of a few thousand forms, as an
  isotonic map per horizon can; ``b`` corrects over- or under-confidence (the
  spread of the risks), ``a`` the overall level.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from screening.models._additive_scoring import CalibrationScoring


class HazardCalibrator(CalibrationScoring, BaseEstimator):
    """Fit ``a + b·log λ`` by Poisson maximum likelihood (Newton's method).

    Attributes
    ----------
    intercept_ : float
        ``a``.
    slope_ : float
        ``b``.
    n_iter_ : int
    """

    def fit(
        self,
        log_rate: np.ndarray,
        event: np.ndarray,
        *,
        exposure: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> HazardCalibrator:
        """Fit on person-period rows of held-out forms."""
        log_rate = np.asarray(log_rate, dtype=np.float64)
        weight = np.ones_like(log_rate) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        centre = float(np.average(log_rate, weights=weight * exposure))
        x = log_rate - centre
        theta = np.array([0.0, 1.0])
        log_exposure = np.log(exposure)

        def loglik(params: np.ndarray) -> float:
            eta = params[0] + params[1] * x + centre + log_exposure
            return float(np.sum(weight * (event * eta - np.exp(eta))))

        current = loglik(theta)
        for iteration in range(1, 51):
            mu = np.exp(theta[0] + theta[1] * x + centre + log_exposure)
            residual = weight * (event - mu)
            gradient = np.array([residual.sum(), (residual * x).sum()])
            wm = weight * mu
            hessian = np.array([[wm.sum(), (wm * x).sum()], [(wm * x).sum(), (wm * x * x).sum()]])
            step = np.linalg.solve(hessian + 1e-12 * np.eye(2), gradient)
            for _ in range(30):  # step halving keeps every iteration an improvement
                proposal = theta + step
                value = loglik(proposal)
                if value >= current - 1e-12:
                    break
                step /= 2.0
            theta, improvement, current = proposal, value - current, value
            if np.abs(step).max() < 1e-9 or abs(improvement) < 1e-10 * max(1.0, abs(current)):
                break
        self.slope_ = float(theta[1])
        self.intercept_ = float(theta[0] + centre - theta[1] * centre)
        self.n_iter_ = iteration
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self)
