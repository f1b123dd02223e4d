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


def split_by_date(forms: pd.DataFrame, *, test_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest ``test_fraction`` of forms (by receipt, else sick-leave start) are the test set.

    Forms with neither date are spread over both at random (seeded).
    """
    received = forms["form_received"]
    start_based = forms["sick_leave_start"] + pd.to_timedelta(forms["sick_weeks"] * 7, unit="D")
    when = received.fillna(start_based).to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
    when[np.isnat(received.fillna(start_based).to_numpy(dtype="datetime64[ns]"))] = np.nan
    rng = np.random.default_rng(seed)
    order_key = np.where(np.isnan(when), rng.random(len(forms)) * np.nanmax(np.append(when, 1.0)), when)
    order = np.argsort(order_key, kind="stable")
    n_test = int(round(len(forms) * test_fraction))
    test_positions = np.sort(order[len(forms) - n_test :])
    is_test = np.zeros(len(forms), dtype=bool)
    is_test[test_positions] = True
    return forms.iloc[~is_test], forms.iloc[is_test]


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


def _flat_metrics(evaluation: Any) -> dict[str, float]:
    metrics = {f"test_{key}": value for key, value in evaluation.metrics.items() if isinstance(value, (int, float))}
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
        Make this version ``champion`` even if there is one.

    Returns
    -------
    TrainingRun
    """
    from screening.features import AUDIT_ATTRIBUTES, drift_reference
    from screening.intake import validate_file
    from screening.models import evaluate, fit_plain_peers, fit_risk_model
    from screening.registry._card import model_card

    started = time.perf_counter()
    validation = validate_file(data, training=True, language="en")
    forms = validation.valid
    if len(forms) < 200:
        raise ValueError(f"only {len(forms)} valid training forms; at least 200 are needed")
    train, test = split_by_date(forms, test_fraction=test_fraction, seed=seed)
    model = fit_risk_model(train, family=family, seed=seed)
    peers = fit_plain_peers(train, horizon=horizon, seed=seed)
    evaluation = evaluate(model, test, horizon=horizon, peers=peers, capacity=capacity)
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
        "evaluation": {"metrics": evaluation.metrics, "notes": evaluation.notes},
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
                model_dir=target, params=params, metrics=_flat_metrics(evaluation),
                artifacts={"card": target / "model_card.md", "plots": target / "plots",
                           "evaluation": target / "evaluation", "data": fingerprint},
                tags={"screening.version": version, "screening.family": summary["family"]},
                input_example=_input_example(), register=register, promote=promote,
                run_name=version,
            )
    run.seconds = time.perf_counter() - started
    return run
