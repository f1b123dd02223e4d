"""The promotion guard: a candidate becomes champion only if the data say it is not worse.

The candidate and the champion score the same held-out forms; every metric's paired
difference (candidate - champion) gets a 95 % bootstrap interval on the same
replicates (:func:`screening.models.compare_paired`). The candidate passes when,
for each guarded metric, the far end of that interval stays within a stated margin
(non-inferiority): a point estimate a hair better is not enough, and a difference
within noise is not a reason to refuse. A metric that cannot be computed fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: metric -> (direction, margin). Log loss is the proper score (discrimination and
#: calibration at once), AUC the ranking consultants get, the calibration gap |mean risk -
#: observed rate| the level they read. (ECE is left out: on a thousand forms its paired
#: interval is +-0.025 wide from noise alone, so it would refuse equal models.) "lower": smaller is better, the interval's upper end
#: (candidate - champion) must be <= margin; "higher": larger is better, its lower end
#: must be >= -margin.
MARGINS: dict[str, tuple[str, float]] = {
    "log_loss": ("lower", 0.005),
    "auc": ("higher", 0.01),
    "calibration_gap": ("lower", 0.02),
}


@dataclass
class PromotionDecision:
    """What the guard decided and why.

    Attributes
    ----------
    promote : bool
        Whether the candidate may become champion.
    reason : str
        One line for people.
    checks : pandas.DataFrame
        Per guarded metric: candidate, champion, difference, interval, margin, passed.
    notes : dict
        The evaluated population (horizon, forms, effective sample size, bootstrap).
    """

    promote: bool
    reason: str
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (metadata, MLflow)."""
        checks = self.checks.reset_index()
        return {"promote": self.promote, "reason": self.reason,
                "checks": checks.astype(object).where(checks.notna(), None).to_dict(orient="records"),
                "notes": self.notes}


def promotion_guard(
    candidate: Any,
    champion: Any,
    forms: pd.DataFrame,
    *,
    horizon: float = 13,
    margins: dict[str, tuple[str, float]] | None = None,
    capacity: int = 10,
    n_boot: int = 200,
    seed: int = 20_261_126,
) -> PromotionDecision:
    """Decide whether ``candidate`` may replace ``champion``, on intervals of paired differences.

    Parameters
    ----------
    candidate, champion : RiskModel or risks
        The newly trained model and the one in use.
    forms : pandas.DataFrame
        Held-out forms with outcomes (the training columns).
    horizon : float, default 13
    margins : dict, optional
        ``metric -> ("lower" | "higher", margin)``; default :data:`MARGINS`.
    capacity : int, default 10
    n_boot : int, default 200
    seed : int

    Returns
    -------
    PromotionDecision
        Not promoted (with the reason) when the forms cannot show the outcome at
        ``horizon``.
    """
    from screening.models import NotEvaluableError, compare_paired

    margins = MARGINS if margins is None else margins
    try:
        paired = compare_paired(candidate, champion, forms, horizon=horizon, capacity=capacity,
                                n_boot=n_boot, seed=seed)
    except NotEvaluableError as error:
        return PromotionDecision(promote=False, reason=f"not promoted: {error}")
    rows = []
    for metric, (direction, margin) in margins.items():
        row = paired.table.loc[metric]
        if direction == "lower":
            bound, passed = row["high"], bool(row["high"] <= margin)
        else:
            bound, passed = row["low"], bool(row["low"] >= -margin)
        rows.append({"metric": metric, "better": direction, "candidate": row["candidate"],
                     "champion": row["reference"], "difference": row["difference"], "low": row["low"],
                     "high": row["high"], "margin": margin, "bound": bound, "passed": passed})
    checks = pd.DataFrame(rows).set_index("metric")
    failed = [name for name, ok in checks["passed"].items() if not ok]
    if failed:
        worst = ", ".join(f"{name} {checks.loc[name, 'difference']:+.4f} (95 % interval "
                          f"{checks.loc[name, 'low']:+.4f} to {checks.loc[name, 'high']:+.4f}, margin "
                          f"{checks.loc[name, 'margin']:.3f})" for name in failed)
        reason = f"not promoted: may be worse than the champion at {horizon:g} weeks: {worst}"
    else:
        reason = (f"promoted: not worse than the champion at {horizon:g} weeks beyond the margins "
                  f"({', '.join(f'{m} {d:.3f}' for m, (_, d) in margins.items())}) on "
                  f"{paired.notes.get('effective_sample_size', 0):.0f} effective forms")
    return PromotionDecision(promote=not failed, reason=reason, checks=checks, notes=paired.notes)
