"""Training as a tracked, reproducible run: validate → split by date → fit → evaluate → save → log.

``train_model`` is what ``screening train`` and the notebooks call. It writes a
self-contained model directory (loadable without MLflow) and, unless asked not to,
logs the run to MLflow with the model as a pyfunc.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening._io import file_sha256
from screening.registry._files import save_model_dir

#: Share of the newest forms held out to evaluate the trained model.
TEST_FRACTION = 0.2


@dataclass
class TrainingRun:
    """What a training run produced.

    Attributes
    ----------
    model_dir : pathlib.Path
        The saved model directory.
    metadata : dict
        The model's metadata (as saved).
    evaluation : screening.models.Evaluation
        Held-out evaluation against the plain peers.
    data : dict
        Data fingerprint: hash and counts, no personal data.
    tracking : dict
        MLflow run id, model URI and registry version (empty when not tracked).
    seconds : float
        Wall time of the whole run.
    """

    model_dir: Path
    metadata: dict[str, Any]
    evaluation: Any
    data: dict[str, Any]
    tracking: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _form_days(forms: pd.DataFrame) -> np.ndarray:
    """Day each form arrived (receipt, else first sick day + sick_weeks) as float days; NaN if unknown."""
    from screening.models import form_days

    return form_days(forms)


def split_by_date(forms: pd.DataFrame, *, test_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest ``test_fraction`` of forms (by receipt, else sick-leave start) are the test set.

    A form with neither date gets the date of a dated form drawn at random (seeded),
    so undated forms are as common in the test set as in the training set.
    """
    when = _form_days(forms)
    undated = np.isnan(when)
    rng = np.random.default_rng(seed)
    if undated.all():
        when = rng.random(len(forms))
    elif undated.any():
        when[undated] = rng.choice(when[~undated], size=int(undated.sum()))
    order = np.lexsort((rng.random(len(forms)), when))  # ties in random (seeded) order
    n_test = int(round(len(forms) * test_fraction))
    is_test = np.zeros(len(forms), dtype=bool)
    is_test[order[len(forms) - n_test:]] = True
    return forms.iloc[~is_test], forms.iloc[is_test]


def censor_at(forms: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Training forms as an extract taken on ``cutoff`` would have shown them.

    A spell still going on at ``cutoff`` is censored there, so the model never learns
    an outcome from the test period. Forms with no date cannot be placed and are left
    as they are. Returns the forms and how many spells were cut.
    """
    start = forms["sick_leave_start"].to_numpy(dtype="datetime64[ns]")
    derived = (forms["form_received"] - pd.to_timedelta(forms["sick_weeks"] * 7, unit="D")).to_numpy(
        dtype="datetime64[ns]")
    start = np.where(np.isnat(start), derived, start)
    limit = (np.datetime64(cutoff, "ns") - start).astype("timedelta64[s]").astype(np.float64) / (7 * 86_400)
    weeks = forms["absence_weeks"].to_numpy(dtype=np.float64)
    cut = ~np.isnat(start) & (weeks > limit)
    if not cut.any():
        return forms, 0
    out = forms.copy()
    out["absence_weeks"] = np.where(cut, np.round(np.maximum(limit, forms["sick_weeks"].to_numpy(dtype=np.float64)),
                                                  3), weeks)
    ended = out["spell_ended"].astype("boolean").copy()
    ended[cut] = False
    out["spell_ended"] = ended
    return out, int(cut.sum())


def evaluation_figures(evaluation: Any) -> dict[str, bytes]:
    """The evaluation's plots as PNG bytes, by their path in a model directory.

    Parameters
    ----------
    evaluation : screening.models.Evaluation
        Held-out evaluation (``evaluate(...)``).

    Returns
    -------
    dict of str to bytes
        ``plots/reliability.png`` and ``plots/decision_curve.png``.
    """
    # A bare Figure, not pyplot: no backend is switched, so notebooks keep showing their plots.
    from matplotlib.figure import Figure

    figures = {}
    for name, draw, title in (
        ("plots/reliability.png", evaluation.plot_reliability, "Calibration on held-out forms (13 weeks)"),
        ("plots/decision_curve.png", evaluation.plot_decision_curve, "Decision curve (net benefit)"),
    ):
        fig = Figure(figsize=(6, 4.5), dpi=110)
        ax = fig.subplots()
        draw(ax=ax)
        ax.set_title(title)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        figures[name] = buffer.getvalue()
    return figures


def _input_example(n: int = 3) -> pd.DataFrame:
    """Simulated forms as the example MLflow stores with the model: never a real person's form."""
    from screening.synthetic import simulate_cohort

    return simulate_cohort(n, seed=2026, messy=False).forms.astype(object).where(lambda f: f.notna(), None)


def _flat_metrics(evaluation: Any, by_horizon: dict[str, Any] | None = None) -> dict[str, float]:
    """MLflow metrics: the held-out figures with their 95 % interval bounds, every horizon, the peers."""
    metrics = {f"test_{key}": value for key, value in evaluation.metrics.items() if isinstance(value, (int, float))}
    for key in evaluation.metrics:
        low, high = evaluation.interval(key)
        metrics[f"test_{key}_low"], metrics[f"test_{key}_high"] = low, high
    for h, figures in (by_horizon or {}).items():
        for key, value in figures.get("metrics", {}).items():
            metrics[f"h{h}_{key}"] = value
            metrics[f"h{h}_{key}_low"], metrics[f"h{h}_{key}_high"] = figures["intervals"][key]
        if "effective_sample_size" in figures:
            metrics[f"h{h}_effective_forms"] = figures["effective_sample_size"]
    for source, row in evaluation.comparison.iterrows():
        if source == "model":
            continue
        for key in ("auc", "brier", "log_loss", "ece"):
            if key in row:
                metrics[f"{source}_{key}"] = float(row[key])
    return metrics


def train_model(
    data: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str],
    horizon: int = 13,
    family: str = "auto",
    seed: int = 0,
    test_fraction: float = TEST_FRACTION,
    capacity: int = 10,
    track: bool = True,
    register: str | None = None,
    promote: bool = False,
) -> TrainingRun:
    """Train, evaluate, save and (optionally) track and register a risk model.

    Parameters
    ----------
    data : path-like
        Training forms (contract columns plus ``absence_weeks`` and ``spell_ended``).
    model_dir : path-like
        Where to write the model directory.
    horizon : int, default 13
        Horizon of the evaluation and the headline metrics (the model predicts all).
    family : {"auto", "additive", "boosted"}, default "auto"
    seed : int, default 0
    test_fraction : float, default 0.2
        Share of the newest forms held out for evaluation.
    capacity : int, default 10
        Calls per week per jobcenter, for precision and recall at capacity.
    track : bool, default True
        Log the run to MLflow (``MLFLOW_TRACKING_URI`` or ``mlruns/``).
    register : str, optional
        Register the model under this name. The first version becomes ``champion``.
    promote : bool, default False
        Make this version ``champion`` if the promotion guard lets it: on the held-out
        forms, the 95 % interval of its paired difference to the current champion
        must stay within the margins of :data:`screening.registry.MARGINS` (log loss,
        AUC, ECE). The decision and its checks are in ``metadata["promotion_guard"]``.

    Returns
    -------
    TrainingRun
    """
    from screening.features import AUDIT_ATTRIBUTES, drift_reference
    from screening.intake import validate_file
    from screening.models import NotEvaluableError, evaluate, extraction_date, fit_plain_peers, fit_risk_model
    from screening.registry._card import model_card

    started = time.perf_counter()
    validation = validate_file(data, training=True, language="en")
    forms = validation.valid
    if len(forms) < 200:
        raise ValueError(f"only {len(forms)} valid training forms; at least 200 are needed")
    train, test = split_by_date(forms, test_fraction=test_fraction, seed=seed)
    test_days = _form_days(test)
    cutoff = (pd.Timestamp(0) + pd.Timedelta(days=float(np.nanmin(test_days)))) if not np.isnan(test_days).all() else None
    cut = 0
    if cutoff is not None:
        train, cut = censor_at(train, cutoff)
    model = fit_risk_model(train, family=family, seed=seed)
    peers = fit_plain_peers(train, horizon=horizon, seed=seed)
    extraction = extraction_date(forms)
    try:
        evaluation = evaluate(model, test, horizon=horizon, peers=peers, capacity=capacity, extraction=extraction)
    except NotEvaluableError as error:
        raise ValueError(f"the held-out newest forms cannot measure the model: {error}") from None
    by_horizon = _by_horizon(model, test, horizon=horizon, main=evaluation, capacity=capacity,
                             extraction=extraction)
    guard = None
    if register and promote:
        guard = _guard_against_champion(model, test, register=register, horizon=horizon, capacity=capacity)
    summary = model.training_summary
    ended = forms["spell_ended"].astype(bool)
    data_facts = {
        "file": Path(data).name,
        "sha256": file_sha256(data),
        "rows_read": validation.rows_read,
        "rows_valid": len(forms),
        "rows_refused": validation.refused_rows,
        "refused_by_reason": {f"{column}:{kind}": count for (column, kind), count in validation.refused_by_reason().items()},
        "censored": int((~ended).sum()),
        "censored_before_horizon": int(((~ended) & (forms["absence_weeks"] <= horizon)).sum()),
        "train_forms": len(train),
        "test_forms": len(test),
        "test_period_starts": None if cutoff is None else str(cutoff.date()),
        "train_spells_censored_at_test_start": cut,
        "extraction_date": None if extraction is None else str(extraction.date()),
        "undated_forms": {"train": int(np.isnan(_form_days(train)).sum()),
                          "test": int(np.isnan(test_days).sum())},
    }
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    version = f"{created:%Y%m%d}-{data_facts['sha256'][:8]}-{summary['family']}-s{seed}"
    from screening.intake import load_contract

    metadata = {
        "version": version,
        "created": created.isoformat(),
        "schema_version": load_contract().version,
        "horizons": list(summary["horizons"]),
        "family": summary["family"],
        "seed": seed,
        "audit_attributes": list(AUDIT_ATTRIBUTES),
        "training_summary": summary,
        "data": data_facts,
        "evaluation": {"metrics": evaluation.metrics, "notes": evaluation.notes,
                       "intervals": {metric: list(evaluation.interval(metric)) for metric in evaluation.metrics},
                       "by_horizon": by_horizon},
        **({"promotion_guard": guard.to_dict()} if guard is not None else {}),
        "drift_reference": drift_reference(train),
    }
    figures = evaluation_figures(evaluation)
    plots = {"Calibration (reliability)": "plots/reliability.png", "Decision curve": "plots/decision_curve.png"}
    card = model_card(metadata=metadata, evaluation=evaluation, data=data_facts, plots=plots)
    tables = {
        "evaluation/comparison.csv": evaluation.comparison.to_csv(),
        "evaluation/subgroups.csv": evaluation.subgroups.to_csv(),
        "evaluation/reliability.csv": evaluation.reliability.to_csv(),
        "evaluation/decision_curve.csv": evaluation.decision_curve.to_csv(),
        "evaluation/intervals.csv": evaluation.intervals.to_csv(),
        **({"evaluation/promotion_guard.csv": guard.checks.to_csv()} if guard is not None and len(guard.checks) else {}),
    }
    target = save_model_dir(model, model_dir, metadata=metadata,
                            extra_files={"model_card.md": card, **figures, **tables})
    run = TrainingRun(model_dir=target, metadata=metadata, evaluation=evaluation, data=data_facts)
    if track:
        from screening.registry._tracking import log_training_run

        params = {"family_requested": family, "family": summary["family"], "seed": seed, "horizon": horizon,
                  "test_fraction": test_fraction, "capacity": capacity, "version": version,
                  **{f"data_{k}": v for k, v in data_facts.items() if k != "refused_by_reason"}}
        with tempfile.TemporaryDirectory() as scratch:
            fingerprint = Path(scratch) / "data_fingerprint.json"
            import json

            fingerprint.write_text(json.dumps(data_facts, indent=2, default=str))
            run.tracking = log_training_run(
                model_dir=target, params=params, metrics=_flat_metrics(evaluation, by_horizon),
                artifacts={"card": target / "model_card.md", "plots": target / "plots",
                           "evaluation": target / "evaluation", "data": fingerprint},
                tags={"screening.version": version, "screening.family": summary["family"]},
                input_example=_input_example(), register=register,
                promote=bool(promote and (guard is None or guard.promote)),
                run_name=version,
            )
        if guard is not None:
            run.tracking["guard"] = guard.reason
    run.seconds = time.perf_counter() - started
    return run


def _by_horizon(model: Any, test: pd.DataFrame, *, horizon: int, main: Any, capacity: int,
                extraction: Any) -> dict[str, Any]:
    """Figures with intervals at every horizon, or why a horizon cannot be measured on these forms."""
    from screening.intake import HORIZONS
    from screening.models import NotEvaluableError, evaluate

    out: dict[str, Any] = {}
    for h in HORIZONS:
        try:
            evaluation = main if h == horizon else evaluate(model, test, horizon=h, capacity=capacity,
                                                            extraction=extraction, subgroups=())
        except NotEvaluableError as error:
            out[str(h)] = {"not_evaluable": str(error)}
            continue
        out[str(h)] = {
            "metrics": {name: value for name, value in evaluation.metrics.items()},
            "intervals": {name: list(evaluation.interval(name)) for name in evaluation.metrics},
            "forms_scored": evaluation.notes.get("forms_scored"),
            "effective_sample_size": evaluation.notes.get("effective_sample_size"),
            "warnings": evaluation.notes.get("warnings", []),
        }
    return out


def _guard_against_champion(model: Any, test: pd.DataFrame, *, register: str, horizon: int,
                            capacity: int) -> Any:
    """The promotion guard against the current champion (None when there is none yet)."""
    from screening.registry._files import load_model_dir
    from screening.registry._promotion import PromotionDecision, promotion_guard
    from screening.registry._store import resolve_model_uri

    try:
        champion_dir = resolve_model_uri(f"models:/{register}@champion")
    except LookupError:
        return PromotionDecision(promote=True, reason="promoted: there is no champion yet")
    champion = load_model_dir(champion_dir).estimator
    return promotion_guard(model, champion, test, horizon=horizon, capacity=capacity)
