"""Drift: are this week's forms like the ones the model learnt from?

Population stability index (PSI) per input, against bins frozen from the training
forms and stored with the model (``metadata["drift_reference"]``):

* numbers: bin edges at the training deciles (repeated edges merged, so a whole
  number with few values gets one bin per value or range of values);
* code lists and yes/no answers: one bin per code of the contract;
* a blank answer is always a bin of its own, so a form that suddenly stops being
  filled in shows as drift.

``psi = Σ (share_now − share_training) · ln(share_now / share_training)``, shares
floored at :data:`SHARE_FLOOR` so that an empty bin stays finite. Usual reading:
below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 (:data:`PSI_WARNING`) a
shift worth a look before trusting the ranking.

Which inputs: every contract field that is an answer (numbers, whole numbers,
codes, yes/no), from the contract itself; ``diagnosis_code`` is represented by the
``diagnosis_group`` it maps to. No column list is written here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from screening.intake import load_contract
from screening.features._columns import answer_codes

PSI_WARNING = 0.25
PSI_MODERATE = 0.10
SHARE_FLOOR = 1e-4
QUANTILES = np.linspace(0.1, 0.9, 9)
REFERENCE_FORMAT = 1
MISSING_LABEL = "(blank)"
_NUMERIC_PARSES = ("number", "whole")
_CATEGORY_PARSES = ("code", "boolean")


def drift_inputs() -> dict[str, str]:
    """Contract fields followed for drift, with how they are binned (``numeric`` or ``category``)."""
    inputs = {}
    for name, spec in load_contract().fields.items():
        if spec.parse in _NUMERIC_PARSES:
            inputs[name] = "numeric"
        elif spec.parse in _CATEGORY_PARSES:
            inputs[name] = "category"
    return inputs


def _categories(name: str) -> list[str]:
    spec = load_contract().fields[name]
    if spec.parse == "boolean":
        return ["false", "true"]
    codes = spec.codes or sorted(set(spec.labels.values()))  # physical load: labels map to 1..4, no code list
    return [str(code) for code in codes]


def _numeric_bins(values: pd.Series, edges: list[float]) -> np.ndarray:
    """Bin of each value: 0..len(edges) by the edges (right-closed), len(edges)+1 when blank."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), numbers, side="left")
    bins[np.isnan(numbers)] = len(edges) + 1
    return bins


def _category_bins(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Bin of each answer: its position in ``categories``; blank (and unknown) after them."""
    if pd.api.types.is_bool_dtype(values.dtype) or values.dtype == "boolean":
        answers: list[object] = [category == "true" for category in categories]
    elif pd.api.types.is_numeric_dtype(values.dtype):  # whole-number codes (physical load 1..4)
        answers = [float(category) for category in categories]
    else:
        answers = list(categories)
    codes = answer_codes(values, answers)
    codes[codes < 0] = len(categories)
    return codes


def _shares(bins: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def _numeric_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all", MISSING_LABEL]
    labels = [f"≤ {edges[0]:g}"]
    labels += [f"{low:g} – {high:g}" for low, high in zip(edges[:-1], edges[1:])]
    labels += [f"> {edges[-1]:g}", MISSING_LABEL]
    return labels


def drift_reference(forms: pd.DataFrame) -> dict[str, Any]:
    """Freeze the bins and training shares of every drift input, to store with a model.

    Parameters
    ----------
    forms : pandas.DataFrame
        Valid training forms (``validate_file(..., training=True).valid``).

    Returns
    -------
    dict
        JSON-serialisable: ``{"format", "rows", "inputs": {name: {"kind", "edges"
        or "categories", "labels", "shares"}}}``. Inputs absent from ``forms`` are
        left out.
    """
    inputs: dict[str, Any] = {}
    for name, kind in drift_inputs().items():
        if name not in forms.columns:
            continue
        values = forms[name]
        if kind == "numeric":
            present = values.to_numpy(dtype=np.float64, na_value=np.nan)
            present = present[~np.isnan(present)]
            edges = np.unique(np.quantile(present, QUANTILES)).tolist() if len(present) else []
            bins = _numeric_bins(values, edges)
            shares = _shares(bins, len(edges) + 2)
            inputs[name] = {"kind": kind, "edges": [float(e) for e in edges],
                            "labels": _numeric_labels(edges), "shares": shares.tolist()}
        else:
            categories = _categories(name)
            bins = _category_bins(values, categories)
            shares = _shares(bins, len(categories) + 1)
            inputs[name] = {"kind": kind, "categories": categories,
                            "labels": [*categories, MISSING_LABEL], "shares": shares.tolist()}
    return {"format": REFERENCE_FORMAT, "rows": int(len(forms)), "inputs": inputs}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors (floored at :data:`SHARE_FLOOR`)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), SHARE_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    """``stable``, ``moderate`` or ``shift`` (above :data:`PSI_WARNING`)."""
    if value > PSI_WARNING:
        return "shift"
    return "moderate" if value > PSI_MODERATE else "stable"


def drift_counts(reference: dict[str, Any], forms: pd.DataFrame) -> dict[str, np.ndarray]:
    """Forms per frozen bin of each drift input: add these up over the chunks of a file.

    Parameters
    ----------
    reference : dict
        :func:`drift_reference` of the training forms.
    forms : pandas.DataFrame
        Valid forms.

    Returns
    -------
    dict of str to ndarray of int64
        For each input of the reference present in ``forms``, the count per bin.
    """
    counts = {}
    for name, spec in (reference or {}).get("inputs", {}).items():
        if name not in forms.columns:
            continue
        if spec["kind"] == "numeric":
            bins = _numeric_bins(forms[name], spec["edges"])
            n_bins = len(spec["edges"]) + 2
        else:
            bins = _category_bins(forms[name], spec["categories"])
            n_bins = len(spec["categories"]) + 1
        counts[name] = np.bincount(bins, minlength=n_bins).astype(np.int64)
    return counts


def population_stability(reference: dict[str, Any], forms: pd.DataFrame) -> pd.DataFrame:
    """Population stability index of each input of this week's forms against the training data.

    Parameters
    ----------
    reference : dict
        :func:`drift_reference` of the training forms (``metadata["drift_reference"]``).
    forms : pandas.DataFrame
        This week's valid forms.

    Returns
    -------
    pandas.DataFrame
        One row per input, largest PSI first: ``input``, ``psi``, ``level``
        (``stable``/``moderate``/``shift``), ``warning`` (PSI above 0.25),
        ``blank_share_training``, ``blank_share_now``, and ``labels``,
        ``shares_training``, ``shares_now`` (lists, for the weekly page).
    """
    return stability_of_counts(reference, drift_counts(reference, forms))


def stability_of_counts(reference: dict[str, Any], counts: dict[str, np.ndarray]) -> pd.DataFrame:
    """:func:`population_stability` from :func:`drift_counts` (summed over the chunks of a file)."""
    rows = []
    for name, spec in (reference or {}).get("inputs", {}).items():
        if name not in counts:
            continue
        observed = np.asarray(counts[name], dtype=np.float64)
        total = observed.sum()
        now = observed / total if total else observed
        expected = np.asarray(spec["shares"], dtype=np.float64)
        value = psi(expected, now) if total else float("nan")
        rows.append({
            "input": name, "psi": value, "level": level(value) if total else "no forms",
            "warning": bool(value > PSI_WARNING), "blank_share_training": float(expected[-1]),
            "blank_share_now": float(now[-1]), "labels": list(spec["labels"]),
            "shares_training": expected.tolist(), "shares_now": now.tolist(),
        })
    columns = ["input", "psi", "level", "warning", "blank_share_training", "blank_share_now",
               "labels", "shares_training", "shares_now"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["psi", "input"], ascending=[False, True], kind="stable").reset_index(drop=True)
