"""Drift: are this week's forms like the ones the model learnt from?

Each input's answers are counted in bins frozen from the training forms and
stored with the model (``metadata["drift_reference"]``):

* numbers: bin edges at the training deciles (repeated edges merged, so a whole
  number with few values gets one bin per value or range of values);
* code lists and yes/no answers: one bin per code of the contract;
* a blank answer is always a bin of its own, so a form that suddenly stops being
  filled in shows as drift.

How far: the population stability index,
``psi = Σ (share_now − share_training) · ln(share_now / share_training)``, shares
floored at :data:`SHARE_FLOOR` so that an empty bin stays finite.

Is it more than chance? A week is small (20–300 forms at a jobcenter), and on so
few forms PSI is mostly sampling noise: when nothing has changed it is about
(bins − 1) / forms or more, 0.36 for ten bins and 25 forms, and on a week of 25
forms from the training population most inputs pass the usual 0.25. So each
input is tested: the G statistic ``G = 2 · n · KL(now ‖ training)`` of the
week's ``n`` forms is compared with its own distribution at that ``n`` when
nothing has changed, simulated rather than taken from the chi-square
approximation (which is poor for sparse bins and small weeks): :data:`NULL_DRAWS`
multinomial draws of ``n`` forms from the training shares, seeded by the input
and ``n`` and kept for the next week of the same size, so the same counts always
give the same answer. ``p_value`` is the Monte Carlo
p-value ``(1 + draws at least as far) / (1 + draws)``; ``p_adjusted`` is Holm's
correction over the inputs of the week, so that a week of forms from the
training population warns for any input at all in at most
:data:`FALSE_ALARM_RATE` (5 %) of weeks.

The rule. An input warns when both hold:

* ``p_adjusted ≤ FALSE_ALARM_RATE``: the difference is larger than the week's
  size explains;
* ``psi ≥ PSI_MODERATE`` (0.1): the difference is large enough to matter, so a
  file of many thousand forms does not warn on a trivial shift it measures
  precisely.

``level`` reads it: ``shift`` a warning with PSI ≥ :data:`PSI_WARNING` (0.25),
``moderate`` a warning below it, ``stable`` no warning (whatever the PSI of a
small week), ``no forms`` when the week has none, ``not in file`` when the week's
file has no such column (a form without the question is not a different
population: :func:`stability_of_counts`'s ``absent``). Measured
(``benchmarks/bench_drift.py``): weeks from the training population warn in
about 4–5 % of weeks of 25–100 forms and almost never at 300 (the PSI floor);
mental diagnoses at 60 % instead of 29 % warn in nearly every week of 50 forms
or more, but in only one week of 25 forms in ten: so few forms show only a very
large change, such as a field that stops being filled in.

What is not modelled: the training shares are taken as exact. They come from
thousands of forms, so this matters only for files about as large as the
training data, where the PSI floor decides anyway.

Which inputs: every contract field that is an answer (numbers, whole numbers,
codes, yes/no), from the contract itself; ``diagnosis_code`` is represented by the
``diagnosis_group`` it maps to. No column list is written here.

Counts add up: :func:`drift_counts` of the chunks of a file, or of the last
weeks (:func:`pool_counts`), give the same answer as the counts of all of them
at once, with ``n`` their total.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from screening.intake import load_contract
from screening.features._columns import answer_codes

#: PSI from which a warning reads as a clear shift (``level == "shift"``) rather than a moderate one.
PSI_WARNING = 0.25
#: Smallest PSI that warns, however many forms: below it a difference is too small to matter.
PSI_MODERATE = 0.10
#: Share of weeks of forms from the training population allowed to warn (for any input): Holm's level.
FALSE_ALARM_RATE = 0.05
#: Multinomial draws of a week from the training shares, for each input's null distribution of G.
NULL_DRAWS = 9999
_NULL_SEED = 20261101
SHARE_FLOOR = 1e-4
QUANTILES = np.linspace(0.1, 0.9, 9)
REFERENCE_FORMAT = 1
MISSING_LABEL = "(blank)"
#: Columns of the drift frame, in order (the first nine as before the test was added).
#: The ``level`` of an input whose column the week's file does not have (no form answers it).
NOT_IN_FILE = "not in file"
_COLUMNS = ("input", "psi", "level", "warning", "blank_share_training", "blank_share_now",
            "labels", "shares_training", "shares_now", "n", "p_value", "p_adjusted")
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


def level(value: float, *, warning: bool) -> str:
    """The reading of an input: ``stable`` without a warning (whatever its PSI); with one,
    ``shift`` from PSI :data:`PSI_WARNING` on, else ``moderate``."""
    if not warning:
        return "stable"
    return "shift" if value >= PSI_WARNING else "moderate"


def _expected_shares(shares: Any) -> np.ndarray:
    """Training shares as the test's null: floored at :data:`SHARE_FLOOR` (a bin never seen stays possible)."""
    expected = np.maximum(np.asarray(shares, dtype=np.float64), SHARE_FLOOR)
    return expected / expected.sum()


def _g_statistic(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``G = 2 Σ O ln(O / (n e))`` of each row of counts (an empty bin adds 0)."""
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    n = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = counts * np.log(np.where(counts > 0, counts, 1.0) / (n * expected))
    return 2.0 * terms.sum(axis=1)


@functools.lru_cache(maxsize=256)
def _null_g(name: str, expected: tuple[float, ...], n: int, draws: int) -> np.ndarray:
    """Sorted G of ``draws`` weeks of ``n`` forms drawn from ``expected`` (seeded by input and ``n``)."""
    rng = np.random.default_rng([_NULL_SEED, n, zlib.crc32(name.encode("utf-8"))])
    shares = np.asarray(expected, dtype=np.float64)
    return np.sort(_g_statistic(rng.multinomial(n, shares, size=draws), shares))


def drift_p_value(name: str, shares: Any, counts: Any, *, draws: int = NULL_DRAWS) -> Any:
    """Monte Carlo p-value of a week's counts of one input against its training shares.

    Parameters
    ----------
    name : str
        The input (seeds its null draws, so the same counts always give the same p-value).
    shares : array-like of float
        Training share of each bin (``reference["inputs"][name]["shares"]``).
    counts : array-like of int
        This week's forms per bin; or a 2-D array, one week per row.
    draws : int, default :data:`NULL_DRAWS`
        Weeks of the same size drawn from the training shares.

    Returns
    -------
    float or ndarray of float
        ``(1 + draws with G at least the week's) / (1 + draws)``; NaN for a week without
        forms. An array (one p-value per row) when ``counts`` is 2-D.
    """
    observed = np.asarray(counts, dtype=np.float64)
    weeks = np.atleast_2d(observed)
    expected = _expected_shares(shares)
    key = tuple(expected.tolist())
    statistic = _g_statistic(weeks, expected)
    sizes = np.rint(weeks.sum(axis=1)).astype(np.int64)
    p_values = np.full(len(weeks), np.nan)
    for n in np.unique(sizes[sizes > 0]):
        rows = sizes == n
        null = _null_g(name, key, int(n), int(draws))
        # Ties are common at small n (few possible tables): count them as "at least as far" (conservative).
        at_least = len(null) - np.searchsorted(null, statistic[rows] - 1e-9 * (1.0 + np.abs(statistic[rows])),
                                               side="left")
        p_values[rows] = (1 + at_least) / (1 + len(null))
    return p_values if observed.ndim == 2 else float(p_values[0])


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjustment of p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if len(tested) == 0:
        return adjusted
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    steps = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(steps)
    return adjusted


def pool_counts(weeks: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Add up :func:`drift_counts` of several chunks or weeks, input by input.

    Parameters
    ----------
    weeks : iterable of dict of str to array-like of int
        Counts per bin of each input, as :func:`drift_counts` gives them.

    Returns
    -------
    dict of str to ndarray of int64
        The summed counts, to pass to :func:`stability_of_counts`: pooling the last
        few weeks of a small jobcenter tests them as one larger week.
    """
    pooled: dict[str, np.ndarray] = {}
    for counts in weeks:
        for name, values in counts.items():
            values = np.asarray(values, dtype=np.int64)
            pooled[name] = pooled[name] + values if name in pooled else values.copy()
    return pooled


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
    """How this week's forms differ from the training data, input by input, and whether to warn.

    Parameters
    ----------
    reference : dict
        :func:`drift_reference` of the training forms (``metadata["drift_reference"]``).
    forms : pandas.DataFrame
        This week's valid forms.

    Returns
    -------
    pandas.DataFrame
        One row per input, warnings first, then largest PSI first: ``input``, ``psi``,
        ``level`` (``stable``/``moderate``/``shift``/``no forms``), ``warning`` (the
        difference is larger than the week's size explains, Holm-adjusted p-value at
        most :data:`FALSE_ALARM_RATE`, and PSI at least :data:`PSI_MODERATE`),
        ``blank_share_training``, ``blank_share_now``, ``labels``,
        ``shares_training``, ``shares_now`` (lists, for the weekly page), ``n``
        (forms counted), ``p_value`` and ``p_adjusted``.
    """
    return stability_of_counts(reference, drift_counts(reference, forms))


def stability_of_counts(reference: dict[str, Any], counts: Mapping[str, Any], *,
                        absent: Iterable[str] = ()) -> pd.DataFrame:
    """:func:`population_stability` from :func:`drift_counts` (summed over the chunks of a file, or weeks).

    ``absent``: columns the week's file does not have. An input among them that no form
    answers (none derived it from another column) is not a change in who is sick-listed
    but a form without the question: its ``level`` is ``not in file``, with no PSI, no
    test and no warning.
    """
    rows = []
    absent = set(absent)
    for name, spec in (reference or {}).get("inputs", {}).items():
        if name not in counts:
            continue
        observed = np.asarray(counts[name], dtype=np.float64)
        total = observed.sum()
        now = observed / total if total else observed
        expected = np.asarray(spec["shares"], dtype=np.float64)
        missing = name in absent and total > 0 and observed[-1] == total  # the last bin is the blank answers
        rows.append({
            "input": name, "psi": psi(expected, now) if total and not missing else float("nan"),
            "blank_share_training": float(expected[-1]), "blank_share_now": float(now[-1]),
            "labels": list(spec["labels"]), "shares_training": expected.tolist(), "shares_now": now.tolist(),
            "n": int(round(total)),
            "p_value": float("nan") if missing else drift_p_value(name, expected, observed),
            "missing": missing,
        })
    frame = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c not in ("level", "warning", "p_adjusted")]
                         + ["missing"])
    frame["n"] = frame["n"].astype(np.int64)
    frame["p_adjusted"] = holm(frame["p_value"].to_numpy(dtype=np.float64))
    warning = ((frame["p_adjusted"] <= FALSE_ALARM_RATE) & (frame["psi"] >= PSI_MODERATE)).astype(bool)
    frame["warning"] = warning
    frame["level"] = [("no forms" if n == 0 else NOT_IN_FILE if missing else level(value, warning=bool(warn)))
                      for value, warn, n, missing in zip(frame["psi"], warning, frame["n"], frame["missing"])]
    frame = frame[list(_COLUMNS)]
    return frame.sort_values(["warning", "psi", "input"], ascending=[False, False, True],
                             kind="stable").reset_index(drop=True)
