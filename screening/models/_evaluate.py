"""Evaluation of long-absence risks: discrimination, calibration, capacity, net benefit, subgroups.

Which forms and which outcome
-----------------------------
At horizon ``h`` only forms still undecided are scored: ``sick_weeks < h`` (a form
already past ``h`` has risk 1 by definition and would flatter every metric). The
outcome is ``absence > h``:

* given directly (``outcome=``), e.g. the true duration on a simulated cohort; or
* read from the training columns. Then a form counts only if its possible
  follow-up reaches the horizon: the data were extracted on one day, so a form
  received ``f`` weeks before the extraction can show at most ``sick_weeks + f``
  weeks of absence, and one that cannot reach ``h`` says nothing about ``h``
  (keeping it would push the observed rate down and the weights up without
  bound). The extraction date is the latest end of a censored spell (or given as
  ``extraction_date=``); forms with no date cannot be placed and are left out of
  this reading, and counted. Among the forms that can reach ``h``, the outcome is
  known for ended spells and for spells followed past ``h``; the rest (censored
  early for other reasons) are represented by the inverse probability of
  censoring weights (IPCW, Kaplan-Meier of the censoring time since the form).
  The notes report the effective sample size (Kish) and the smallest censoring
  probability G; below :data:`CENSORING_WEIGHT_FLOOR` the figures are flagged,
  and with fewer than :data:`MIN_EFFECTIVE_FORMS` effective forms (or one
  outcome class only) the horizon is refused with :class:`NotEvaluableError`.

Metrics
-------
AUC, Brier score, log loss, expected calibration error (``n_bins`` bins of equal
count by predicted risk; the count-weighted mean of |observed - predicted|),
calibration slope and intercept (logistic recalibration ``logit P(y) = a + b
logit(p)``: slope ``b``; intercept = calibration-in-the-large, ``a`` with ``b``
fixed at 1), mean predicted risk against the observed rate and their distance
(``calibration_in_the_large``, mean risk - observed rate in risk points, and its size
``calibration_gap``), precision and recall
at a consultant's capacity, net benefit over thresholds (decision curve). With
``true_risk`` (simulations): mean absolute error against it and its cross-entropy.

Capacity is measured on the list consultants get: every form of a week (per
``capacity_by`` group) in the early queue (``sick_weeks`` < 13, as the scoring
ranks them) is ranked by its 13-week risk whether or not its outcome will be
known, the top ``capacity`` are selected, and only then are the selected forms
with a known outcome weighted.

Uncertainty
-----------
Every figure carries a 95 % percentile interval from a seeded bootstrap over
forms (``n_boot`` replicates; each replicate reweights the forms by how often it
drew them, so the capacity selection and the bins stay those of the data). Two
sizes of an error, which a replicate's noise only makes larger, are given theirs
another way (:func:`_metric_interval`): ``calibration_gap`` from the interval of the
signed ``calibration_in_the_large``, ``ece`` from its replicates less their mean
excess over the estimate; a percentile interval sat wholly above them on small sets. Per
subgroup the same, on the same replicates; a group with fewer than
``min_group`` effective forms is reported as too small, without figures.
:func:`compare_paired` gives the paired difference of two sources on the same
replicates, for a promotion guard that decides on intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from screening.intake import MAIN_HORIZON
from screening.models._risk_model import _form_dates

EPSILON = 1e-6
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (16, 29, "16-29"), (30, 39, "30-39"), (40, 49, "40-49"), (50, 59, "50-59"), (60, 75, "60-75"),
)
SUBGROUPS: tuple[str, ...] = ("sex", "age_band", "diagnosis_group", "jobcenter")
THRESHOLDS: np.ndarray = np.round(np.arange(0.05, 0.951, 0.05), 2)
#: Fewest effective forms (Kish) with a known outcome a horizon needs to be evaluated at all.
MIN_EFFECTIVE_FORMS = 100
#: A subgroup with fewer effective forms than this is reported as too small (no figures).
MIN_GROUP_FORMS = 100
#: Smallest probability of staying observed (G) the IPCW figures are trusted at: a
#: known outcome then stands for at most 1 / 0.5 = 2 forms. Below it the notes warn.
CENSORING_WEIGHT_FLOOR = 0.5
#: Bootstrap replicates behind every interval, and their seed.
N_BOOT = 200
BOOT_SEED = 20_261_126
#: The queue whose forms take contact slots, and the horizon they are ranked by.
LIST_HORIZON = MAIN_HORIZON


class NotEvaluableError(ValueError):
    """The data cannot say how good the risks are at this horizon (one line, for the user)."""


# ---------------------------------------------------------------- metric functions
def _weights(weight: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)


def brier(y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Weighted Brier score."""
    return float(np.average((p - y) ** 2, weights=_weights(sample_weight, len(y))))


def log_loss(y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Weighted log loss (risks clipped to [1e-6, 1 - 1e-6])."""
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return float(np.average(-(y * np.log(p) + (1 - y) * np.log(1 - p)), weights=_weights(sample_weight, len(y))))


def auc(y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Weighted ROC AUC; NaN when only one class is present."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, p, sample_weight=sample_weight))


def reliability_table(
    y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None, *, n_bins: int = 10
) -> pd.DataFrame:
    """Equal-count bins by predicted risk: ``n``, ``weight``, ``predicted``, ``observed``."""
    weight = _weights(sample_weight, len(y))
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=np.int64)
    bins[order] = np.minimum((np.arange(len(p)) * n_bins) // max(len(p), 1), n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "w": weight, "wp": weight * p, "wy": weight * y})
    table = frame.groupby("bin").agg(n=("w", "size"), weight=("w", "sum"), wp=("wp", "sum"), wy=("wy", "sum"))
    return pd.DataFrame({
        "n": table["n"], "weight": table["weight"],
        "predicted": table["wp"] / table["weight"], "observed": table["wy"] / table["weight"],
    })


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None, *, n_bins: int = 10
) -> float:
    """Weighted mean over equal-count bins of |observed rate - mean predicted risk|."""
    table = reliability_table(y, p, sample_weight, n_bins=n_bins)
    return float(np.average((table["observed"] - table["predicted"]).abs(), weights=table["weight"]))


def _logistic_fit(y: np.ndarray, logit: np.ndarray, weight: np.ndarray, *, slope_free: bool) -> tuple[float, float]:
    """Newton's method for logit P(y) = a + b·logit (b fixed at 1 unless slope_free)."""
    a, b = 0.0, 1.0
    for _ in range(100):
        eta = a + b * logit
        with np.errstate(over="ignore"):  # exp overflow is mu = 0, as it should be
            mu = 1.0 / (1.0 + np.exp(-eta))
        r = weight * (y - mu)
        v = weight * mu * (1.0 - mu) + 1e-12
        if slope_free:
            gradient = np.array([r.sum(), (r * logit).sum()])
            hessian = np.array([[v.sum(), (v * logit).sum()], [(v * logit).sum(), (v * logit * logit).sum()]])
            step = np.linalg.solve(hessian, gradient)
            a, b = a + step[0], b + step[1]
        else:
            step = np.array([r.sum() / v.sum(), 0.0])
            a += step[0]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def calibration_slope_intercept(
    y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[float, float]:
    """Calibration slope (logistic recalibration) and intercept (calibration-in-the-large)."""
    p = np.clip(p, EPSILON, 1 - EPSILON)
    logit = np.log(p / (1 - p))
    weight = _weights(sample_weight, len(y))
    _, slope = _logistic_fit(y, logit, weight, slope_free=True)
    intercept, _ = _logistic_fit(y, logit, weight, slope_free=False)
    return slope, intercept


def net_benefit(
    y: np.ndarray, p: np.ndarray, thresholds: np.ndarray, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Net benefit of contacting everyone with risk >= each threshold (decision curve)."""
    weight = _weights(sample_weight, len(y))
    total = weight.sum()
    out = []
    for threshold in thresholds:
        chosen = p >= threshold
        true_positive = (weight * (chosen & (y == 1))).sum() / total
        false_positive = (weight * (chosen & (y == 0))).sum() / total
        out.append(true_positive - false_positive * threshold / (1 - threshold))
    return np.asarray(out)


def top_k_per_batch(p: np.ndarray, batch: np.ndarray, k: int) -> np.ndarray:
    """True for the ``k`` highest risks within each batch (ties broken by position)."""
    order = np.lexsort((np.arange(len(p)), -p, batch))
    sorted_batch = batch[order]
    starts = np.r_[0, np.flatnonzero(sorted_batch[1:] != sorted_batch[:-1]) + 1]
    rank_in_batch = np.arange(len(p)) - np.repeat(starts, np.diff(np.r_[starts, len(p)]))
    chosen = np.zeros(len(p), dtype=bool)
    chosen[order] = rank_in_batch < k
    return chosen


def precision_at_capacity(
    y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None, *, selected: np.ndarray
) -> float:
    """Weighted share of long absences among the forms selected."""
    weight = _weights(sample_weight, len(y)) * selected
    return float((weight * y).sum() / weight.sum()) if weight.sum() > 0 else float("nan")


def recall_at_capacity(
    y: np.ndarray, p: np.ndarray, sample_weight: np.ndarray | None = None, *, selected: np.ndarray
) -> float:
    """Weighted share of the long absences that were selected."""
    weight = _weights(sample_weight, len(y)) * y
    return float((weight * selected).sum() / weight.sum()) if weight.sum() > 0 else float("nan")


def _ipcw(forms: pd.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, IPCW weight (0 where unknown) and G(decision-) of each form."""
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
    weeks = forms["absence_weeks"].to_numpy(dtype=np.float64)
    ended = forms["spell_ended"].astype("boolean").to_numpy(dtype=bool, na_value=False)
    observed = np.maximum(weeks - entry, 0.0)
    y = weeks > horizon
    known = ended | y
    decided = np.where(y, np.maximum(horizon - entry, 0.0), observed)
    # Kaplan-Meier of censoring on the time since the form, up to each form's decision: the
    # "events" are the spells censored before their outcome was decided; a form leaves the risk
    # set when decided (a later censoring, e.g. at the extraction, cannot hide its outcome).
    unknown = ~known
    stop = np.where(known, decided, observed)
    times = np.unique(stop[unknown])
    at_risk = len(stop) - np.searchsorted(np.sort(stop), times, side="left")
    censorings = np.bincount(np.searchsorted(times, stop[unknown]), minlength=len(times))
    survival = np.cumprod(1.0 - censorings / np.maximum(at_risk, 1))
    # G(decided-): censoring survival just before the decision time.
    index = np.searchsorted(times, decided, side="left") - 1
    g = np.where(index >= 0, survival[np.maximum(index, 0)], 1.0) if len(times) else np.ones(len(stop))
    weight = np.where(known, 1.0 / np.maximum(g, 1e-3), 0.0)
    return y, weight, np.where(known, g, np.nan)


def ipcw_outcome(forms: pd.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Outcome ``absence > horizon`` and IPCW weights (0 where the outcome is unknown).

    The censoring distribution is the Kaplan-Meier estimate of the time from the form
    to censoring; a known outcome is weighted by 1 / P(not censored before it was
    decided), the decision time being the return (if before ``horizon``) or ``horizon``.
    It assumes every form's follow-up could reach ``horizon``: :func:`evaluate` first
    keeps only such forms (see :func:`follow_up_weeks`).
    """
    y, weight, _ = _ipcw(forms, horizon)
    return y, weight


def extraction_date(forms: pd.DataFrame) -> pd.Timestamp | None:
    """The day the training extract was taken, read from the forms themselves.

    A spell still going on at extraction ends its record that day: the extraction is
    the latest end of a censored spell (first sick day + ``absence_weeks``), and never
    before the newest form. None when no form carries a date.
    """
    days = _form_dates(forms)
    if np.isnan(days).all():
        return None
    latest = float(np.nanmax(days))
    if {"absence_weeks", "spell_ended"} <= set(forms.columns):
        censored = ~forms["spell_ended"].astype("boolean").to_numpy(dtype=bool, na_value=False)
        start = days - 7.0 * forms["sick_weeks"].to_numpy(dtype=np.float64)
        if "sick_leave_start" in forms:  # the first sick day itself, where given (sick_weeks is rounded)
            given = pd.to_datetime(forms["sick_leave_start"])
            given = (given - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan) / 86400
            start = np.where(np.isnan(given), start, given)
        ends = start + 7.0 * forms["absence_weeks"].to_numpy(dtype=np.float64)
        ends = ends[censored & ~np.isnan(ends)]
        if len(ends):
            latest = max(latest, float(np.max(ends)))
    return pd.Timestamp(0) + pd.Timedelta(days=int(np.floor(latest + 0.01)))


def follow_up_weeks(forms: pd.DataFrame, extraction: Any) -> np.ndarray:
    """Weeks from the first sick day an extract taken on ``extraction`` can follow each form to.

    ``sick_weeks`` plus the weeks from the form's receipt to the extraction; NaN for a
    form with no date (its follow-up cannot be known in advance).
    """
    day = (pd.Timestamp(extraction) - pd.Timestamp(0)).total_seconds() / 86400.0
    return forms["sick_weeks"].to_numpy(dtype=np.float64) + (day - _form_dates(forms)) / 7.0


def _age_band(age: pd.Series) -> pd.Series:
    values = age.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    labels = np.full(len(values), None, dtype=object)
    for low, high, label in AGE_BANDS:
        labels[(values >= low) & (values <= high)] = label
    return pd.Series(labels, index=age.index, dtype="str")


def _risks_of(source: Any, forms: pd.DataFrame, *horizons: float) -> list[np.ndarray | None]:
    """Risks at each of ``horizons`` from a RiskModel, a fitted peer, a frame of risks or an array.

    A model predicts once for all of them. A peer or an array has one risk, used at every
    horizon; a frame gives None for a horizon it has no column for.
    """
    if hasattr(source, "predict_risk"):
        frame = source.predict_risk(forms)
        return [frame[f"risk_{h:g}"].to_numpy(dtype=np.float64) for h in horizons]
    if hasattr(source, "predict_proba"):
        from screening.models._peers import plain_inputs

        return [source.predict_proba(plain_inputs(forms))[:, 1]] * len(horizons)
    if isinstance(source, pd.DataFrame):
        return [source[f"risk_{h:g}"].to_numpy(dtype=np.float64) if f"risk_{h:g}" in source else None
                for h in horizons]
    values = np.asarray(source, dtype=np.float64)
    if values.shape != (len(forms),):
        raise ValueError(f"risks must have one value per form ({len(forms)}), got shape {values.shape}")
    return [values] * len(horizons)


# ---------------------------------------------------------------- fast metrics (bootstrap)
class _Scorer:
    """Every metric of one source in O(n) per set of weights: the sort, the bins and the
    logits are computed once, so a bootstrap replicate is a handful of weighted sums."""

    def __init__(self, y: np.ndarray, p: np.ndarray, *, selected: np.ndarray | None,
                 truth: np.ndarray | None, n_bins: int) -> None:
        self.y = y.astype(np.float64)
        self.p = p
        order = np.argsort(p, kind="stable")
        self.order = order
        sorted_p = p[order]
        self.tie_starts = np.r_[0, np.flatnonzero(np.diff(sorted_p) > 0) + 1]
        bins = np.empty(len(p), dtype=np.int64)
        bins[order] = np.minimum((np.arange(len(p)) * n_bins) // max(len(p), 1), n_bins - 1)
        self.bins, self.n_bins = bins, n_bins
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        self.logit = np.log(pc / (1 - pc))
        self.loss = -(self.y * np.log(pc) + (1 - self.y) * np.log(1 - pc))
        self.squared = (p - self.y) ** 2
        self.selected = selected
        if truth is not None:
            q = np.clip(truth, EPSILON, 1 - EPSILON)
            self.abs_error = np.abs(p - truth)
            self.cross_entropy = -(q * np.log(pc) + (1 - q) * np.log(1 - pc))
        self.truth = truth

    def _auc(self, w: np.ndarray) -> float:
        wp = (w * self.y)[self.order]
        wn = (w * (1 - self.y))[self.order]
        pos = np.add.reduceat(wp, self.tie_starts) if len(wp) else wp
        neg = np.add.reduceat(wn, self.tie_starts) if len(wn) else wn
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos <= 0 or total_neg <= 0:
            return float("nan")
        below = np.cumsum(neg) - neg
        return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))

    def __call__(self, w: np.ndarray) -> dict[str, float]:
        total = w.sum()
        if total <= 0:
            return {}
        wy = (w * self.y).sum()
        bin_w = np.bincount(self.bins, weights=w, minlength=self.n_bins)
        bin_p = np.bincount(self.bins, weights=w * self.p, minlength=self.n_bins)
        bin_y = np.bincount(self.bins, weights=w * self.y, minlength=self.n_bins)
        filled = bin_w > 0
        ece = float(np.abs(bin_y[filled] - bin_p[filled]).sum() / total)
        slope = intercept = float("nan")
        if 0 < wy < total:
            _, slope = _logistic_fit(self.y, self.logit, w, slope_free=True)
            intercept, _ = _logistic_fit(self.y, self.logit, w, slope_free=False)
        out = {
            "auc": self._auc(w),
            "brier": float((w * self.squared).sum() / total),
            "log_loss": float((w * self.loss).sum() / total),
            "ece": ece,
            "calibration_slope": slope,
            "calibration_intercept": intercept,
            "mean_risk": float((w * self.p).sum() / total),
            "observed_rate": float(wy / total),
        }
        # Signed calibration-in-the-large in risk points (> 0: the risks are too high); the
        # intercept above is the same question on the logit scale, the gap its size.
        out["calibration_in_the_large"] = out["mean_risk"] - out["observed_rate"]
        out["calibration_gap"] = abs(out["calibration_in_the_large"])
        if self.selected is not None:
            chosen = w * self.selected
            out["precision_at_capacity"] = float((chosen * self.y).sum() / chosen.sum()) if chosen.sum() > 0 else float("nan")
            out["recall_at_capacity"] = float((chosen * self.y).sum() / wy) if wy > 0 else float("nan")
        if self.truth is not None:
            out["mae_true_risk"] = float((w * self.abs_error).sum() / total)
            out["cross_entropy_true_risk"] = float((w * self.cross_entropy).sum() / total)
        return out


def _replicate_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each of ``n`` forms is drawn in each bootstrap replicate: (n_boot, n)."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]).astype(np.float64)


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) < 10:
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _metric_interval(metric: str, estimate: float, replicates: Sequence[Mapping[str, float]]) -> tuple[float, float]:
    """The 95 % interval of one metric from its bootstrap replicates (see the module's "Uncertainty").

    A size of an error (``calibration_gap``, ``ece``) only grows with a replicate's
    noise, so its percentile interval sat above the estimate on small sets (an analyst's
    report: ``ECE 0.023 [0.028, 0.069]``). ``calibration_gap`` takes the interval of the
    signed ``calibration_in_the_large`` and its size (from 0 when that interval holds 0);
    ``ece`` the percentile interval of its replicates less their mean excess over the
    estimate (the bias the bootstrap itself adds), at least 0. Every other metric: the
    percentile interval.
    """
    if metric == "calibration_gap":
        low, high = _interval(np.array([r.get("calibration_in_the_large", np.nan) for r in replicates]))
        if not (np.isfinite(low) and np.isfinite(high)):
            return low, high
        if low <= 0.0 <= high:
            return 0.0, max(-low, high)
        return min(abs(low), abs(high)), max(abs(low), abs(high))
    values = np.array([r.get(metric, np.nan) for r in replicates], dtype=np.float64)
    if metric == "ece" and np.isfinite(estimate):
        values = values[np.isfinite(values)]
        if len(values) < 10:
            return float("nan"), float("nan")
        low, high = np.percentile(values - (values.mean() - estimate), [2.5, 97.5])
        return max(float(low), 0.0), max(float(high), 0.0)
    return _interval(values)


def _effective_n(weight: np.ndarray) -> float:
    """Kish's effective sample size of a set of weights."""
    square = float((weight ** 2).sum())
    return float(weight.sum() ** 2 / square) if square > 0 else 0.0


# ---------------------------------------------------------------- the evaluation
@dataclass
class Evaluation:
    """Metrics of one set of risks against outcomes, with subgroups and comparisons.

    Attributes
    ----------
    metrics : dict
        Metrics of the evaluated risks (see the module docstring).
    comparison : pandas.DataFrame
        One row per scored source: ``model``, each peer, ``true_risk`` when given.
    subgroups : pandas.DataFrame
        Metrics of the evaluated risks by (``attribute``, ``group``).
    reliability : pandas.DataFrame
        The reliability table behind the ECE.
    decision_curve : pandas.DataFrame
        Net benefit by threshold for each source, ``contact_all`` and ``contact_none``.
    notes : dict
        Population (forms, effective sample size, extraction date, follow-up), outcome
        source, weights, capacity rule, bootstrap, warnings.
    intervals : pandas.DataFrame
        95 % bootstrap interval of every metric of every source: index (``source``,
        ``metric``), columns ``estimate``, ``low``, ``high``.
    """

    metrics: dict[str, float]
    comparison: pd.DataFrame
    subgroups: pd.DataFrame
    reliability: pd.DataFrame
    decision_curve: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)
    intervals: pd.DataFrame = field(default_factory=pd.DataFrame)

    def interval(self, metric: str, *, source: str = "model") -> tuple[float, float]:
        """The 95 % interval of one metric (NaN, NaN when not bootstrapped)."""
        if (source, metric) not in self.intervals.index:
            return float("nan"), float("nan")
        row = self.intervals.loc[(source, metric)]
        return float(row["low"]), float(row["high"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for JSON and MLflow)."""
        subgroups = self.subgroups.reset_index()
        return {
            "metrics": self.metrics,
            "comparison": self.comparison.reset_index().to_dict(orient="records"),
            "subgroups": _records(subgroups),
            "reliability": self.reliability.reset_index().to_dict(orient="records"),
            "decision_curve": self.decision_curve.reset_index().to_dict(orient="records"),
            "intervals": _records(self.intervals.reset_index()) if len(self.intervals) else [],
            "notes": self.notes,
        }

    def plot_reliability(self, ax: Any = None) -> Any:
        """Reliability diagram (observed rate against mean predicted risk per bin)."""
        plt = _pyplot()
        ax = ax if ax is not None else plt.subplots(figsize=(4.5, 4.5))[1]
        table = self.reliability
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
        ax.plot(table["predicted"], table["observed"], marker="o", label="model")
        ax.set_xlabel("mean predicted risk")
        ax.set_ylabel("observed rate")
        ax.set_title(f"Reliability at {self.notes.get('horizon', '?')} weeks (ECE {self.metrics['ece']:.3f})")
        ax.legend(loc="upper left")
        return ax

    def plot_decision_curve(self, ax: Any = None) -> Any:
        """Decision curve: net benefit against the threshold risk."""
        plt = _pyplot()
        ax = ax if ax is not None else plt.subplots(figsize=(5.5, 4))[1]
        curve = self.decision_curve
        for column in curve.columns:
            style = {"linestyle": ":"} if column.startswith("contact_") else {}
            ax.plot(curve.index, curve[column], label=column, **style)
        top = float(np.nanmax(curve.to_numpy())) if curve.size else 0.1
        ax.set_ylim(-0.05, max(top * 1.1, 0.05))
        ax.set_xlabel("threshold risk")
        ax.set_ylabel("net benefit")
        ax.legend()
        return ax


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'screening[train]'") from None
    return plt


def _selection(
    forms: pd.DataFrame, list_risks: np.ndarray, *, capacity: int, capacity_by: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The forms a consultant's weekly list selects, ranked as the scoring ranks them.

    Every dated form of the early queue (``sick_weeks`` < the list's horizon) of a week
    of receipt (per ``capacity_by`` group) is ranked by ``list_risks``, whatever will be
    known of its outcome; the top ``capacity`` are selected. Returns (selected, dated).
    """
    days = _form_dates(forms)
    dated = ~np.isnan(days)
    early = forms["sick_weeks"].to_numpy(dtype=np.float64) < LIST_HORIZON
    week = np.where(dated, np.floor(np.nan_to_num(days) / 7.0), -1).astype(np.int64)
    if capacity_by is not None and capacity_by in forms:
        site = pd.Categorical(forms[capacity_by].astype(object).fillna("(none)")).codes.astype(np.int64)
    else:
        site = np.zeros(len(forms), dtype=np.int64)
    batch = site * (int(week.max(initial=0)) + 2) + (week + 1)
    pool = dated & early
    selected = np.zeros(len(forms), dtype=bool)
    selected[pool] = top_k_per_batch(list_risks[pool], batch[pool], capacity)
    return selected, dated


def _source_scorer(
    forms: pd.DataFrame, scored: np.ndarray, y: np.ndarray, risks: np.ndarray, ranking: np.ndarray | None, *,
    truth: np.ndarray | None, capacity: int, capacity_by: str | None, n_bins: int,
) -> tuple[_Scorer, np.ndarray, np.ndarray]:
    """One source's scorer on the evaluated forms, its list selected by ``ranking`` (else its own risks)."""
    selected, dated = _selection(forms, risks if ranking is None else ranking, capacity=capacity,
                                 capacity_by=capacity_by)
    scorer = _Scorer(y, risks[scored], selected=selected[scored],
                     truth=None if truth is None else truth[scored], n_bins=n_bins)
    return scorer, selected, dated


@dataclass
class _Population:
    """Which forms a horizon is evaluated on, their outcome and weights, and the facts."""

    scored: np.ndarray
    y: np.ndarray
    w: np.ndarray
    notes: dict[str, Any]


def _population(
    forms: pd.DataFrame, horizon: float, outcome: Any, extraction: Any
) -> _Population:
    """The forms that can say something about ``horizon``; refuses when too few can."""
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
    at_risk = entry < horizon
    notes: dict[str, Any] = {"horizon": horizon, "forms": int(len(forms)),
                             "forms_past_horizon_at_entry": int((~at_risk).sum()), "warnings": []}
    if outcome is not None:
        y = np.asarray(outcome, dtype=bool)
        w = np.ones(len(forms))
        scored = at_risk
        notes["outcome"] = "given"
    else:
        extraction = extraction if extraction is not None else extraction_date(forms)
        reach = follow_up_weeks(forms, extraction) if extraction is not None else np.full(len(forms), np.nan)
        reachable = at_risk & (reach >= horizon - 1e-9)
        y = np.zeros(len(forms), dtype=bool)
        w = np.zeros(len(forms))
        g = np.full(len(forms), np.nan)
        if reachable.any():
            y_r, w_r, g_r = _ipcw(forms[reachable], horizon)
            y[reachable], w[reachable], g[reachable] = y_r, w_r, g_r
        scored = reachable & (w > 0)
        min_g = float(np.nanmin(g[scored])) if scored.any() else float("nan")
        notes.update({
            "outcome": "absence_weeks > horizon from the training columns, on forms whose follow-up reaches "
                       "the horizon; censored-before-horizon among them unknown, IPCW",
            "extraction_date": None if extraction is None else str(pd.Timestamp(extraction).date()),
            "forms_follow_up_too_short": int((at_risk & (reach < horizon - 1e-9)).sum()),
            "forms_undated_follow_up_unknown": int((at_risk & np.isnan(reach)).sum()),
            "forms_outcome_unknown": int((reachable & (w == 0)).sum()),
            "min_censoring_probability": min_g,
            "censoring_weight_floor": CENSORING_WEIGHT_FLOOR,
        })
        if scored.any() and min_g < CENSORING_WEIGHT_FLOOR:
            notes["warnings"].append(
                f"some outcomes stand for up to {1 / min_g:.1f} forms (probability of staying observed "
                f"{min_g:.2f} < {CENSORING_WEIGHT_FLOOR}): the figures at {horizon:g} weeks lean on few forms")
    ess = _effective_n(w[scored])
    notes["forms_scored"] = int(scored.sum())
    notes["effective_sample_size"] = round(ess, 1)
    if outcome is None:
        positives = float((w[scored] * y[scored]).sum())
        if ess < MIN_EFFECTIVE_FORMS or positives <= 0 or positives >= w[scored].sum():
            why = (f"only {ess:.0f} forms (effective) have follow-up to {horizon:g} weeks "
                   f"(at least {MIN_EFFECTIVE_FORMS} are needed)" if ess < MIN_EFFECTIVE_FORMS else
                   f"the {int(scored.sum())} forms with follow-up to {horizon:g} weeks all have the same outcome")
            extract = notes.get("extraction_date") or "unknown"
            raise NotEvaluableError(
                f"cannot evaluate at {horizon:g} weeks: {why}; the data were extracted {extract}, so a form shows "
                f"this outcome only if its first sick day was at least {horizon:g} weeks before that. Evaluate "
                "older forms or a shorter horizon")
    return _Population(scored=scored, y=y, w=w, notes=notes)


@dataclass
class PairedComparison:
    """Two sources of risks on the same forms, compared on the same bootstrap replicates.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per metric: ``candidate``, ``reference``, ``difference`` (candidate -
        reference) and the 95 % interval of the difference, ``low`` and ``high``.
    notes : dict
        The evaluated population (horizon, forms, effective sample size, ...).
    """

    table: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)


def compare_paired(
    candidate: Any,
    reference: Any,
    forms: pd.DataFrame,
    *,
    horizon: float = MAIN_HORIZON,
    outcome: np.ndarray | pd.Series | None = None,
    extraction: Any = None,
    capacity: int = 10,
    capacity_by: str | None = "jobcenter",
    n_bins: int = 10,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> PairedComparison:
    """Paired difference of every metric between two sources of risks on the same forms.

    Parameters
    ----------
    candidate, reference : RiskModel, fitted peer, DataFrame of ``risk_<h>`` or array
        The two sources (e.g. a newly trained model and the champion).
    forms : pandas.DataFrame
        Validated forms; with the training columns unless ``outcome`` is given.
    horizon : float, default 13
    outcome, extraction, capacity, capacity_by, n_bins
        As in :func:`evaluate`.
    n_boot : int, default 200
        Bootstrap replicates (the same for both sources: the interval is of the paired
        difference, much narrower than the two separate intervals suggest).
    seed : int
        Seed of the replicates.

    Returns
    -------
    PairedComparison

    Raises
    ------
    NotEvaluableError
        Too few forms can show the outcome at ``horizon``.
    """
    population = _population(forms, horizon, outcome, extraction)
    scored, y, w = population.scored, population.y[population.scored], population.w[population.scored]
    counts = _replicate_counts(int(scored.sum()), n_boot, seed)
    values = {}
    replicates = {}
    for name, source in (("candidate", candidate), ("reference", reference)):
        risks, list_risks = _risks_of(source, forms, horizon, LIST_HORIZON)
        scorer, _, _ = _source_scorer(forms, scored, y, risks, list_risks, truth=None, capacity=capacity,
                                      capacity_by=capacity_by, n_bins=n_bins)
        values[name] = scorer(w)
        replicates[name] = [scorer(w * c) for c in counts]
    rows = []
    for metric in values["candidate"]:
        diffs = np.array([c.get(metric, np.nan) - r.get(metric, np.nan)
                          for c, r in zip(replicates["candidate"], replicates["reference"], strict=True)])
        low, high = _interval(diffs)
        rows.append({"metric": metric, "candidate": values["candidate"][metric],
                     "reference": values["reference"][metric],
                     "difference": values["candidate"][metric] - values["reference"][metric],
                     "low": low, "high": high})
    notes = population.notes | {"bootstrap": f"{n_boot} paired replicates, seed {seed}, 95 % percentile intervals"}
    return PairedComparison(table=pd.DataFrame(rows).set_index("metric"), notes=notes)


def evaluate(
    model_or_risks: Any,
    forms: pd.DataFrame,
    *,
    horizon: float = 13,
    outcome: np.ndarray | pd.Series | None = None,
    true_risk: np.ndarray | pd.Series | pd.DataFrame | None = None,
    peers: Mapping[str, Any] | None = None,
    capacity: int = 10,
    capacity_by: str | None = "jobcenter",
    subgroups: Sequence[str] = SUBGROUPS,
    n_bins: int = 10,
    extraction: Any = None,
    n_boot: int = N_BOOT,
    min_group: int = MIN_GROUP_FORMS,
    seed: int = BOOT_SEED,
) -> Evaluation:
    """Evaluate risks of an absence longer than ``horizon`` weeks, with 95 % intervals.

    Parameters
    ----------
    model_or_risks : RiskModel, fitted peer, DataFrame of ``risk_<h>`` or array
        The risks to evaluate (one per form). A model or a frame with ``risk_13`` also
        gives the 13-week ranking of the consultant's list (capacity); a bare array is
        its own ranking.
    forms : pandas.DataFrame
        Validated forms; with the training columns unless ``outcome`` is given.
    horizon : float, default 13
        Weeks from the first sick day.
    outcome : array-like of bool, optional
        ``absence > horizon`` per form, when known exactly (simulations). By
        default it is read from ``absence_weeks`` / ``spell_ended`` on the forms whose
        follow-up reaches the horizon, with IPCW weights for other censoring.
    true_risk : array-like or DataFrame, optional
        The true risk per form (simulations): adds ``mae_true_risk`` and
        ``cross_entropy_true_risk``, and a ``true_risk`` row to the comparison.
    peers : mapping of str to RiskModel, fitted peer or risks, optional
        Other sources scored the same way (``comparison``, ``decision_curve``).
    capacity : int, default 10
        Forms a consultant can call per week (per ``capacity_by`` group).
    capacity_by : str or None, default "jobcenter"
        Column whose groups each have that capacity; None = one consultant.
    subgroups : sequence of str, default ("sex", "age_band", "diagnosis_group", "jobcenter")
        Attributes to break the metrics down by (``age_band`` is made from ``age``).
    n_bins : int, default 10
        Bins of the ECE and the reliability table.
    extraction : date-like, optional
        Day the data were extracted (default: read from the forms, see
        :func:`extraction_date`).
    n_boot : int, default 200
        Bootstrap replicates behind the intervals (0: no intervals).
    min_group : int, default 100
        Effective forms below which a subgroup is reported as too small.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Evaluation

    Raises
    ------
    NotEvaluableError
        Too few forms can show the outcome at ``horizon`` (a one-line reason).
    """
    population = _population(forms, horizon, outcome, extraction)
    scored = population.scored
    y = population.y[scored].astype(np.float64)
    w = population.w[scored]
    sources: dict[str, np.ndarray] = {}
    list_sources: dict[str, np.ndarray | None] = {}
    for name, source in {"model": model_or_risks, **(peers or {})}.items():
        sources[name], list_sources[name] = _risks_of(source, forms, horizon, LIST_HORIZON)
    truth = None
    if true_risk is not None:
        truth, truth_list = _risks_of(true_risk, forms, horizon, LIST_HORIZON)
        sources["true_risk"] = truth
        # Bare true risks at one horizon cannot rank the 13-week list: it is left unranked by them.
        list_sources["true_risk"] = None if isinstance(true_risk, (np.ndarray, pd.Series)) else truth_list

    counts = _replicate_counts(int(scored.sum()), n_boot, seed) if n_boot else np.empty((0, int(scored.sum())))
    rows, interval_rows = {}, []
    dated = None
    for name, risks in sources.items():
        scorer, selected, dated = _source_scorer(forms, scored, y, risks, list_sources.get(name), truth=truth,
                                                 capacity=capacity, capacity_by=capacity_by, n_bins=n_bins)
        rows[name] = scorer(w)
        replicates = [scorer(w * c) for c in counts]
        for metric, value in rows[name].items():
            low, high = _metric_interval(metric, value, replicates)
            interval_rows.append({"source": name, "metric": metric, "estimate": value, "low": low, "high": high})
        if name == "model":
            model_selected = selected[scored]
    comparison = pd.DataFrame.from_dict(rows, orient="index")
    comparison.index.name = "source"
    intervals = pd.DataFrame(interval_rows).set_index(["source", "metric"])

    p_model = sources["model"][scored]
    reliability = reliability_table(y, p_model, w, n_bins=n_bins)
    curve = {name: net_benefit(y, risks[scored], THRESHOLDS, w) for name, risks in sources.items()}
    curve["contact_all"] = net_benefit(y, np.ones(len(y)), THRESHOLDS, w)
    curve["contact_none"] = np.zeros(len(THRESHOLDS))
    decision_curve = pd.DataFrame(curve, index=pd.Index(THRESHOLDS, name="threshold"))

    table = _subgroup_table(forms[scored], y, p_model, w, model_selected, subgroups, n_bins,
                            counts=counts, min_group=min_group)
    notes = population.notes | {
        "capacity": f"top {capacity} per week of form receipt" + (f" per {capacity_by}" if capacity_by else "")
                    + f" of the early queue (sick_weeks < {LIST_HORIZON}), ranked by the {LIST_HORIZON}-week risk "
                      "before outcomes are looked at",
        "forms_undated_not_in_capacity": int((~dated).sum()) if dated is not None else 0,
        "ece_bins": f"{n_bins} bins of equal count",
        "bootstrap": (f"{n_boot} replicates over forms, seed {seed}, 95 % percentile intervals (calibration_gap from "
                      "calibration_in_the_large's, ece less the bootstrap's bias)") if n_boot else "none",
        "min_group": min_group,
    }
    return Evaluation(
        metrics=rows["model"], comparison=comparison, subgroups=table, reliability=reliability,
        decision_curve=decision_curve, notes=notes, intervals=intervals,
    )


#: Subgroup figures with intervals (the rest are point estimates).
GROUP_INTERVALS: tuple[str, ...] = ("observed_rate", "mean_risk", "auc", "ece", "calibration_intercept",
                                     "calibration_in_the_large")
#: Subgroup figures reported.
GROUP_METRICS: tuple[str, ...] = (
    "observed_rate", "mean_risk", "auc", "brier", "ece", "calibration_intercept", "calibration_in_the_large",
    "precision_at_capacity", "recall_at_capacity",
)


def _subgroup_table(
    forms: pd.DataFrame, y: np.ndarray, p: np.ndarray, w: np.ndarray, selected: np.ndarray,
    attributes: Sequence[str], n_bins: int, *, counts: np.ndarray, min_group: int,
) -> pd.DataFrame:
    """Metrics per group of each attribute, on the evaluation's own bootstrap replicates.

    A group with fewer than ``min_group`` effective forms keeps its counts and loses its
    figures (``status`` says so): its intervals would be too wide to read.
    """
    rows = []
    for attribute in attributes:
        if attribute == "age_band":
            values = _age_band(forms["age"])
        elif attribute in forms:
            values = forms[attribute]
        else:
            continue
        values = values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()
        for group in sorted(set(values)):
            mask = values == group
            row: dict[str, Any] = {"attribute": attribute, "group": group, "n": int(mask.sum()),
                                   "effective_n": round(_effective_n(w[mask]), 1)}
            if row["effective_n"] < min_group:
                row["status"] = f"too small (< {min_group} forms)"
                rows.append(row)
                continue
            scorer = _Scorer(y[mask], p[mask], selected=selected[mask], truth=None,
                             n_bins=min(n_bins, max(int(mask.sum()) // 50, 1)))
            figures = scorer(w[mask])
            row.update({name: figures.get(name, np.nan) for name in GROUP_METRICS})
            if len(counts):
                replicates = [scorer(w[mask] * c[mask]) for c in counts]
                for name in GROUP_INTERVALS:
                    row[f"{name}_low"], row[f"{name}_high"] = _metric_interval(name, figures.get(name, np.nan),
                                                                               replicates)
            row["status"] = "ok"
            rows.append(row)
    columns = ["attribute", "group", "n", "effective_n", *GROUP_METRICS,
               *[f"{name}_{end}" for name in GROUP_INTERVALS for end in ("low", "high")], "status"]
    table = pd.DataFrame(rows, columns=columns).set_index(["attribute", "group"])
    return table
