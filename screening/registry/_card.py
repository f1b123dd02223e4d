"""The model card written with every trained model, under TRIPOD+AI's headings where they apply.

TRIPOD+AI (Collins et al., BMJ 2024;385:e078378) is the reporting guideline for
clinical prediction models built with regression or machine learning. The card is
Markdown so it reads in a browser, in MLflow's artifact view and in a code review.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from screening.intake import HORIZONS, MAIN_HORIZON


def _table(frame: pd.DataFrame, *, digits: int = 3) -> str:
    shown = frame.copy()
    if isinstance(shown.index, pd.MultiIndex):
        shown.index = [" = ".join(map(str, key)) for key in shown.index]
    for name in shown.columns:
        if name == "n" or name.startswith("n_"):
            shown[name] = shown[name].map(lambda value: f"{int(value):,}" if value == value else "")
        elif pd.api.types.is_float_dtype(shown[name]):
            shown[name] = shown[name].map(lambda value: f"{value:.{digits}f}" if value == value else "")
    header = "| " + " | ".join([shown.index.name or ""] + [str(c) for c in shown.columns]) + " |"
    rule = "|" + "---|" * (len(shown.columns) + 1)
    rows = ["| " + " | ".join([str(index)] + [str(v) for v in row]) + " |" for index, row in zip(shown.index, shown.to_numpy())]
    return "\n".join([header, rule, *rows])


def _with_interval(value: float, low: float, high: float) -> str:
    """"0.123 [0.100, 0.150]"; the interval left out where there is none, "" where there is no value."""
    if value != value:
        return ""
    return f"{value:.3f}" if low != low else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _subgroups_with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """Subgroup figures as "estimate [low, high]" text, too-small groups marked."""
    shown = pd.DataFrame(index=table.index)
    if not len(table):
        return shown
    shown["n"] = table["n"]
    missing = pd.Series(np.nan, index=table.index)
    for name in ("observed_rate", "mean_risk", "auc", "ece", "calibration_intercept"):
        if name in table:
            shown[name] = [_with_interval(*cells) for cells in zip(
                table[name], table.get(f"{name}_low", missing), table.get(f"{name}_high", missing), strict=True)]
    shown["status"] = table.get("status", "")
    return shown


def _horizon_table(by_horizon: dict[str, Any]) -> str:
    rows = []
    for h, figures in by_horizon.items():
        if "not_evaluable" in figures:
            rows.append(f"| {h} | not measured: {figures['not_evaluable']} | | | |")
            continue
        cells = []
        for name in ("auc", "ece", "calibration_intercept"):
            low, high = figures["intervals"].get(name, (float("nan"), float("nan")))
            cells.append(f"{figures['metrics'][name]:.3f} [{low:.3f}, {high:.3f}]")
        rows.append(f"| {h} | " + " | ".join(cells) + f" | {figures['effective_sample_size']:,.0f} |")
    return "\n".join(["| weeks | AUC | ECE | calibration-in-the-large | effective forms |", "|---|---|---|---|---|", *rows])


def _guard_lines(guard: dict[str, Any] | None) -> list[str]:
    if not guard:
        return []
    lines = ["### Promotion guard", guard["reason"] + ".", ""]
    if guard.get("checks"):
        lines.append("| metric | candidate | champion | difference [95 % interval] | margin | passed |")
        lines.append("|---|---|---|---|---|---|")
        for check in guard["checks"]:
            lines.append(f"| {check['metric']} | {check['candidate']:.4f} | {check['champion']:.4f} | "
                         f"{check['difference']:+.4f} [{check['low']:+.4f}, {check['high']:+.4f}] | "
                         f"{check['margin']:.3f} | {'yes' if check['passed'] else 'no'} |")
        lines.append("")
    return lines


def model_card(
    *,
    metadata: dict[str, Any],
    evaluation: Any,
    data: dict[str, Any],
    plots: dict[str, str],
) -> str:
    """Render the model card.

    Parameters
    ----------
    metadata : dict
        The model's metadata (version, family, horizons, training summary).
    evaluation : screening.models.Evaluation
        Held-out evaluation of the model and its plain peers.
    data : dict
        The data fingerprint (hash, counts, censoring; no personal data).
    plots : dict of str to str
        Title -> relative path of the figures saved with the model.
    """
    summary = metadata.get("training_summary", {})
    metrics = evaluation.metrics
    subgroups = _subgroups_with_intervals(evaluation.subgroups)
    comparison_columns = [c for c in ("auc", "brier", "log_loss", "ece", "calibration_slope", "calibration_intercept", "precision_at_capacity", "recall_at_capacity") if c in evaluation.comparison.columns]
    lines = [
        f"# Model card: long sick-leave risk, version {metadata.get('version')}",
        "",
        f"Trained {metadata.get('created')} · family **{summary.get('family')}** · seed {summary.get('seed')} · "
        f"horizons {', '.join(map(str, metadata.get('horizons', [])))} weeks · contract {metadata.get('schema_version')}",
        "",
        "## Intended use",
        "Decision support for a job-retention consultant (*fastholdelseskonsulent*) at a Danish jobcenter: "
        "the week's intake forms are ranked by the probability that the absence lasts more than 13 weeks from "
        "the first sick day, so the consultant calls first those most likely to need early contact. "
        "**The model advises a person; it never decides.** It must not be used to grant, refuse or reduce "
        "benefits, to sanction, or to judge anyone's credibility. Every ranked person can still be called.",
        "",
        "## Outcome and horizon",
        f"Absence longer than *h* weeks from the first sick day (h = {', '.join(map(str, HORIZONS))}; "
        f"{MAIN_HORIZON} is the default), "
        "**given the weeks already absent when the form arrived** (`sick_weeks`). One hazard model gives every "
        "horizon, so a longer horizon never has a higher risk. A form already past a horizon has risk 1 there.",
        "",
        "## Data",
        f"- Training file SHA-256 `{data.get('sha256', '')[:16]}…`, {data.get('rows_read', 0):,} forms read, "
        f"{data.get('rows_valid', 0):,} valid, {data.get('rows_refused', 0):,} refused by validation.",
        f"- Split by the date the form arrived: {data.get('train_forms', 0):,} older forms to fit and calibrate, "
        f"{data.get('test_forms', 0):,} newest forms held out for the figures below.",
        "- Inputs: " + ", ".join(f"`{name}`" for name in summary.get("inputs", [])) + ".",
        f"- Audit-only attributes (not model inputs): {', '.join(f'`{a}`' for a in metadata.get('audit_attributes', [])) or 'none'}. "
        "`sex` and `jobcenter` are left out of the model on purpose: sex is not a reason to be called earlier, "
        "and a jobcenter's practices should not shift a person's risk; both are used to check that the model "
        "is equally calibrated across groups (below).",
        "",
        "## Censoring and left truncation",
        f"- {data.get('censored', 0):,} of {data.get('rows_valid', 0):,} spells in the file were still going on at "
        f"extraction (censored; {data.get('censored_before_horizon', 0):,} of them before week 13). The newest forms, "
        "held out for evaluation, hold most of them; in the older forms the model learnt from, "
        f"{summary.get('censored', 0):,} of {summary.get('rows', 0):,} were censored.",
        f"- How they were used: {summary.get('censored_use', '')}.",
        "- Forms arrive at different weeks of absence: each spell enters the risk set at its `sick_weeks` "
        "(left truncation), so the model is never told that someone could have returned before the form arrived.",
        "",
        "## Model",
        f"- Selection: {summary.get('selection', {}).get('method', '')}; scores "
        + ", ".join(f"{name} {score:.4f}" for name, score in summary.get("selection", {}).get("scores", {}).items())
        + ".",
        f"- Calibration: {summary.get('calibration', {}).get('method', '')} "
        f"(intercept {summary.get('calibration', {}).get('intercept', float('nan')):.3f}, "
        f"slope {summary.get('calibration', {}).get('slope', float('nan')):.3f}), on forms the hazard was not fitted on.",
        "",
        "## Performance on held-out newest forms (13 weeks)",
        f"Outcome: {evaluation.notes.get('outcome', '')}. Capacity: {evaluation.notes.get('capacity', '')}. "
        "ECE: expected calibration error over ten equal-count bins.",
        "",
        "Each figure with its 95 % bootstrap interval "
        f"({evaluation.notes.get('bootstrap', '')}); {evaluation.notes.get('forms_scored', 0):,} forms "
        f"({evaluation.notes.get('effective_sample_size', 0):,.0f} effective) could show the outcome.",
        "",
        "- " + "\n- ".join(f"{name}: **{value:.3f}** [{evaluation.interval(name)[0]:.3f}, {evaluation.interval(name)[1]:.3f}]"
                          for name, value in metrics.items() if isinstance(value, float)),
        "",
        "### Every horizon",
        "A horizon is measured only on held-out forms whose follow-up could reach it (the data end on the "
        "extraction date); where too few can, the card says so instead of showing a figure.",
        "",
        _horizon_table(metadata.get("evaluation", {}).get("by_horizon", {})),
        "",
        *_guard_lines(metadata.get("promotion_guard")),
        "### Against plain peers trained on the same forms",
        _table(evaluation.comparison[comparison_columns]),
        "",
        "### By subgroup",
        f"Groups with fewer than {evaluation.notes.get('min_group', '')} effective forms are marked too small "
        "and given no figures. Brackets: 95 % interval.",
        "",
        _table(subgroups) if len(subgroups) else "(no subgroups)",
        "",
        "### Figures",
        *[f"![{title}]({path})" for title, path in plots.items()],
        "",
        "## Known limits",
        "- Trained and checked on the data named above only; a jobcenter with another population, form or "
        "practice must check calibration on its own recent forms before relying on the ranking (the weekly "
        "page's drift panel warns when this week's forms differ from the training data).",
        "- The form's answers are self-reported and the expected return is a person's own view; the model "
        "ranks, it does not diagnose.",
        "- Published intake models reach AUC 0.65–0.79 on external data (Roelen 2013; Rysstad 2025): expect "
        "lower discrimination on real forms than on the simulated cohorts used in this repository's tests.",
        "- Groups with few forms have wide intervals; the smallest are not shown at all.",
        "",
    ]
    return "\n".join(lines)
