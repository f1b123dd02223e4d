"""A monitoring run in MLflow: the realised figures per period, linked to the model version they judge.

Counts and rates only. The run holds the settings and the extract's counts as
parameters, one step per period for each figure (so MLflow draws the trend), the
tables as CSV (a subgroup under the minimum size as its status, no figures) and,
when given, the page. It is tagged with the model's version and, for a registered
model (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``), its registered name and
version; that version is tagged back with the run and the verdict, so the registry
shows when it was last watched and what was found.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from screening.registry._store import mlflow_at
from screening.registry._tracking import experiment_id

MONITORING_EXPERIMENT = "screening-monitoring"
#: Figures of a period logged as metrics (one step per period), with their intervals where they have one.
PERIOD_METRICS = ("forms", "forms_evaluated", "observed_rate", "mean_risk", "calibration_in_the_large",
                  "calibration_gap", "calibration_slope", "calibration_intercept", "auc", "precision_at_capacity")
_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))/?$")
_PERIOD_TEXT = ("status", "direction")
_GROUP_TEXT = ("status", "direction")


def _numbers_only(frame: pd.DataFrame, keep_text: tuple[str, ...]) -> pd.DataFrame:
    """The frame's numeric columns and the named status columns (nothing else of a form can slip through)."""
    columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(
        frame[c]) or c in keep_text]
    return frame[columns]


def _registered(client: Any, uri: str | None) -> dict[str, str]:
    """Registered name and version of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; {} otherwise."""
    found = _REGISTERED.match(uri or "")
    if not found:
        return {}
    name, alias, version = found.group("name"), found.group("alias"), found.group("version")
    if alias is not None:
        try:
            version = str(client.get_model_version_by_alias(name, alias).version)
        except Exception:  # MlflowException: the alias moved away or was removed since the model was loaded
            return {"registered_name": name, "alias": alias}
    return {"registered_name": name, "registered_version": str(version), **({"alias": alias} if alias else {})}


def log_monitoring_run(
    periods: pd.DataFrame,
    *,
    subgroups: pd.DataFrame,
    facts: dict[str, Any],
    model_uri: str | None = None,
    texts: dict[str, str] | None = None,
    run_name: str | None = None,
) -> dict[str, Any]:
    """Log a monitoring run to MLflow (experiment ``screening-monitoring``), linked to the model version.

    Parameters
    ----------
    periods : pandas.DataFrame
        One row per period (index: the period), as :func:`screening.monitoring.monitor` makes it.
    subgroups : pandas.DataFrame
        Its subgroup table (index: period, attribute, group).
    facts : dict
        Settings, the extract's counts and the model (``version``, ``family``, ``uri``).
    model_uri : str, optional
        The model's MLflow URI, when it came from the registry: the run is tagged with
        its registered name and version, and that version with the run.
    texts : dict of str to str, optional
        More artifacts by file name (the page, the advice).
    run_name : str, optional

    Returns
    -------
    dict
        ``run_id``, ``experiment``, and ``registered_name`` / ``registered_version``
        when known.
    """
    mlflow = mlflow_at(create=True)
    client = mlflow.MlflowClient()
    model = facts.get("model") or {}
    data = facts.get("data") or {}
    registered = _registered(client, model_uri)
    flagged = [str(p) for p in periods.index[periods["status"] == "flagged"]]
    params = {"model_version": model.get("version"), "model_family": model.get("family"),
              "model_uri": model_uri or model.get("uri"),
              **{key: facts.get(key) for key in ("horizon", "tolerance", "by", "capacity", "min_group", "n_boot", "seed",
                                                 "extraction_date")},
              **{f"data_{key}": value for key, value in data.items()}}
    tags = {"screening.kind": "monitoring", "screening.model_version": str(model.get("version")),
            "screening.retrain_advised": "yes" if flagged else "no",
            "screening.flagged_periods": ",".join(flagged)[:5000] or "none",
            **{f"screening.{key}": value for key, value in registered.items()}}
    with mlflow.start_run(experiment_id=experiment_id(MONITORING_EXPERIMENT),
                          run_name=run_name or f"monitor {model.get('version')}") as run:
        mlflow.log_params({key: "" if value is None else str(value)[:500] for key, value in params.items()})
        mlflow.set_tags(tags)
        for step, (period, row) in enumerate(periods.iterrows()):
            figures = {}
            for name in PERIOD_METRICS:
                for key in (name, f"{name}_low", f"{name}_high"):
                    value = row.get(key)
                    if value is not None and pd.notna(value):
                        figures[key] = float(value)
            figures |= {key: float(row[key]) for key in periods.columns if key.startswith("effective_forms_")
                        and pd.notna(row[key])}
            figures["flagged"] = float(row["status"] == "flagged")
            figures["evaluable"] = float(row["status"] in ("flagged", "ok"))
            mlflow.log_metrics(figures, step=step)
        evaluable = periods["status"].isin(["flagged", "ok"])
        group_flags = subgroups["flagged"].fillna(False).astype(bool) if "flagged" in subgroups else pd.Series([])
        mlflow.log_metrics({"periods": float(len(periods)), "periods_evaluable": float(evaluable.sum()),
                            "periods_flagged": float(len(flagged)), "subgroups_flagged": float(group_flags.sum()),
                            "subgroups_suppressed": float((subgroups["status"] != "ok").sum()) if len(subgroups)
                            else 0.0})
        mlflow.log_text(_numbers_only(periods, _PERIOD_TEXT).to_csv(), "monitoring/periods.csv")
        mlflow.log_text(_numbers_only(subgroups, _GROUP_TEXT).to_csv(), "monitoring/subgroups.csv")
        mlflow.log_text(json.dumps({"facts": facts, "flagged_periods": flagged}, indent=2, default=str),
                        "monitoring/summary.json")
        for name, text in (texts or {}).items():
            mlflow.log_text(text, f"monitoring/{name}")
        result: dict[str, Any] = {"run_id": run.info.run_id, "experiment": MONITORING_EXPERIMENT, **registered}
    if registered.get("registered_version"):
        name, version = registered["registered_name"], registered["registered_version"]
        client.set_model_version_tag(name, version, "screening.monitoring_run", result["run_id"])
        client.set_model_version_tag(name, version, "screening.monitoring_verdict",
                                     f"retrain advised ({', '.join(flagged)})" if flagged else "no period flagged")
    return result
