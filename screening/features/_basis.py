"""A design matrix for additive models: splines, indicators and named interactions.

The interpretable risk model is a penalised generalised linear model on this basis,
so every design column belongs to one human-meaningful *group* (``age``,
``expected_return``, ``physical_load x diagnosis_group``); a group's contribution
to a prediction is the dot product of its columns with its coefficients, which is
what the consultant's "reasons" are built from.

Choices, each for a reason:

* Numbers get a cubic B-spline basis with knots at training quantiles, so a
  non-linear effect (age, work ability, weeks absent) needs no hand-made bins.
  Values beyond the training range are clipped to it: the model never extrapolates
  a curve it has not seen.
* A number with few distinct values (physical load 1-4, a yes/no answer) stays
  linear, standardised.
* A missing number is set to its training median *and* flagged by an indicator
  column, so the indicator's coefficient learns what not answering says; the
  median only keeps the other columns at a neutral value.
* A category gets one indicator per level, and one for "missing"; no reference
  level is dropped because the model is penalised (every level shrinks towards the
  average instead of towards an arbitrary reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

_MIN_SPLINE_VALUES = 6


def _spline_knots(values: np.ndarray, n_knots: int, degree: int) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    inner = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_knots + 2)[1:-1]))
    inner = inner[(inner > lo) & (inner < hi)]
    return np.r_[[lo] * (degree + 1), inner, [hi] * (degree + 1)]


def _spline(x: np.ndarray, knots: np.ndarray, degree: int) -> np.ndarray:
    """B-spline basis at ``x`` (clipped to the boundary knots), shape (len(x), n_basis).

    Cox-de Boor recursion over all basis functions at once: a few NumPy operations,
    so one form costs microseconds (scipy's ``design_matrix`` costs ~0.1 ms a call).
    """
    x = np.clip(x, knots[0], knots[-1])
    n_intervals = len(knots) - 1
    # Interval of each x; x at the right boundary belongs to the last non-empty interval.
    interval = np.searchsorted(knots, x, side="right") - 1
    last = int(np.flatnonzero(knots[1:] > knots[:-1])[-1])
    interval = np.minimum(interval, last)
    basis = np.zeros((len(x), n_intervals))
    basis[np.arange(len(x)), interval] = 1.0
    for p in range(1, degree + 1):
        left_den = knots[p:n_intervals] - knots[: n_intervals - p]
        right_den = knots[p + 1 : n_intervals + 1] - knots[1 : n_intervals - p + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(left_den > 0, (x[:, None] - knots[: n_intervals - p]) / left_den, 0.0)
            right = np.where(right_den > 0, (knots[p + 1 : n_intervals + 1] - x[:, None]) / right_den, 0.0)
        basis = left * basis[:, :-1] + right * basis[:, 1:]
    return basis


class AdditiveBasis(TransformerMixin, BaseEstimator):
    """Expand numeric inputs into a named, grouped design matrix for additive models.

    Parameters
    ----------
    categorical_features : sequence of int or str, or array-like of bool, default None
        Columns holding category codes (as :class:`~screening.features.FormEncoder`
        writes them): one indicator per level seen in ``fit`` plus one for missing.
    linear_features : sequence of int or str, default None
        Numeric columns to keep linear (standardised) instead of splined. Columns
        with fewer than 6 distinct values are always linear.
    interactions : sequence of (column, column), default ()
        Pairs to interact. Category x number: the number's basis once per level;
        number x number: the first, standardised, times the second's basis (a
        coefficient that varies smoothly with the second); category x category: one
        indicator per pair of levels.
    n_knots : int, default 5
        Inner knots of each spline, at training quantiles.
    degree : int, default 3
        Degree of the splines.
    feature_names : sequence of str, default None
        Names of the input columns, for the output names and groups; by default the
        DataFrame's column names or ``x0, x1, ...``.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.
    groups_ : ndarray of str
        Group of each output column (an input name, or ``"a x b"``).
    blocks_ : list of dict
        How each group is built (kind, columns, knots, levels, centring); plain
        Python and NumPy only, so the fitted basis serialises with skops.
    """

    def __init__(
        self,
        *,
        categorical_features: Sequence[int | str] | np.ndarray | None = None,
        linear_features: Sequence[int | str] | None = None,
        interactions: Sequence[tuple[int | str, int | str]] = (),
        n_knots: int = 5,
        degree: int = 3,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.linear_features = linear_features
        self.interactions = interactions
        self.n_knots = n_knots
        self.degree = degree
        self.feature_names = feature_names

    # ------------------------------------------------------------------ fit
    def _names(self, n_columns: int) -> list[str]:
        if self.feature_names is not None:
            names = [str(name) for name in self.feature_names]
            if len(names) != n_columns:
                raise ValueError(f"feature_names has {len(names)} names for {n_columns} columns")
            return names
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(n_columns)]

    @staticmethod
    def _indices(spec: Any, names: list[str], what: str) -> list[int]:
        if spec is None:
            return []
        values = list(np.asarray(spec).ravel()) if not isinstance(spec, (list, tuple)) else list(spec)
        if values and all(isinstance(v, (bool, np.bool_)) for v in values):
            if len(values) != len(names):
                raise ValueError(f"{what}: mask of length {len(values)} for {len(names)} columns")
            return [i for i, flag in enumerate(values) if flag]
        return [AdditiveBasis._index(value, names, what) for value in values]

    @staticmethod
    def _index(value: int | str, names: list[str], what: str) -> int:
        if isinstance(value, str):
            if value not in names:
                raise ValueError(f"{what}: no column named {value!r}")
            return names.index(value)
        index = int(value)
        if not 0 <= index < len(names):
            raise ValueError(f"{what} refers to column {index}, but X has n_features = {len(names)}")
        return index

    def fit(self, X: np.ndarray, y: object = None) -> AdditiveBasis:
        """Learn knots, levels, medians and scales.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_inputs)
            Numbers and category codes; NaN where missing.
        y : ignored

        Returns
        -------
        self : AdditiveBasis
        """
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        if self.n_knots < 1 or self.degree < 1:
            raise ValueError("n_knots and degree must be at least 1")
        names = self._names(X.shape[1])
        categorical = set(self._indices(self.categorical_features, names, "categorical_features"))
        linear = set(self._indices(self.linear_features, names, "linear_features"))
        self.blocks_: list[dict[str, Any]] = []
        for j, name in enumerate(names):
            column = X[:, j]
            missing = np.isnan(column)
            present = column[~missing]
            if j in categorical:
                block = {"kind": "category", "columns": [j], "group": name,
                         "levels": np.unique(present).tolist(), "missing": bool(missing.any())}
            else:
                fill = float(np.median(present)) if len(present) else 0.0
                block = {"kind": "number", "columns": [j], "group": name, "fill": fill,
                         "missing": bool(missing.any())}
                filled = np.where(missing, fill, column)
                if j in linear or len(np.unique(present)) < _MIN_SPLINE_VALUES:
                    scale = float(filled.std()) or 1.0
                    block.update(spline=False, center=float(filled.mean()), scale=scale)
                else:
                    block.update(spline=True, knots=_spline_knots(filled, self.n_knots, self.degree))
            self.blocks_.append(block)
        for pair in self.interactions:
            a, b = (self._index(value, names, "interactions") for value in pair)
            if a == b:
                raise ValueError(f"interaction of {names[a]!r} with itself")
            if b in categorical and a not in categorical:
                a, b = b, a
            self.blocks_.append({"kind": "interaction", "columns": [a, b],
                                 "group": f"{names[a]} x {names[b]}"})
        self.groups_ = np.asarray(
            [block["group"] for block in self.blocks_ for _ in self._block_names(block)], dtype=object
        )
        self.feature_names_out_ = np.asarray(
            [label for block in self.blocks_ for label in self._block_names(block)], dtype=object
        )
        return self

    def _basis_names(self, block: dict[str, Any]) -> list[str]:
        group = block["group"]
        if block["kind"] == "category":
            return [f"{group}={level:g}" for level in block["levels"]]
        if block["spline"]:
            return [f"{group}_s{i}" for i in range(len(block["knots"]) - self.degree - 1)]
        return [group]

    def _block_names(self, block: dict[str, Any]) -> list[str]:
        if block["kind"] == "interaction":
            first_block, second_block = (self.blocks_[c] for c in block["columns"])
            first = (self._basis_names(first_block) if first_block["kind"] == "category"
                     else [first_block["group"]])
            second = self._basis_names(second_block)
            return [f"{left} x {right}" for left in first for right in second]
        missing = [f"{block['group']}=missing"] if block["missing"] else []
        return self._basis_names(block) + missing

    # ------------------------------------------------------------ transform
    def _main_values(self, block: dict[str, Any], X: np.ndarray, *, with_missing: bool = True) -> np.ndarray:
        column = X[:, block["columns"][0]]
        missing = np.isnan(column)
        if block["kind"] == "category":
            levels = np.asarray(block["levels"], dtype=np.float64)
            out = (column[:, None] == levels[None, :]).astype(np.float64)
        else:
            filled = np.where(missing, block["fill"], column)
            if block["spline"]:
                out = _spline(filled, np.asarray(block["knots"]), self.degree)
            else:
                out = ((filled - block["center"]) / block["scale"])[:, None]
        if with_missing and block["missing"]:
            out = np.column_stack([out, missing.astype(np.float64)])
        return out

    def _linear(self, block: dict[str, Any], X: np.ndarray) -> np.ndarray:
        """A number as one standardised column (the left side of a number x number interaction)."""
        column = X[:, block["columns"][0]]
        filled = np.where(np.isnan(column), block["fill"], column)
        if block["spline"]:
            knots = np.asarray(block["knots"])
            centre, scale = (knots[0] + knots[-1]) / 2, (knots[-1] - knots[0]) / 4 or 1.0
            return ((np.clip(filled, knots[0], knots[-1]) - centre) / scale)[:, None]
        return ((filled - block["center"]) / block["scale"])[:, None]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Build the design matrix.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_inputs)

        Returns
        -------
        ndarray of shape (n_rows, n_design_columns), float64
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        out = np.empty((len(X), len(self.feature_names_out_)))
        at = 0
        for block in self.blocks_:
            if block["kind"] != "interaction":
                values = self._main_values(block, X)
            else:
                first, second = (self.blocks_[c] for c in block["columns"])
                left = (self._main_values(first, X, with_missing=False) if first["kind"] == "category"
                        else self._linear(first, X))
                right = self._main_values(second, X, with_missing=False)
                values = (left[:, :, None] * right[:, None, :]).reshape(len(X), -1)
            out[:, at : at + values.shape[1]] = values
            at += values.shape[1]
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the design columns (``age_s0``, ``expected_return=3``, ``... x ...``)."""
        check_is_fitted(self)
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
