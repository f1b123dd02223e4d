"""Hazard-of-return estimators on person-period rows (piecewise-exponential model).

Both families estimate λ(t | form), the weekly hazard of returning to work in the
period containing week t, from rows made by :mod:`._person_period`. Both maximise
the same Poisson likelihood of events with log-exposure offset, written as the
usual trick: target ``event / exposure``, sample weight ``exposure``. The row
inputs are the encoded form plus ``weeks`` (absolute time since the first sick
day: the shape of the baseline hazard) and ``weeks_since_form`` (time since the
answers were given: the expected return is stated relative to the form).

* :class:`AdditiveHazard` — log λ is a sum of smooth one-input effects and a few
  named interactions (:class:`~screening.features.AdditiveBasis`), L2-penalised.
  Its contributions are exact: they are the terms of the sum.
* :class:`BoostedHazard` — gradient-boosted trees with Poisson loss, early stopping
  on forms held out as a whole (rows of one form never sit on both sides).

Fitted state is NumPy arrays and scikit-learn objects only (skops-serialisable).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import PoissonRegressor
from sklearn.utils.validation import check_is_fitted

from screening.features import AdditiveBasis

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


class AdditiveHazard(BaseEstimator):
    """Penalised Poisson GLM for the log hazard on a spline/indicator basis.

    Parameters
    ----------
    categorical_features : array-like of bool or sequence, default None
        Category-code columns of the row inputs.
    feature_names : sequence of str, default None
        Names of the row inputs (used by ``interactions`` and for groups).
    interactions : sequence of (str, str), default ()
        Named interactions passed to :class:`~screening.features.AdditiveBasis`.
    alpha : float, default 1e-4
        L2 penalty (scikit-learn's ``PoissonRegressor`` scale: per unit of mean
        weighted deviance, so it weakens as data grow).
    n_knots : int, default 5
        Inner knots per spline.

    Attributes
    ----------
    basis_ : AdditiveBasis
    coef_ : ndarray
        Coefficient of each design column.
    intercept_ : float
    design_mean_ : ndarray
        Mean of each design column over the training rows, the reference of
        :meth:`group_terms`.
    groups_ : list of str
        Group names in design order (unique).
    """

    def __init__(
        self,
        *,
        categorical_features: Sequence[bool] | None = None,
        feature_names: Sequence[str] | None = None,
        interactions: Sequence[tuple[str, str]] = (),
        alpha: float = 1e-4,
        n_knots: int = 5,
    ) -> None:
        self.categorical_features = categorical_features
        self.feature_names = feature_names
        self.interactions = interactions
        self.alpha = alpha
        self.n_knots = n_knots

    def fit(
        self, X: np.ndarray, event: np.ndarray, *, exposure: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> AdditiveHazard:
        """Fit on person-period rows (``event`` 0/1, ``exposure`` in weeks)."""
        weight = exposure if sample_weight is None else exposure * sample_weight
        self.basis_ = AdditiveBasis(
            categorical_features=self.categorical_features,
            feature_names=self.feature_names,
            interactions=self.interactions,
            n_knots=self.n_knots,
        ).fit(X)
        design = self.basis_.transform(X)
        glm = PoissonRegressor(alpha=self.alpha, solver="newton-cholesky", max_iter=100, tol=1e-6)
        glm.fit(design, event / exposure, sample_weight=weight)
        self.coef_ = np.asarray(glm.coef_, dtype=np.float64)
        self.intercept_ = float(glm.intercept_)
        self.design_mean_ = np.average(design, axis=0, weights=weight)
        self.groups_ = list(dict.fromkeys(self.basis_.groups_.tolist()))
        self.n_iter_ = int(glm.n_iter_)
        return self

    def predict_log_rate(self, X: np.ndarray) -> np.ndarray:
        """Log hazard per week of each row."""
        check_is_fitted(self)
        return self.basis_.transform(X) @ self.coef_ + self.intercept_

    def group_terms(self, X: np.ndarray) -> np.ndarray:
        """Each group's term of the log hazard, relative to the training average.

        Returns
        -------
        ndarray of shape (n_rows, n_groups)
            Columns in the order of ``groups_``; a row's terms plus
            ``intercept_ + design_mean_ @ coef_`` sum to its log hazard exactly.
        """
        check_is_fitted(self)
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
        check_is_fitted(self)
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
        check_is_fitted(self)
        index = {name: k for k, name in enumerate(self.groups_)}
        member = np.array([index[name] for name in self.basis_.groups_])
        return np.bincount(member, weights=self.design_mean_ * self.coef_, minlength=len(self.groups_))


def _early_stopping_forms(n_forms: int, n_members: int, fraction: float, seed: int) -> np.ndarray:
    """The forms each member of a bag holds out for early stopping, shape (n_members, n_forms).

    One uniform draw per form; member ``k`` holds out the forms whose draw plus ``k / n_members``
    falls below ``fraction`` (modulo 1): arcs of the circle that do not overlap while
    ``n_members * fraction <= 1``. Member 0 holds out the draws below ``fraction``, as the
    single boosted model did before the bag.
    """
    position = np.random.default_rng(seed).random(n_forms)
    shift = np.arange(n_members)[:, None] / n_members
    return (position + shift) % 1.0 < fraction


class BoostedHazard(BaseEstimator):
    """Gradient-boosted trees for the hazard (Poisson loss, log link), bagged.

    Parameters
    ----------
    categorical_features : array-like of bool, default None
        Category-code columns of the row inputs (native categorical splits).
    n_members : int, default 3
        Boosted models in the bag. Member ``k`` holds out its own share of whole
        forms for early stopping (the shares of different members do not overlap
        while ``n_members * validation_fraction <= 1``, so every form trains all
        members but at most one) and has ``random_state + k``; the log hazard is
        the mean of the members' log hazards. One member with ``max_features=1.0``
        is the single boosted model of earlier versions (the same fit). Three
        members drawing half the inputs per split raised the AUC on unseen messy
        ``aft`` cohorts from 0.988-0.991 to 0.991-0.993 x the optimum of the answers
        shown (five: about 0.0005 more), for about three times the boosted family's
        fit and prediction time (``benchmarks/bench_calibration.py``).
    max_features : float, default 0.5
        Share of the row inputs drawn at random for each split (column subsampling,
        as in random forests): it makes the members differ more than their
        early-stopping forms alone would, so their mean varies less.
    learning_rate : float, default 0.05
        Shrinkage per tree; early stopping chooses the number of trees. Half of
        scikit-learn's default: on unseen complete-form cohorts of the simulator's
        ``aft`` family (30,000 training forms) the AUC at 22 and 52 weeks rose by
        about 0.0012, at 8 and 13 weeks by less, for about twice the trees
        (``benchmarks/bench_calibration.py --complete-forms``).
    max_leaf_nodes, min_samples_leaf, l2_regularization, max_iter
        As in :class:`~sklearn.ensemble.HistGradientBoostingRegressor`.
    validation_fraction : float, default 0.1
        Share of *forms* each member holds out for early stopping.
    random_state : int, default 0

    Attributes
    ----------
    members_ : list of HistGradientBoostingRegressor
    n_iter_ : int
        Boosting iterations kept by early stopping, summed over the members.
    """

    #: Models saved before the bag existed hold one member, as ``model_``, that saw every input at each split.
    n_members = 1
    max_features = 1.0

    def __init__(
        self,
        *,
        categorical_features: Sequence[bool] | None = None,
        n_members: int = 3,
        max_features: float = 0.5,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 200,
        l2_regularization: float = 1.0,
        max_iter: int = 1000,
        validation_fraction: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.categorical_features = categorical_features
        self.n_members = n_members
        self.max_features = max_features
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def __setstate__(self, state: dict) -> None:
        # A model saved before the bag existed: its one boosted model is the bag.
        if "model_" in state and "members_" not in state:
            state = {**state, "members_": [state["model_"]]}
            del state["model_"]
        super().__setstate__(state)

    def fit(
        self,
        X: np.ndarray,
        event: np.ndarray,
        *,
        exposure: np.ndarray,
        groups: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> BoostedHazard:
        """Fit on person-period rows; ``groups`` (form of each row) keeps forms whole."""
        if int(self.n_members) < 1:
            raise ValueError(f"n_members must be at least 1, got {self.n_members!r}")
        weight = exposure if sample_weight is None else exposure * sample_weight
        held_out_forms = _early_stopping_forms(
            int(groups.max()) + 1, int(self.n_members), self.validation_fraction, self.random_state)
        mask = None if self.categorical_features is None else np.asarray(self.categorical_features, dtype=bool)
        target = event / exposure
        self.members_ = []
        for k in range(int(self.n_members)):
            held_out = held_out_forms[k][groups]
            train = ~held_out
            member = HistGradientBoostingRegressor(
                loss="poisson",
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                l2_regularization=self.l2_regularization,
                categorical_features=mask,
                early_stopping=True,
                n_iter_no_change=20,
                random_state=self.random_state + k,
            )
            member.fit(
                X[train], target[train], sample_weight=weight[train],
                X_val=X[held_out], y_val=target[held_out], sample_weight_val=weight[held_out],
            )
            self.members_.append(member)
        self.n_iter_ = sum(int(member.n_iter_) for member in self.members_)
        return self

    def predict_log_rate(self, X: np.ndarray) -> np.ndarray:
        """Log hazard per week of each row: the mean of the members' log hazards."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        log_rate = np.zeros(len(X))
        with _one_thread() if len(X) <= SINGLE_THREAD_ROWS else contextlib.nullcontext():
            for member in self.members_:
                log_rate += np.log(member.predict(X))
        return log_rate / len(self.members_)
