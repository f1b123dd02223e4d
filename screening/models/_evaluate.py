"""Evaluation of long-absence risks: discrimination, calibration, capacity, net benefit, subgroups.

Which forms and which outcome
-----------------------------
At horizon ``h`` only forms still undecided are scored: ``sick_weeks < h`` (a form
already past ``h`` has risk 1 by definition and would flatter every metric). The
outcome is ``absence > h``:

* given directly (``outcome=``), e.g. the true duration on a simulated cohort; or
* read from the training columns: known for ended spells and for censored spells
  already past ``h``; the others (censored before ``h``) are unknown. Known outcomes
  are weighted by the inverse probability of still being observed when the outcome
  was decided (IPCW, Kaplan-Meier of the censoring time since the form), so the
  censored are represented by similar forms decided later instead of being counted
  as returns or silently dropped. This assumes censoring does not depend on the
  prognosis, which holds when it comes from the extraction date alone.

Every metric then uses these weights (1 when the outcome was given).

Metrics
-------
AUC, Brier score, log loss, expected calibration error (``n_bins`` bins of equal
count by predicted risk; the count-weighted mean of |observed - predicted|),
calibration slope and intercept (logistic recalibration ``logit P(y) = a + b
logit(p)``: slope ``b``; intercept = calibration-in-the-large, ``a`` with ``b``
fixed at 1), mean predicted risk against the observed rate, precision and recall
at a consultant's capacity (the ``capacity`` highest risks of each week's forms,
per ``capacity_by``), net benefit over thresholds (decision curve). With
``true_risk`` (simulations): mean absolute error against it and its cross-entropy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from screening.models._risk_model import _form_dates

EPSILON = 1e-6
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (16, 29, "16-29"), (30, 39, "30-39"), (40, 49, "40-49"), (50, 59, "50-59"), (60, 75, "60-75"),
)
SUBGROUPS: tuple[str, ...] = ("sex", "age_band", "diagnosis_group", "jobcenter")
THRESHOLDS: np.ndarray = np.round(np.arange(0.05, 0.951, 0.05), 2)


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


def ipcw_outcome(forms: pd.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Outcome ``absence > horizon`` and IPCW weights (0 where the outcome is unknown).

    The censoring distribution is the Kaplan-Meier estimate of the time from the form
    to censoring; a known outcome is weighted by 1 / P(not censored before it was
    decided), the decision time being the return (if before ``horizon``) or ``horizon``.
    """
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
    weeks = forms["absence_weeks"].to_numpy(dtype=np.float64)
    ended = forms["spell_ended"].astype("boolean").to_numpy(dtype=bool, na_value=False)
    observed = np.maximum(weeks - entry, 0.0)
    # Kaplan-Meier of censoring: "events" are censorings, ended spells are censored.
    times = np.unique(observed[~ended])
    at_risk = len(observed) - np.searchsorted(np.sort(observed), times, side="left")
    censorings = np.bincount(np.searchsorted(times, observed[~ended]), minlength=len(times))
    survival = np.cumprod(1.0 - censorings / np.maximum(at_risk, 1))
    y = weeks > horizon
    known = ended | y
    decided = np.where(y, np.maximum(horizon - entry, 0.0), observed)
    # G(decided-): censoring survival just before the decision time.
    index = np.searchsorted(times, decided, side="left") - 1
    g = np.where(index >= 0, survival[np.maximum(index, 0)], 1.0)
    weight = np.where(known, 1.0 / np.maximum(g, 1e-3), 0.0)
    return y, weight


def _age_band(age: pd.Series) -> pd.Series:
    values = age.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    labels = np.full(len(values), None, dtype=object)
    for low, high, label in AGE_BANDS:
        labels[(values >= low) & (values <= high)] = label
    return pd.Series(labels, index=age.index, dtype="str")


def _risks_of(source: Any, forms: pd.DataFrame, horizon: float) -> np.ndarray:
    """Risk at ``horizon`` from a RiskModel, a fitted peer, a frame of risks or an array."""
    if hasattr(source, "predict_risk"):
        return source.predict_risk(forms)[f"risk_{horizon:g}"].to_numpy(dtype=np.float64)
    if hasattr(source, "predict_proba"):
        from screening.models._peers import plain_inputs

        return source.predict_proba(plain_inputs(forms))[:, 1]
    if isinstance(source, pd.DataFrame):
        return source[f"risk_{horizon:g}"].to_numpy(dtype=np.float64)
    values = np.asarray(source, dtype=np.float64)
    if values.shape != (len(forms),):
        raise ValueError(f"risks must have one value per form ({len(forms)}), got shape {values.shape}")
    return values


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
        Population, outcome source, weights, capacity rule.
    """

    metrics: dict[str, float]
    comparison: pd.DataFrame
    subgroups: pd.DataFrame
    reliability: pd.DataFrame
    decision_curve: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for JSON and MLflow)."""
        subgroups = self.subgroups.reset_index()
        return {
            "metrics": self.metrics,
            "comparison": self.comparison.reset_index().to_dict(orient="records"),
            "subgroups": subgroups.astype(object).where(subgroups.notna(), None).to_dict(orient="records"),
            "reliability": self.reliability.reset_index().to_dict(orient="records"),
            "decision_curve": self.decision_curve.reset_index().to_dict(orient="records"),
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


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'screening[train]'") from None
    return plt


def _score(y: np.ndarray, p: np.ndarray, w: np.ndarray, selected: np.ndarray | None,
           truth: np.ndarray | None, n_bins: int) -> dict[str, float]:
    slope, intercept = calibration_slope_intercept(y, p, w)
    out = {
        "auc": auc(y, p, w),
        "brier": brier(y, p, w),
        "log_loss": log_loss(y, p, w),
        "ece": expected_calibration_error(y, p, w, n_bins=n_bins),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "mean_risk": float(np.average(p, weights=w)),
        "observed_rate": float(np.average(y, weights=w)),
    }
    if selected is not None:
        out["precision_at_capacity"] = precision_at_capacity(y, p, w, selected=selected)
        out["recall_at_capacity"] = recall_at_capacity(y, p, w, selected=selected)
    if truth is not None:
        q = np.clip(truth, EPSILON, 1 - EPSILON)
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        out["mae_true_risk"] = float(np.average(np.abs(p - truth), weights=w))
        out["cross_entropy_true_risk"] = float(np.average(-(q * np.log(pc) + (1 - q) * np.log(1 - pc)), weights=w))
    return out


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
) -> Evaluation:
    """Evaluate risks of an absence longer than ``horizon`` weeks.

    Parameters
    ----------
    model_or_risks : RiskModel, fitted peer, DataFrame of ``risk_<h>`` or array
        The risks to evaluate (one per form).
    forms : pandas.DataFrame
        Validated forms; with the training columns unless ``outcome`` is given.
    horizon : float, default 13
        Weeks from the first sick day.
    outcome : array-like of bool, optional
        ``absence > horizon`` per form, when known exactly (simulations). By
        default it is read from ``absence_weeks`` / ``spell_ended`` with IPCW
        weights for censoring.
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

    Returns
    -------
    Evaluation
    """
    entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
    scored = entry < horizon
    if outcome is not None:
        y_all = np.asarray(outcome, dtype=bool)
        w_all = np.ones(len(forms))
        outcome_note = "given"
    else:
        y_all, w_all = ipcw_outcome(forms, horizon)
        outcome_note = "absence_weeks > horizon from the training columns; censored-before-horizon unknown, IPCW"
    scored &= w_all > 0
    sources: dict[str, np.ndarray] = {"model": _risks_of(model_or_risks, forms, horizon)}
    for name, peer in (peers or {}).items():
        sources[name] = _risks_of(peer, forms, horizon)
    truth = None
    if true_risk is not None:
        truth = _risks_of(true_risk, forms, horizon)
        sources["true_risk"] = truth

    sub = forms[scored]
    y = y_all[scored].astype(np.float64)
    w = w_all[scored]
    days = _form_dates(sub)
    dated = ~np.isnan(days)
    week = np.where(dated, np.floor(np.nan_to_num(days) / 7.0), -1).astype(np.int64)
    if capacity_by is not None and capacity_by in sub:
        site = pd.Categorical(sub[capacity_by].astype(object).fillna("(none)")).codes.astype(np.int64)
    else:
        site = np.zeros(len(sub), dtype=np.int64)
    batch = site * (int(week.max(initial=0)) + 2) + (week + 1)

    rows = {}
    for name, risks in sources.items():
        p = risks[scored]
        selected = np.zeros(len(p), dtype=bool)
        selected[dated] = top_k_per_batch(p[dated], batch[dated], capacity)
        rows[name] = _score(y, p, w, selected, None if truth is None else truth[scored], n_bins)
        if name == "model":
            model_selected = selected
    comparison = pd.DataFrame.from_dict(rows, orient="index")
    comparison.index.name = "source"

    p_model = sources["model"][scored]
    reliability = reliability_table(y, p_model, w, n_bins=n_bins)
    curve = {name: net_benefit(y, risks[scored], THRESHOLDS, w) for name, risks in sources.items()}
    curve["contact_all"] = net_benefit(y, np.ones(len(y)), THRESHOLDS, w)
    curve["contact_none"] = np.zeros(len(THRESHOLDS))
    decision_curve = pd.DataFrame(curve, index=pd.Index(THRESHOLDS, name="threshold"))

    table = _subgroup_table(sub, y, p_model, w, model_selected, subgroups, n_bins)
    notes = {
        "horizon": horizon,
        "forms": int(len(forms)),
        "forms_scored": int(scored.sum()),
        "forms_past_horizon_at_entry": int((entry >= horizon).sum()),
        "forms_outcome_unknown": int(((entry < horizon) & (w_all == 0)).sum()),
        "outcome": outcome_note,
        "capacity": f"top {capacity} per week of form receipt" + (f" per {capacity_by}" if capacity_by else ""),
        "forms_undated_not_in_capacity": int((~dated).sum()),
        "ece_bins": f"{n_bins} bins of equal count",
    }
    return Evaluation(
        metrics=rows["model"], comparison=comparison, subgroups=table, reliability=reliability,
        decision_curve=decision_curve, notes=notes,
    )


def _subgroup_table(
    forms: pd.DataFrame, y: np.ndarray, p: np.ndarray, w: np.ndarray, selected: np.ndarray,
    attributes: Sequence[str], n_bins: int,
) -> pd.DataFrame:
    """Metrics per group of each attribute, with fairlearn's MetricFrame."""
    from fairlearn.metrics import MetricFrame

    def count(y_true, y_pred, sample_weight=None):
        return float(len(y_true))

    def mean_risk(y_true, y_pred, sample_weight=None):
        return float(np.average(y_pred, weights=sample_weight))

    def observed_rate(y_true, y_pred, sample_weight=None):
        return float(np.average(y_true, weights=sample_weight))

    def ece(y_true, y_pred, sample_weight=None):
        return expected_calibration_error(np.asarray(y_true), np.asarray(y_pred), sample_weight,
                                          n_bins=min(n_bins, max(len(y_true) // 50, 1)))

    metrics = {
        "n": count, "observed_rate": observed_rate, "mean_risk": mean_risk, "auc": auc, "brier": brier,
        "ece": ece, "precision_at_capacity": precision_at_capacity, "recall_at_capacity": recall_at_capacity,
    }
    params = {name: {"sample_weight": w} for name in metrics}
    params["precision_at_capacity"] = {"sample_weight": w, "selected": selected}
    params["recall_at_capacity"] = {"sample_weight": w, "selected": selected}
    tables = []
    for attribute in attributes:
        if attribute == "age_band":
            values = _age_band(forms["age"])
        elif attribute in forms:
            values = forms[attribute]
        else:
            continue
        values = values.astype(object).where(values.notna(), "(missing)").astype(str)
        frame = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=values.to_numpy(),
                            sample_params=params)
        by_group = frame.by_group.copy()
        by_group.index = pd.MultiIndex.from_product([[attribute], by_group.index], names=["attribute", "group"])
        tables.append(by_group)
    if not tables:
        return pd.DataFrame(columns=list(metrics))
    return pd.concat(tables).astype(float)
