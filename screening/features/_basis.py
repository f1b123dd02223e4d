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

from screening.features._design import DesignScoring

_MIN_SPLINE_VALUES = 6


def _spline_knots(values: np.ndarray, n_knots: int, degree: int) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    inner = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_knots + 2)[1:-1]))
    inner = inner[(inner > lo) & (inner < hi)]
    return np.r_[[lo] * (degree + 1), inner, [hi] * (degree + 1)]


class AdditiveBasis(DesignScoring, TransformerMixin, BaseEstimator):
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
        return self.design(X)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the design columns (``age_s0``, ``expected_return=3``, ``... x ...``)."""
        check_is_fitted(self)
        return super().get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
