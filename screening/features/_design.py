"""The design matrix of a fitted :class:`~screening.features.AdditiveBasis`, without scikit-learn.

What scoring needs of the basis (see ``_basis`` for how it is fitted and why): the
fitted basis is :class:`DesignScoring` with scikit-learn's estimator contract added;
a model loaded only to score holds a :class:`DesignScoring` with the same fitted
attributes, and builds the same design.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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


class DesignScoring:
    """A fitted :class:`~screening.features.AdditiveBasis`'s design (its attributes are documented there)."""

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

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the design columns (``age_s0``, ``expected_return=3``, ``... x ...``)."""
        return self.feature_names_out_.copy()

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The design matrix of ``X`` (n_rows, n_inputs) as the basis was fitted (see :meth:`AdditiveBasis.transform`)."""
        return self.design(np.asarray(X, dtype=np.float64))

    def design(self, X: np.ndarray) -> np.ndarray:
        """The design matrix of a float array whose columns were checked."""
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
