"""Realised performance per period of form receipt, and an alarm on intervals, not point estimates.

:func:`monitor` scores every form of a training-contract extract with the model that
was (or is) in use and evaluates it per month or quarter of receipt with
:func:`screening.models.evaluate`: only forms whose follow-up can reach the horizon,
IPCW for other censoring, seeded bootstrap intervals, subgroups below the minimum
size without figures. Nothing is evaluated twice or another way here.

The alarm: a period is **flagged** when the 95 % interval of its calibration-in-the-
large (mean risk - observed rate) lies wholly beyond the tolerance, above ``+tolerance``
or below ``-tolerance``; equivalently, when the interval of the calibration gap
excludes the tolerance. A point estimate beyond it is not enough, and a period too
small to say is "not evaluable", never "fine". Flagged periods advise a retrain
(:attr:`MonitoringResult.retrain_advised`, exit status 1 of ``screening monitor``).
Subgroups are flagged by the same rule per period, and reported; with dozens of
them one flag can be chance, so they do not decide the advice.

Nothing personal leaves here: the result holds counts and rates per period and per
subgroup; a subgroup under ``min_group`` effective forms keeps only its status.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screening.intake import HORIZONS, MAIN_HORIZON, forms_table, mask_cpr, validate_file, validate_table
from screening.models import NotEvaluableError, evaluate, extraction_date, follow_up_weeks, ipcw_outcome
from screening.monitoring._text import TEXT, period_name, points

#: Calibration-in-the-large beyond which (interval wholly beyond) a period is flagged: 3 percentage points.
TOLERANCE = 0.03
#: Period lengths ``monitor`` knows.
PERIODS = ("month", "quarter")
SUBGROUPS = ("sex", "age_band", "diagnosis_group", "jobcenter")
#: Figures of a period with their 95 % intervals.
INTERVAL_METRICS = ("observed_rate", "mean_risk", "calibration_in_the_large", "calibration_gap",
                    "calibration_slope", "calibration_intercept", "auc", "precision_at_capacity")


@dataclass
class MonitoringResult:
    """What :func:`monitor` found.

    Attributes
    ----------
    periods : pandas.DataFrame
        One row per period (index ``period``: ``YYYY-MM`` or ``YYYY-Qn``): ``start``,
        ``forms``, ``forms_evaluated``, ``effective_forms_<h>`` for every horizon, each
        of :data:`INTERVAL_METRICS` with ``_low`` and ``_high``, ``status`` (``flagged``,
        ``ok``, ``not_evaluable``, ``no_forms``), ``direction`` (``over``: the risks are
        too high, ``under``: too low) and ``reason`` (why not evaluable).
    subgroups : pandas.DataFrame
        One row per period, attribute and group: ``effective_forms``, observed rate,
        mean risk, calibration-in-the-large with interval, AUC, ``status`` and
        ``flagged``. A group below ``min_group`` effective forms has its status only.
    facts : dict
        The extract (counts, extraction date, file name, checksum), the model
        (version, URI, registered name and version), the settings and what the model
        was validated at. No value from a form.
    tracking : dict
        The MLflow run (``run_id``, ...) when the result was logged.
    """

    periods: pd.DataFrame
    subgroups: pd.DataFrame
    facts: dict[str, Any]
    tracking: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged_periods(self) -> list[str]:
        """Periods whose calibration interval lies wholly beyond the tolerance, in time order."""
        return [str(p) for p in self.periods.index[self.periods["status"] == "flagged"]]

    @property
    def evaluable_periods(self) -> list[str]:
        return [str(p) for p in self.periods.index[self.periods["status"].isin(["flagged", "ok"])]]

    @property
    def flagged_subgroups(self) -> pd.DataFrame:
        """The subgroup rows flagged (period, attribute, group)."""
        if not len(self.subgroups):
            return self.subgroups
        return self.subgroups[self.subgroups["flagged"].fillna(False).astype(bool)]

    @property
    def retrain_advised(self) -> bool:
        """True when at least one period is flagged."""
        return bool(self.flagged_periods)

    @property
    def exit_code(self) -> int:
        """0 when no period is flagged, 1 when at least one is (as ``diff`` does)."""
        return 1 if self.retrain_advised else 0

    def advice(self, language: str = "da") -> str:
        """The summary in plain words: whether a retrain is advised and why."""
        t = TEXT[language]
        tolerance = points(self.facts["tolerance"], language)
        flagged, evaluable = self.flagged_periods, self.evaluable_periods
        if flagged:
            directions = set(self.periods.loc[flagged, "direction"])
            direction = t["above"] if directions == {"over"} else t["below"] if directions == {"under"} else \
                t["above_and_below"]
            text = t["advice_retrain"].format(
                flagged=len(flagged), evaluable=len(evaluable), direction=direction, tolerance=tolerance,
                periods=", ".join(period_name(p, language) for p in flagged), first=period_name(flagged[0], language))
        else:
            text = t["advice_ok"].format(evaluable=len(evaluable), tolerance=tolerance)
        pending = int((self.periods["status"] == "not_evaluable").sum())
        if pending:
            text += " " + t["advice_pending"].format(pending=pending, horizon=self.facts["horizon"],
                                                     extraction=self.facts.get("extraction_date") or "?")
        count = len(self.flagged_subgroups)
        if count:
            text += " " + t["subgroups_flagged"].format(count=count)
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form: counts, rates and facts (for JSON and MLflow)."""
        return {"periods": _records(self.periods.reset_index()), "subgroups": _records(self.subgroups.reset_index()),
                "facts": self.facts, "flagged_periods": self.flagged_periods, "retrain_advised": self.retrain_advised}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _period_labels(days: np.ndarray, by: str) -> np.ndarray:
    """``YYYY-MM`` or ``YYYY-Qn`` of each day (float days since 1970); None where unknown."""
    labels = np.full(len(days), None, dtype=object)
    dated = ~np.isnan(days)
    when = pd.to_datetime(np.floor(days[dated] + 1e-6).astype(np.int64), unit="D")
    if by == "month":
        labels[dated] = np.asarray(when.strftime("%Y-%m"), dtype=object)
    else:
        labels[dated] = [f"{year}-Q{quarter}" for year, quarter in zip(when.year, when.quarter, strict=True)]
    return labels


def _all_periods(labels: np.ndarray, by: str) -> list[str]:
    """Every period from the first to the last (months with no form too), in order."""
    present = sorted({label for label in labels if label is not None})
    if not present:
        return []
    if by == "month":
        span = pd.period_range(present[0], present[-1], freq="M")
        return [str(p) for p in span]
    span = pd.period_range(pd.Period(present[0].replace("-Q", "Q"), freq="Q"),
                           pd.Period(present[-1].replace("-Q", "Q"), freq="Q"), freq="Q")
    return [f"{p.year}-Q{p.quarter}" for p in span]


def _effective_forms(forms: pd.DataFrame, reach: np.ndarray, horizon: float) -> float:
    """Kish's effective number of forms that can show the outcome at ``horizon`` (0 when none)."""
    reachable = (forms["sick_weeks"].to_numpy(dtype=np.float64) < horizon) & (reach >= horizon - 1e-9)
    if not reachable.any():
        return 0.0
    _, weight = ipcw_outcome(forms[reachable], horizon)
    square = float((weight ** 2).sum())
    return round(float(weight.sum() ** 2 / square), 1) if square > 0 else 0.0


def _load(model: Any) -> tuple[Any, dict[str, Any]]:
    """The scoring model and what is known of it: version, family, and where it came from.

    ``uri`` is an MLflow URI as given, or a model directory's name only (no folder of
    this machine goes into a report or a run).
    """
    from screening.scoring import load_model

    uri = None
    if isinstance(model, (str, os.PathLike)):
        text = os.fspath(model)
        model = load_model(text, single_forms=False)
        uri = mask_cpr(text if re.match(r"^(models|runs):/", text) else Path(text).name)
    metadata = dict(getattr(model, "metadata", {}) or {})
    return model, {"version": str(metadata.get("version", getattr(model, "version", "unknown"))),
                   "family": metadata.get("family"), "uri": uri}


def _validated_at(metadata: dict[str, Any], horizon: int) -> dict[str, Any]:
    """The figures the model was validated at, at ``horizon`` (metrics with intervals), from its metadata."""
    evaluation = metadata.get("evaluation") or {}
    figures = (evaluation.get("by_horizon") or {}).get(str(horizon))
    if figures is None and (evaluation.get("notes") or {}).get("horizon") == horizon:
        figures = {"metrics": evaluation.get("metrics", {}), "intervals": evaluation.get("intervals", {}),
                   "forms_scored": evaluation["notes"].get("forms_scored"),
                   "effective_sample_size": evaluation["notes"].get("effective_sample_size")}
    if not figures or "metrics" not in figures:
        return {}
    keep = ("auc", "calibration_gap", "calibration_in_the_large", "calibration_slope", "mean_risk", "observed_rate",
            "precision_at_capacity", "ece")
    return {"metrics": {k: float(v) for k, v in figures["metrics"].items() if k in keep and v is not None},
            "intervals": {k: [float(x) if x is not None else float("nan") for x in v]
                          for k, v in (figures.get("intervals") or {}).items() if k in keep},
            "forms": figures.get("forms_scored"), "effective_forms": figures.get("effective_sample_size")}


def _flag(low: float, high: float, tolerance: float) -> str | None:
    """``over``/``under`` when the interval lies wholly beyond +/- tolerance; else None."""
    if np.isfinite(low) and low > tolerance:
        return "over"
    if np.isfinite(high) and high < -tolerance:
        return "under"
    return None


def monitor(
    model: Any,
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    by: str = "month",
    horizon: int = MAIN_HORIZON,
    tolerance: float = TOLERANCE,
    capacity: int = 10,
    subgroups: tuple[str, ...] | list[str] = SUBGROUPS,
    min_group: int = 100,
    n_boot: int = 200,
    seed: int = 20_261_126,
    extraction: Any = None,
    track: bool = False,
) -> MonitoringResult:
    """Realised performance of a deployed model per period of form receipt, with an alarm on intervals.

    Parameters
    ----------
    model : str, path-like or ScreeningModel
        The model that was (or is) in use: a model directory, an MLflow URI
        (``models:/screening-risk@champion``, ``models:/screening-risk/3``) or a loaded
        model (:func:`screening.scoring.load_model`).
    data : str, path-like or pandas.DataFrame
        The extract under the training contract (forms with ``absence_weeks`` and
        ``spell_ended``): a file (validated with ``validate_file(training=True)``) or
        a frame of forms (validated the same way).
    by : {"month", "quarter"}, default "month"
        Period of form receipt (the receipt date, else first sick day + weeks absent).
    horizon : int, default 13
        Weeks of the outcome the figures and the alarm are about.
    tolerance : float, default 0.03
        How far mean risk and observed rate may be apart (risk points) before a
        period whose whole 95 % interval is beyond it is flagged.
    capacity : int, default 10
        Calls per week per jobcenter, for precision at capacity.
    subgroups : sequence of str, default ("sex", "age_band", "diagnosis_group", "jobcenter")
        Attributes to break each period down by; () for none (faster).
    min_group : int, default 100
        Effective forms below which a subgroup is reported without figures.
    n_boot : int, default 200
        Bootstrap replicates behind every interval.
    seed : int
        Seed of the bootstrap.
    extraction : date-like, optional
        The day the extract was taken (default: read from the forms, see
        :func:`screening.models.extraction_date`).
    track : bool, default False
        Log the figures to MLflow as a monitoring run linked to the model version
        (:func:`screening.registry.log_monitoring_run`).

    Returns
    -------
    MonitoringResult

    Raises
    ------
    ValueError
        Unknown ``by`` or ``horizon``, a negative tolerance, no dated form, or no
        period that can be evaluated (one line).
    screening.intake.FileError
        The file cannot be read as forms.
    """
    if by not in PERIODS:
        raise ValueError(f"by must be one of {list(PERIODS)}, got {by!r}")
    if horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {list(HORIZONS)}, got {horizon!r}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (risk points: 0.03 = 3 percentage points), got {tolerance}")
    loaded, model_info = _load(model)
    if isinstance(data, pd.DataFrame):
        validation = validate_table(forms_table(data), training=True, language="en")
        data_name, checksum = None, None
    else:
        from screening._io import file_sha256

        validation = validate_file(data, training=True, language="en")
        data_name, checksum = mask_cpr(Path(data).name), file_sha256(data)
    forms = validation.valid.reset_index(drop=True)
    if not len(forms):
        raise ValueError("the extract holds no valid form")
    extraction = pd.Timestamp(extraction) if extraction is not None else extraction_date(forms)
    if extraction is None:
        raise ValueError("no form has a date (form_received or sick_leave_start): the forms cannot be placed in periods")
    estimator = getattr(loaded, "estimator", loaded)
    risks = estimator.predict_risk(forms).reset_index(drop=True)
    reach = follow_up_weeks(forms, extraction)
    # The day of receipt, by the same rule the evaluation uses for follow-up.
    extraction_day = (extraction - pd.Timestamp(0)).total_seconds() / 86400.0
    days = extraction_day - 7.0 * (reach - forms["sick_weeks"].to_numpy(dtype=np.float64))
    labels = _period_labels(days, by)
    rows, group_rows = [], []
    for period in _all_periods(labels, by):
        mask = labels == period
        part, part_risks, part_reach = forms[mask], risks[mask], reach[mask]
        row: dict[str, Any] = {"period": period, "forms": int(mask.sum()), "forms_evaluated": 0}
        for h in HORIZONS:
            row[f"effective_forms_{h}"] = _effective_forms(part, part_reach, h) if mask.any() else 0.0
        if not mask.any():
            rows.append(row | {"status": "no_forms"})
            continue
        try:
            result = evaluate(part_risks, part, horizon=horizon, extraction=extraction, capacity=capacity,
                              subgroups=tuple(subgroups), n_boot=n_boot, min_group=min_group, seed=seed)
        except NotEvaluableError as error:
            rows.append(row | {"status": "not_evaluable", "reason": str(error)})
            continue
        row["forms_evaluated"] = int(result.notes["forms_scored"])
        for name in INTERVAL_METRICS:
            row[name] = float(result.metrics.get(name, np.nan))
            row[f"{name}_low"], row[f"{name}_high"] = result.interval(name)
        direction = _flag(row["calibration_in_the_large_low"], row["calibration_in_the_large_high"], tolerance)
        row["status"] = "flagged" if direction else "ok"
        row["direction"] = direction or ("over" if row["calibration_in_the_large"] > 0 else "under")
        rows.append(row)
        group_rows += _group_rows(period, result.subgroups, tolerance)
    if not rows:
        raise ValueError("no form has a date (form_received or sick_leave_start): the forms cannot be placed in periods")
    periods = pd.DataFrame(rows).set_index("period")
    for column in ("status", "direction", "reason"):
        if column not in periods:
            periods[column] = None
    if not periods["status"].isin(["flagged", "ok"]).any():
        reasons = periods["reason"].dropna()
        why = reasons.iloc[-1] if len(reasons) else "no period has forms"
        raise ValueError(f"no {by} can be evaluated at {horizon} weeks ({len(periods)} periods): {why}")
    periods = periods.drop(columns="reason").join(periods[["reason"]])  # the long text last
    subgroup_table = pd.DataFrame(group_rows, columns=_GROUP_COLUMNS).set_index(["period", "attribute", "group"])
    metadata = dict(getattr(loaded, "metadata", {}) or {})
    facts = {
        "model": model_info, "horizon": int(horizon), "tolerance": float(tolerance), "by": by,
        "capacity": int(capacity), "min_group": int(min_group), "n_boot": int(n_boot), "seed": int(seed),
        "extraction_date": str(pd.Timestamp(extraction).date()),
        "data": {"file": data_name, "sha256": checksum, "rows_read": int(validation.rows_read),
                 "rows_valid": int(len(forms)), "rows_refused": int(validation.refused_rows),
                 "undated": int(sum(label is None for label in labels))},
        "validated_at": _validated_at(metadata, int(horizon)),
        "subgroups_suppressed": int((subgroup_table["status"] != "ok").sum()) if len(subgroup_table) else 0,
    }
    outcome = MonitoringResult(periods=periods, subgroups=subgroup_table, facts=facts)
    if track:
        from screening.registry import log_monitoring_run

        from screening.monitoring._page import render_monitoring_page

        uri = model_info["uri"]
        outcome.tracking = log_monitoring_run(
            periods, subgroups=subgroup_table, facts=facts,
            model_uri=uri if uri and re.match(r"^(models|runs):/", uri) else None,
            texts={"advice.txt": outcome.advice("en") + "\n", "advice_da.txt": outcome.advice("da") + "\n",
                   "monitoring.html": render_monitoring_page(outcome, language="da")})
    return outcome


_GROUP_COLUMNS = ["period", "attribute", "group", "effective_forms", "observed_rate", "mean_risk",
                  "calibration_in_the_large", "calibration_in_the_large_low", "calibration_in_the_large_high",
                  "auc", "status", "flagged", "direction"]


def _group_rows(period: str, table: pd.DataFrame, tolerance: float) -> list[dict[str, Any]]:
    """A period's subgroup rows: figures for groups of ``min_group`` effective forms or more, the status for the rest."""
    rows = []
    for (attribute, group), row in table.iterrows():
        out: dict[str, Any] = {"period": period, "attribute": attribute, "group": group}
        if row.get("status") != "ok":
            # Too small: no figures, not even its exact size (a handful of people in a period can be recognised).
            rows.append(out | {"status": "too_small", "flagged": False})
            continue
        low, high = row.get("calibration_in_the_large_low", np.nan), row.get("calibration_in_the_large_high", np.nan)
        direction = _flag(float(low), float(high), tolerance)
        rows.append(out | {
            "effective_forms": float(row["effective_n"]), "observed_rate": float(row["observed_rate"]),
            "mean_risk": float(row["mean_risk"]), "calibration_in_the_large": float(row["calibration_in_the_large"]),
            "calibration_in_the_large_low": float(low), "calibration_in_the_large_high": float(high),
            "auc": float(row["auc"]), "status": "ok", "flagged": direction is not None, "direction": direction,
        })
    return rows
