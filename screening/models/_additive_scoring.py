"""Scoring with a fitted additive hazard and its calibration map, without scikit-learn.

What scoring needs of :class:`~screening.models._hazard.AdditiveHazard` and
:class:`~screening.models._calibration.HazardCalibrator` (see those modules for how
they are fitted): each fitted estimator is the class here with scikit-learn's
estimator contract added; a model loaded only to score holds these classes with the
same fitted attributes, and predicts the same numbers. Also the process's one
thread-pool controller.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

import numpy as np

#: Batches up to this many rows are predicted on one thread: OpenMP start-up costs
#: more than it saves on small batches (measured on a 2-core machine: 30 ms → 3 ms for one form).
SINGLE_THREAD_ROWS = 50_000
#: Above this many forms, a form input's spline is built once per distinct value.
_DISTINCT_FROM = 256
#: Up to this many forms, form terms are remembered per answer (a form scored alone).
_MEMO_ROWS = 16
#: Remembered values per model at most (then forgotten at once).
_MEMO_SIZE = 100_000
#: Distinct values of one input remembered at most.
_MEMO_VALUES = 100_000
_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MEMO_LOCK = threading.Lock()
_CONTROLLER_LOCK = threading.Lock()
_CONTROLLER = None


def _by_value(memo: dict, tag: tuple, x: np.ndarray, make) -> np.ndarray:
    """``make(x)`` for a function of each value alone, from a sorted table of the values
    seen before (kept in ``memo`` under ``tag``); values not in it are made once each."""
    keys, results, blank = memo.get(("by value", tag), (np.empty(0), None, None))
    missing = np.isnan(x)
    if results is not None:
        position = np.minimum(np.searchsorted(keys, x), len(keys) - 1)
        hit = keys[position] == x
    else:
        position, hit = np.zeros(len(x), dtype=np.intp), np.zeros(len(x), dtype=bool)
    if blank is None and missing.any():
        blank = make(np.array([np.nan]))[0]
        memo[("by value", tag)] = (keys, results, blank)
    if missing.all():
        return np.broadcast_to(blank, (len(x), *np.shape(blank))).copy()
    if not (hit | missing).all():
        new = np.unique(x[~hit & ~missing])
        made = make(new)
        keys = np.concatenate([keys, new]) if results is not None else new
        results = np.concatenate([results, made]) if results is not None else made
        order = np.argsort(keys, kind="stable")
        keys, results = keys[order], results[order]
        if len(keys) <= _MEMO_VALUES:
            memo[("by value", tag)] = (keys, results, blank)
        position = np.minimum(np.searchsorted(keys, x), len(keys) - 1)
    out = results[position]
    if missing.any():
        out[missing] = blank
    return out


def _by_rows(forms: np.ndarray, columns: list[int], make) -> np.ndarray:
    """``make(forms)`` for a function of each row's ``columns`` alone, made once per distinct
    combination of their values (NaN equal to NaN)."""
    import pandas as pd

    code = np.zeros(len(forms), dtype=np.int64)
    for column in columns:
        codes, values = pd.factorize(forms[:, column], use_na_sentinel=False)
        code = code * len(values) + codes
    inverse, _ = pd.factorize(code)  # numbered in order of first appearance
    seen_before = np.maximum.accumulate(np.r_[-1, inverse[:-1]])
    first = np.flatnonzero(inverse > seen_before)
    return make(forms[first])[inverse]


def threadpool_controller():
    """The process's one ``threadpoolctl.ThreadpoolController`` (finding the thread pools costs tens of ms)."""
    global _CONTROLLER
    with _CONTROLLER_LOCK:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _one_thread():
    """A context manager limiting OpenMP to one thread."""
    return threadpool_controller().limit(limits=1, user_api="openmp")


class AdditiveHazardScoring:
    """A fitted :class:`~screening.models._hazard.AdditiveHazard`'s log hazard and its terms (attributes documented there)."""

    def _check_fitted(self) -> None:
        """Nothing to check: a scorer is made from a fitted model (the estimator checks its own)."""

    def predict_log_rate(self, X: np.ndarray) -> np.ndarray:
        """Log hazard per week of each row."""
        self._check_fitted()
        return self.basis_.transform(X) @ self.coef_ + self.intercept_

    def group_terms(self, X: np.ndarray) -> np.ndarray:
        """Each group's term of the log hazard, relative to the training average.

        Returns
        -------
        ndarray of shape (n_rows, n_groups)
            Columns in the order of ``groups_``; a row's terms plus
            ``intercept_ + design_mean_ @ coef_`` sum to its log hazard exactly.
        """
        self._check_fitted()
        centred = (self.basis_.transform(X) - self.design_mean_) * self.coef_
        index = {name: k for k, name in enumerate(self.groups_)}
        member = np.array([index[name] for name in self.basis_.groups_])
        out = np.zeros((len(centred), len(self.groups_)))
        for k in range(len(self.groups_)):
            out[:, k] = centred[:, member == k].sum(axis=1)
        return out


    def factorised_terms(
        self, forms: np.ndarray | None, times: np.ndarray | None, time_columns: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray | None, list[tuple[int, np.ndarray, np.ndarray]]]:
        """The log hazard split into what depends on the form and what on the time row.

        For a row made of form ``i``'s inputs and time row ``r``'s ``time_columns``,
        group ``g``'s term (uncentred, as in :meth:`predict_log_rate`) is
        ``const[i, g]`` plus, for each part ``(g, columns, A)`` of that group,
        ``A[i] @ B[r, columns]``. So the log hazard is ``intercept_ + const[i].sum()``
        plus the time parts: form-only blocks are built once per form, time blocks
        once per time row, and an interaction of the two by its factors (the
        coefficients folded into the form's side). A time factor used by several
        groups (a spline of ``weeks`` alone and in an interaction) is one column of ``B``.

        Parameters
        ----------
        forms : ndarray of shape (n_forms, n_columns)
            Only the columns that are not ``time_columns`` are read (it may stop
            before them). None: only ``B``.
        times : ndarray of shape (n_times, n_inputs)
            Only ``time_columns`` are read. None: ``B`` is None (the form side only).
        time_columns : sequence of int

        Returns
        -------
        const : ndarray of shape (n_forms, n_groups)
            Groups in ``groups_`` order.
        B : ndarray of shape (n_times, n_factors)
        parts : list of (int, ndarray of int, ndarray of shape (n_forms, len(columns)))
            Group position, columns of ``B`` and form factors.
        """
        self._check_fitted()
        basis = self.basis_
        timed = {int(c) for c in time_columns}
        with_forms, with_times = forms is not None, times is not None
        forms = np.asarray(forms, dtype=np.float64) if with_forms else np.zeros((0, 0))
        times = np.asarray(times, dtype=np.float64) if with_times else np.zeros((0, 0))
        n = len(forms)
        memo_all = self.memo()
        memo = memo_all if 0 < n <= _MEMO_ROWS else None
        const = np.zeros((n, len(self.groups_)))
        factors: dict[tuple, tuple[int, int, np.ndarray | None]] = {}
        parts: list[tuple[int, np.ndarray, np.ndarray]] = []

        def time_factor(key: tuple, width: int, make) -> np.ndarray:
            if key not in factors:
                start = sum(w for _, w, _ in factors.values())
                factors[key] = (start, width, make() if with_times else None)
            start, width, _ = factors[key]
            return np.arange(start, start + width)

        def main(block: dict, source: np.ndarray, with_missing: bool) -> np.ndarray:
            return basis._main_values(block, source, with_missing=with_missing)

        def side(block: dict, source: np.ndarray, linear: bool) -> np.ndarray:
            return basis._linear(block, source) if linear else main(block, source, False)

        def on_forms(tag: tuple, block_columns: list[int], spline: bool, make) -> np.ndarray:
            """``make(forms)``, row by row; a row depends only on its ``block_columns``, so
            a spline is built once per distinct value, and a few forms' rows are remembered."""
            if memo is not None:
                keys = [(tag, *(None if value != value else value for value in row))
                        for row in forms[:, block_columns].tolist()]
                rows = [memo.get(key) for key in keys]
                todo = [i for i, row in enumerate(rows) if row is None]
                if todo:
                    made = make(forms[todo])
                    if len(memo) > _MEMO_SIZE:
                        memo.clear()
                    for i, value in zip(todo, made):
                        memo[keys[i]] = rows[i] = value
                return np.array(rows)
            if not (spline and n > _DISTINCT_FROM):
                return make(forms)
            if len(block_columns) > 1:
                return _by_rows(forms, block_columns, make)
            column = block_columns[0]

            def of_values(values: np.ndarray) -> np.ndarray:
                source = np.zeros((len(values), column + 1))
                source[:, column] = values
                return make(source)

            return _by_value(memo_all, tag, forms[:, column], of_values)

        def spline(block: dict) -> bool:
            return block["kind"] == "number" and bool(block["spline"])

        widths = memo_all.get(("widths",))
        if widths is None:
            widths = memo_all[("widths",)] = {
                "basis": [len(basis._basis_names(block)) if block["kind"] != "interaction" else 0
                          for block in basis.blocks_],
                "block": [len(basis._block_names(block)) for block in basis.blocks_],
                "index": {name: k for k, name in enumerate(self.groups_)},
            }
        basis_widths = widths["basis"]

        def width(block: dict, linear: bool = False) -> int:
            return 1 if linear else basis_widths[block["columns"][0]]

        index = widths["index"]
        at = 0
        for position, block in enumerate(basis.blocks_):
            g = index[block["group"]]
            if block["kind"] != "interaction":
                column = block["columns"][0]
                size = widths["block"][position]
                coef = self.coef_[at : at + size]
                if column in timed:
                    columns = time_factor((column, "main", bool(block["missing"])), size,
                                          lambda: main(block, times, True))
                    parts.append((g, columns, np.broadcast_to(coef, (n, size))))
                elif with_forms:
                    const[:, g] = on_forms((position,), [column], spline(block),
                                           lambda source: main(block, source, True) @ coef)
                at += size
                continue
            a, b = block["columns"]
            first, second = basis.blocks_[a], basis.blocks_[b]
            linear = first["kind"] != "category"
            a_time, b_time = a in timed, b in timed
            size = width(first, linear) * width(second)
            coef = self.coef_[at : at + size].reshape(width(first, linear), width(second))
            at += size
            if a_time and b_time:
                columns = time_factor((a, b, "pair"), size, lambda: (
                    side(first, times, linear)[:, :, None] * side(second, times, False)[:, None, :]
                ).reshape(len(times), -1))
                parts.append((g, columns, np.broadcast_to(coef.ravel(), (n, size))))
            elif a_time:
                columns = time_factor((a, "linear" if linear else "main", False), width(first, linear),
                                      lambda: side(first, times, linear))
                if with_forms:
                    parts.append((g, columns, on_forms((position,), [b], spline(second),
                                                       lambda source: side(second, source, False) @ coef.T)))
            elif b_time:
                columns = time_factor((b, "main", False), width(second), lambda: side(second, times, False))
                if with_forms:
                    parts.append((g, columns, on_forms((position,), [a], spline(first),
                                                       lambda source: side(first, source, linear) @ coef)))
            elif with_forms:
                const[:, g] = on_forms((position,), [a, b], spline(first) or spline(second), lambda source: (
                    (side(first, source, linear) @ coef) * side(second, source, False)).sum(axis=1))
        if not with_times:
            return const, None, parts
        blocks = [values for _, _, values in factors.values()]
        B = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(times), 0))
        return const, B, parts

    def memo(self) -> dict:
        """A cache of this fitted model's values (per form value, per entry), kept outside
        the estimator (so it is never saved) and reset when the model is refitted."""
        entry = _MEMOS.get(self)
        if entry is None or entry[0] is not self.coef_ or entry[1] is not self.basis_:
            entry = (self.coef_, self.basis_, {})
            with _MEMO_LOCK:
                _MEMOS[self] = entry
        return entry[2]

    def group_means(self) -> np.ndarray:
        """Each group's term at the training average (``design_mean_``), in ``groups_`` order:
        :meth:`group_terms` is the uncentred term minus this."""
        self._check_fitted()
        index = {name: k for k, name in enumerate(self.groups_)}
        member = np.array([index[name] for name in self.basis_.groups_])
        return np.bincount(member, weights=self.design_mean_ * self.coef_, minlength=len(self.groups_))


class CalibrationScoring:
    """A fitted :class:`~screening.models._calibration.HazardCalibrator`'s map (attributes documented there)."""

    def _check_fitted(self) -> None:
        """Nothing to check: a scorer is made from a fitted model (the estimator checks its own)."""

    def transform(self, log_rate: np.ndarray) -> np.ndarray:
        """Calibrated log hazard."""
        self._check_fitted()
        return self.intercept_ + self.slope_ * np.asarray(log_rate, dtype=np.float64)
