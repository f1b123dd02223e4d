"""What ``screening monitor`` prints: the periods in a few columns and the advice, in the command's language."""

from __future__ import annotations

import math
from typing import Any

from screening.intake import format_number
from screening.monitoring._text import TEXT, percent, points

_LINES = {
    "da": {"model": "model", "extract": "udtræk", "settings": "opsætning", "advice": "råd", "mlflow": "mlflow",
           "page": "side", "extract_value": "{read} skemaer læst, {valid} gyldige, {refused} afvist, {undated} uden "
                                            "dato; udtrukket {extraction}",
           "settings_value": "risiko for over {horizon} uger pr. {by}; tolerance {tolerance} procentpoint; "
                             "95 %-intervaller ({n_boot} bootstrap-gentagelser)",
           "mlflow_value": "kørsel {run_id} i eksperimentet {experiment}", "page_value": "skrevet til {path}",
           "columns": ("periode", "skemaer", "effektive", "observeret", "gns. risiko", "risiko − obs. [95 %]", "AUC",
                       "status")},
    "en": {"model": "model", "extract": "extract", "settings": "settings", "advice": "advice", "mlflow": "mlflow",
           "page": "page", "extract_value": "{read} forms read, {valid} valid, {refused} refused, {undated} undated; "
                                            "extracted {extraction}",
           "settings_value": "risk of over {horizon} weeks per {by}; tolerance {tolerance} percentage points; "
                             "95 % intervals ({n_boot} bootstrap replicates)",
           "mlflow_value": "run {run_id} in experiment {experiment}", "page_value": "written to {path}",
           "columns": ("period", "forms", "effective", "observed", "mean risk", "risk − obs. [95 %]", "AUC",
                       "status")},
}


def _ok(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def format_monitoring_summary(result: Any, *, language: str = "da", page: Any = None) -> str:
    """The command's summary of a :class:`~screening.monitoring.MonitoringResult` (counts and rates only).

    Parameters
    ----------
    result : MonitoringResult
    language : {"da", "en"}, default "da"
    page : path-like, optional
        The page written, to name it.

    Returns
    -------
    str
    """
    t, w = TEXT[language], _LINES[language]
    facts, data, model = result.facts, result.facts["data"], result.facts["model"]

    def count(value: Any) -> str:
        return format_number(int(value), language, grouping=True) if _ok(value) else "–"

    lines = [f"{w['model']:<10}{model.get('version')} ({model.get('family') or '?'})"
             + (f" · {model['uri']}" if model.get("uri") else ""),
             f"{w['extract']:<10}" + w["extract_value"].format(
                 read=count(data["rows_read"]), valid=count(data["rows_valid"]), refused=count(data["rows_refused"]),
                 undated=count(data["undated"]), extraction=facts["extraction_date"]),
             f"{w['settings']:<10}" + w["settings_value"].format(
                 horizon=facts["horizon"], by=t[f"by_{facts['by']}"], tolerance=points(facts["tolerance"], language),
                 n_boot=facts["n_boot"]),
             ""]
    widths = (9, 8, 10, 11, 12, 24, 7, 0)
    lines.append("  ".join(f"{name:<{width}}" if width else name for name, width in zip(w["columns"], widths, strict=True)))
    horizon = facts["horizon"]
    for period, row in result.periods.iterrows():
        status = str(row["status"])
        words = t.get(status, status) + (f" ({t[str(row['direction'])]})" if status == "flagged" else "")
        citl = "–"
        if _ok(row.get("calibration_in_the_large")):
            citl = points(row["calibration_in_the_large"], language, signed=True)
            if _ok(row.get("calibration_in_the_large_low")) and _ok(row.get("calibration_in_the_large_high")):
                citl += (f" [{points(row['calibration_in_the_large_low'], language, signed=True)}, "
                         f"{points(row['calibration_in_the_large_high'], language, signed=True)}]")
        cells = (str(period), count(row["forms"]), count(round(float(row[f"effective_forms_{horizon}"]))),
                 percent(row["observed_rate"], language) if _ok(row.get("observed_rate")) else "–",
                 percent(row["mean_risk"], language) if _ok(row.get("mean_risk")) else "–", citl,
                 format_number(float(row["auc"]), language, decimals=3) if _ok(row.get("auc")) else "–", words)
        lines.append("  ".join(f"{cell:<{width}}" if width else cell for cell, width in zip(cells, widths, strict=True)))
    lines += ["", f"{w['advice']:<10}{result.advice(language)}"]
    if result.tracking.get("run_id"):
        lines.append(f"{w['mlflow']:<10}" + w["mlflow_value"].format(**result.tracking))
    if page is not None:
        lines.append(f"{w['page']:<10}" + w["page_value"].format(path=page))
    return "\n".join(lines)
