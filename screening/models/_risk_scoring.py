"""Predicting and explaining with a fitted risk model, without scikit-learn.

What scoring needs of :class:`~screening.models.RiskModel` (see ``_risk_model`` for
what is predicted and how it is fitted): the fitted model is :class:`RiskScoring`
with fitting and scikit-learn's estimator contract added. A model loaded only to
score (:func:`screening.models.thaw_scorer`) is a :class:`RiskScoring` holding the
``*Scoring`` classes of its parts with the same fitted attributes: it predicts and
explains the same numbers, and importing it imports no scikit-learn (about a second
of a batch's start). The additive family only: the boosted family's trees are
scikit-learn's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from screening.models import _additive_scoring
from screening.models._person_period import (
    PERIOD_BOUNDS,
    TIME_FEATURES,
    PersonPeriods,
    cumulative_hazards,
    prediction_periods,
)

OUTCOME_COLUMNS: tuple[str, str] = ("absence_weeks", "spell_ended")
#: Person-period rows predicted at a time (the additive design of a chunk is ~100 MB).
PREDICTION_CHUNK_ROWS = 100_000
#: Forms the additive family predicts at a time on its (form x period) grid.
GRID_CHUNK_FORMS = 65_536
#: Forms of one entry multiplied at a time on the grid: OpenBLAS runs larger products on
#: several threads, which on a 2-core machine costs more than it saves.
GROUP_BLOCK_ROWS = 512
#: A term of the additive hazard is tabled for one form at a time for at most this many combinations of answers.
ONE_FORM_COMBINATIONS = 50_000
#: Human-meaningful group of each model input, for contributions ("reasons").
INPUT_GROUPS: dict[str, str] = {
    "sick_weeks": "weeks_absent",
    "weeks": "weeks_absent",
    "weeks_since_form": "weeks_absent",
    "diagnosis_chapter": "diagnosis",
    "diagnosis_group": "diagnosis",
}


def _periods_to(horizon: float) -> int:
    """Periods of the grid up to ``horizon`` (at least one, at most all)."""
    return int(min(max(np.searchsorted(PERIOD_BOUNDS, horizon, side="left"), 1), len(PERIOD_BOUNDS) - 1))


def _value_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """A code for each value (NaN one of them; equal values alike) and a bound on the codes.

    Small whole numbers (answer codes, ages, ...) are their own code, found without hashing;
    other values are numbered by ``pandas.factorize``.
    """
    missing = np.isnan(values)
    blanks = bool(missing.any())
    whole = np.where(missing, 0.0, values) if blanks else values
    top = float(whole.max()) if len(whole) else 0.0
    if top < 65_536 and float(whole.min(initial=0.0)) >= 0:
        codes = whole.astype(np.int64)
        if (codes == whole).all():
            if blanks:
                codes[missing] = int(top) + 1
            return codes, int(top) + 2
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), len(uniques)


def _one_of_each(key: np.ndarray, bound: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For keys below ``bound``: each row's number and a row of each number (numbers without a row get row 0);
    ``positions`` is ``np.arange(len(key))``.

    A key is its own number when the range is small beside the rows; otherwise the keys are numbered."""
    if bound > len(key) // 2 + 1024:
        key, uniques = pd.factorize(key)
        bound = len(uniques)
    one = np.zeros(bound, dtype=np.int64)
    one[key] = positions  # any row of each: they agree on the inputs the key is made of
    return key, one


def _sorted_distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` by hashing (NaN last, once): the distinct values in order
    and the position of each value among them."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=np.float64)
    rank = np.argsort(uniques, kind="stable")  # NaN sorts last
    position = np.empty(len(rank), dtype=np.int64)
    position[rank] = np.arange(len(rank))
    return uniques[rank], position[codes]


def _inputs(forms: pd.DataFrame) -> pd.DataFrame:
    """The forms without the training outcome columns: the model reads forms as they arrive,
    so the same forms score alike with or without outcomes attached."""
    outcomes = [name for name in OUTCOME_COLUMNS if name in forms.columns]
    return forms.drop(columns=outcomes) if outcomes else forms


class RiskScoring:
    """A fitted :class:`~screening.models.RiskModel`'s predictions and contributions (attributes documented there)."""

    def _check_fitted(self) -> None:
        """Nothing to check: a scorer is made from a fitted model (the estimator checks its own)."""

    @staticmethod
    def _group_of(term: str) -> str:
        """Human-meaningful group of an additive term (time interactions fold into their input)."""
        parts = [part for part in term.split(" x ")]
        named = [INPUT_GROUPS.get(part, part) for part in parts]
        inputs = [name for part, name in zip(parts, named) if part not in TIME_FEATURES and part != "sick_weeks"]
        if len(parts) == 1:
            return named[0]
        if len(inputs) == 1:
            return inputs[0]
        if not inputs:
            return "weeks_absent"
        return " x ".join(dict.fromkeys(named))

    # -------------------------------------------------------------- prediction
    def _log_rates(self, X: np.ndarray, entry: np.ndarray, horizon: float) -> tuple[PersonPeriods, np.ndarray, np.ndarray]:
        periods = prediction_periods(entry, horizon)
        rows = np.column_stack([X[periods.form], periods.time_features(entry)])
        log_rate = np.empty(len(rows))
        for start in range(0, len(rows), PREDICTION_CHUNK_ROWS):  # bounds the memory of the design
            chunk = slice(start, start + PREDICTION_CHUNK_ROWS)
            log_rate[chunk] = self.hazard_.predict_log_rate(rows[chunk])
        return periods, rows, self.calibrator_.transform(log_rate)

    # ------------------------------------------------- additive: form x period grid
    def _additive_grid(
        self, X: np.ndarray, entry: np.ndarray, horizons: Sequence[float], explain_at: np.ndarray | None = None,
        *, relative: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Cumulative hazards of the additive family from the split log hazard.

        The same numbers as expanding every form into prediction person-periods
        (:meth:`_log_rates`), without building the design per period row: the log
        hazard is ``intercept + form-only terms + time terms + form factors · time
        factors`` (:meth:`AdditiveHazard.factorised_terms`); the time rows of a form
        depend only on its entry, so they are built once per distinct entry and
        period, and the form-side terms depend only on the answers they read, so
        they are made once per distinct answer (:meth:`_chunk_terms`). Forms with
        the same entry share one small matrix product, and one product gives both
        the risks and the terms that explain them.

        Parameters
        ----------
        X, entry : ndarray
            Encoded forms and their weeks absent at entry.
        horizons : sequence of float
            Horizons of ``cumulative``.
        explain_at : ndarray of shape (n,), optional
            The horizon each form is explained at (NaN: not explained).
        relative : bool, default False
            Give, instead of ``weighted``, the contributions made of it
            (:meth:`_relative_terms`: folded into ``contribution_groups_``, relative to
            the typical form), chunk by chunk.

        Returns
        -------
        cumulative : ndarray of shape (n, len(horizons))
        total : ndarray of shape (n,) or None
            Cumulative hazard to each form's ``explain_at`` (0 where not explained).
        weighted : ndarray of shape (n, n_hazard_groups) or None
            Each group's centred term of the calibrated log hazard averaged over the
            periods to ``explain_at`` weighted by their share of ``total``. With
            ``relative``: the contributions, shape (n, len(contribution_groups_)).
        """
        X = np.asarray(X, dtype=np.float64)
        entry = np.asarray(entry, dtype=np.float64)
        n = len(X)
        levels = [float(h) for h in horizons]
        explained = [] if explain_at is None else np.unique(explain_at[~np.isnan(explain_at)]).tolist()
        n_periods = _periods_to(max([*levels, *explained], default=0.0))
        cumulative = np.zeros((n, len(levels)))
        total = weighted = None
        if explain_at is not None:
            explain_at = np.asarray(explain_at, dtype=np.float64)
            width = len(self.contribution_groups_) if relative else len(self.hazard_.groups_)
            total, weighted = np.zeros(n), np.zeros((n, width))
        for start in range(0, n, GRID_CHUNK_FORMS):
            chunk = slice(start, min(start + GRID_CHUNK_FORMS, n))
            if explain_at is None:
                self._additive_chunk(X[chunk], entry[chunk], levels, n_periods, None, cumulative[chunk], None, None)
            else:
                self._additive_chunk(X[chunk], entry[chunk], levels, n_periods, explain_at[chunk], cumulative[chunk],
                                     total[chunk], weighted[chunk], relative=relative)
        return cumulative, total, weighted

    def _period_tables(self, entries: np.ndarray, n_periods: int) -> np.ndarray:
        """Time factors of each entry's first ``n_periods`` periods, shape (len(entries), n_periods, n_factors).

        Remembered per entry (they depend on nothing else); the first call makes
        them for every entry in tenths of a week, as forms give it.
        """
        hazard = self.hazard_
        n_inputs = len(self.input_names_)
        time_columns = range(n_inputs - len(TIME_FEATURES), n_inputs)
        memo = hazard.memo()
        keys = [("periods", value, n_periods) for value in entries.tolist()]
        tables = [memo.get(key) for key in keys]
        todo = [u for u, table in enumerate(tables) if table is None]
        if todo:
            wanted = {keys[u][1] for u in todo}
            if ("periods warmed", n_periods) not in memo:  # entries are given in tenths of a week
                memo[("periods warmed", n_periods)] = True
                tenths = np.arange(int(PERIOD_BOUNDS[-1] * 10)) / 10.0
                wanted |= {value for value in tenths.tolist() if ("periods", value, n_periods) not in memo}
            made_entry = np.array(sorted(wanted))[:, None]
            made_starts = np.maximum(PERIOD_BOUNDS[:n_periods][None, :], made_entry)
            middle = (made_starts + PERIOD_BOUNDS[1 : n_periods + 1][None, :]) / 2.0
            times = np.zeros((middle.size, n_inputs))
            times[:, n_inputs - 2] = middle.ravel()
            times[:, n_inputs - 1] = (middle - made_entry).ravel()
            made = hazard.factorised_terms(None, times, time_columns)[1].reshape(len(made_entry), n_periods, -1)
            for value, table in zip(made_entry[:, 0].tolist(), made):
                memo[("periods", value, n_periods)] = table
            tables = [memo[key] for key in keys]
        return np.stack(tables)

    def _chunk_terms(
        self, X: np.ndarray, order: np.ndarray, time_columns: range, width: int,
    ) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray]], list[np.ndarray | None], np.ndarray, np.ndarray]:
        """``AdditiveHazard.factorised_terms(X, None, ...)`` of a chunk of forms, made once per distinct answer,
        for the forms in ``order``.

        Each group's terms depend only on the inputs its block reads (:meth:`_one_form_setup`'s ``reads``),
        so they are made for one form of each distinct combination of those inputs' values and looked up
        for the others. The forms chosen are forms of the chunk (at least ``_DISTINCT_FROM`` + 1 of them, as
        the chunk was): every input takes the same set of values as in the chunk, so the hazard makes a
        spline's values from the same distinct values it would have met in the whole chunk, and every term
        is the number it would have been for the form itself, to the last bit. Small chunks, and a model
        whose group has several blocks, go through ``factorised_terms`` form by form.

        Returns
        -------
        const : ndarray of shape (n_table, n_groups)
        parts : list of (int, ndarray of int, ndarray of shape (n_table, len(columns)))
            ``factorised_terms``'s, of the table's rows.
        rows : list of (ndarray of shape (n,) or None)
            For each group, the table row of each form in ``order``; None: every form alike (table row 0).
        A : ndarray of shape (n_patterns, width)
            The form factors summed into the time factors' columns, per pattern of the answers they read.
        pattern : ndarray of shape (n,)
            The pattern (row of ``A``) of each form in ``order``.
        """
        hazard = self.hazard_
        n = len(X)
        memo = hazard.memo()
        setup = memo.get(("one form",))
        if setup is None:
            setup = memo[("one form",)] = self._one_form_setup()
        reads = setup["reads"]
        if reads is None or n <= _additive_scoring._DISTINCT_FROM:  # form by form, in the forms' own order
            const, _, parts = hazard.factorised_terms(X, None, time_columns)
            A = np.zeros((n, width))
            for _, columns, form_factor in parts:
                A[:, columns] += form_factor
            return const, parts, [order] * const.shape[1], A, order
        codes: dict[int, tuple[np.ndarray, int]] = {}
        positions = np.arange(n)

        def combination(columns: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
            """Each form's combination of the values of ``columns`` (numbered), and one form of each."""
            key, bound = None, 1
            for column in columns:
                if column not in codes:
                    codes[column] = _value_codes(X[:, column][order])
                found, count = codes[column]
                key, bound = (found, count) if key is None else (key * count + found, bound * count)
                if bound > 2**40:  # keep the key exact: renumber it
                    key, uniques = pd.factorize(key)
                    bound = len(uniques)
            return _one_of_each(key, bound, positions)

        offsets: dict[tuple[int, ...], np.ndarray] = {}
        chosen, size = [], 0
        for columns in dict.fromkeys(columns for columns in reads if columns):
            key, first = combination(columns)
            offsets[columns] = key + size if size else key
            chosen.append(first)
            size += len(first)
        chosen = np.concatenate(chosen) if chosen else np.zeros(1, dtype=np.int64)
        if len(chosen) <= _additive_scoring._DISTINCT_FROM:  # as many as the hazard tables splines from, as for the chunk
            chosen = np.r_[chosen, np.zeros(_additive_scoring._DISTINCT_FROM + 1 - len(chosen), dtype=np.int64)]
        const, _, parts = hazard.factorised_terms(X[order[chosen]], None, time_columns)
        rows = [offsets[columns] if columns else None for columns in reads]
        read_by_parts = tuple(sorted({column for g, _, _ in parts for column in reads[g]}))
        pattern, first = combination(read_by_parts) if read_by_parts else (np.zeros(n, dtype=np.int64),
                                                                            np.zeros(1, dtype=np.int64))
        A = np.zeros((len(first), width))
        for g, columns, form_factor in parts:
            A[:, columns] += form_factor[0] if rows[g] is None else form_factor[rows[g][first]]
        return const, parts, rows, A, pattern

    def _additive_chunk(
        self, X: np.ndarray, entry: np.ndarray, levels: list[float], n_periods: int, explain_at: np.ndarray | None,
        cumulative: np.ndarray, total: np.ndarray | None, weighted: np.ndarray | None, *, relative: bool = False,
    ) -> None:
        hazard, calibrator = self.hazard_, self.calibrator_
        n_inputs = len(self.input_names_)
        values, inverse = _sorted_distinct(entry)
        known = values < PERIOD_BOUNDS[-1]  # NaN or past the last bound: no period at risk
        e = np.where(known, values, 0.0)[:, None]
        starts = np.maximum(PERIOD_BOUNDS[:n_periods][None, :], e)
        ends = np.broadcast_to(PERIOD_BOUNDS[1 : n_periods + 1][None, :], starts.shape)
        B = self._period_tables(e[:, 0], n_periods)
        if levels:
            exposure = np.stack([np.clip(np.minimum(ends, h) - starts, 0.0, None) for h in levels], axis=-1)
        a, b = calibrator.intercept_, calibrator.slope_
        # Groups of forms with one entry and one horizon to explain (the engine's depends on the entry alone).
        if explain_at is None:
            group_of, group_value, group_horizon = inverse, np.arange(len(values)), np.full(len(values), np.nan)
        else:
            explained = np.unique(explain_at[~np.isnan(explain_at)])
            width = len(explained) + 1
            code = np.searchsorted(explained, explain_at)  # NaN sorts last: code len(explained), not explained
            key = inverse * width + code
            present = np.bincount(key, minlength=len(values) * width) > 0  # numbered as np.unique would
            keys = np.flatnonzero(present)
            group_of = (np.cumsum(present) - 1)[key]
            group_value, group_horizon = keys // width, np.r_[explained, np.nan][keys % width]
        # Forms sorted by group: each group's forms are one slice. Every per-form array below is in this order.
        # (A stable sort of 16-bit keys is a radix sort.)
        order = np.argsort(group_of.astype(np.int16) if len(group_value) < 2**15 else group_of, kind="stable")
        sizes = np.bincount(group_of, minlength=len(group_value))
        edges = np.r_[0, np.cumsum(sizes)].tolist()
        table, parts, table_rows, patterns, pattern = self._chunk_terms(
            X, order, range(n_inputs - len(TIME_FEATURES), n_inputs), B.shape[2])
        const = np.zeros((len(X), table.shape[1]))
        by_group = np.ascontiguousarray(table.T)  # a group's terms in a row: gathered from contiguous memory
        for g, rows in enumerate(table_rows):
            if rows is not None:
                const[:, g] = by_group[g][rows]
            elif by_group[g, 0] != 0.0:
                const[:, g] = by_group[g, 0]
        base = const.sum(axis=1) + hazard.intercept_
        A = patterns[pattern]
        sorted_cumulative = np.zeros((len(X), len(levels)))
        if explain_at is not None:
            sorted_total = np.zeros(len(X))
            shared = np.zeros((len(X), B.shape[2]))
            share_sum = np.zeros(len(X))
        # Periods before a form's entry have no exposure: each entry's product starts at its first period.
        first = (np.searchsorted(PERIOD_BOUNDS, e[:, 0], side="right") - 1)[group_value]
        ready = known[group_value] & (sizes > 0) & (first < n_periods)
        for g in np.flatnonzero(ready).tolist():
            u, k, horizon = int(group_value[g]), int(first[g]), float(group_horizon[g])
            times_u = B[u, k:]
            m = _periods_to(horizon) - k if horizon == horizon else 0
            if m > 0:  # explained: the periods up to its horizon
                exposed = np.clip(np.minimum(ends[u, k : k + m], horizon) - starts[u, k : k + m], 0.0, None)
            for at in range(edges[g], edges[g + 1], GROUP_BLOCK_ROWS):
                rows = slice(at, min(at + GROUP_BLOCK_ROWS, edges[g + 1]))
                rate = np.exp(a + b * (base[rows, None] + A[rows] @ times_u.T))
                if levels:
                    sorted_cumulative[rows] = rate @ exposure[u, k:]
                if m > 0:
                    head = rate[:, :m]
                    sorted_total[rows] = (head @ exposed[:, None])[:, 0]
                    mass = head * exposed
                    mass_sum = mass.sum(axis=1)
                    share = mass / np.where(mass_sum > 0, mass_sum, 1.0)[:, None]
                    shared[rows] = share @ times_u[:m]
                    share_sum[rows] = share.sum(axis=1)
        cumulative[order] = sorted_cumulative
        if explain_at is None:
            return
        total[order] = sorted_total
        terms = np.subtract(const, hazard.group_means(), out=const)  # in place: fewer large temporaries
        terms *= share_sum[:, None]
        for g, columns, form_factor in parts:
            rows = table_rows[g]
            if len(columns) and columns[-1] - columns[0] == len(columns) - 1:  # a run of columns: a view
                columns = slice(int(columns[0]), int(columns[-1]) + 1)
            if rows is None:
                product = form_factor[0] * shared[:, columns]
            else:
                product = form_factor[rows]
                product *= shared[:, columns]
            terms[:, g] += product.sum(axis=1)
        terms *= b
        if not relative:
            weighted[order] = terms
            return
        # Contributions in the sorted order (the forms of one horizon are usually one slice), put in place.
        sorted_horizon = explain_at[order]
        for horizon in np.unique(sorted_horizon[~np.isnan(sorted_horizon)]).tolist():
            rows = np.flatnonzero(sorted_horizon == horizon)
            if rows[-1] - rows[0] == len(rows) - 1:
                rows = slice(int(rows[0]), int(rows[-1]) + 1)
            weighted[order[rows]] = self._relative_terms(terms[rows], sorted_total[rows], horizon)

    def _reference_terms(self, horizon: float) -> tuple[np.ndarray, float]:
        """The typical form's ``weighted`` terms and cumulative hazard to ``horizon`` (see
        :meth:`_additive_grid`), entering just before the horizon if it is typically absent longer.
        Remembered per horizon: every set of contributions is relative to it."""
        reference_entry = min(float(self.reference_[self.input_names_.index("sick_weeks")]), np.nextafter(horizon, 0))
        key = ("reference", float(horizon), reference_entry, self.reference_.tobytes(),
               float(self.calibrator_.intercept_), float(self.calibrator_.slope_))
        memo = self.hazard_.memo()
        found = memo.get(key)
        if found is None:
            _, total, weighted = self._additive_grid(self.reference_[None, :], np.array([reference_entry]), [],
                                                     np.array([float(horizon)]))
            found = memo[key] = (weighted[0], float(total[0]))
        return found

    def _relative_terms(self, weighted: np.ndarray, total: np.ndarray, horizon: float) -> np.ndarray:
        """Contributions (columns ``contribution_groups_``) of forms explained at ``horizon`` from their
        :meth:`_additive_grid` terms (``weighted``, ``total``): each group's terms folded into its contribution
        group, relative to the typical form's; each form's row alone decides its own."""
        groups = self.contribution_groups_
        columns = [groups.index(self._group_of(name)) for name in self.hazard_.groups_]
        weeks = groups.index("weeks_absent")
        reference_terms, reference_total = self._reference_terms(horizon)
        relative = np.zeros((len(weighted), len(groups)))
        typical = np.zeros(len(groups))
        for k, column in enumerate(columns):
            relative[:, column] -= weighted[:, k]
            typical[column] -= reference_terms[k]
        relative -= typical
        # Weeks absent takes what makes the columns add up to -log Λ(form) + log Λ(typical form):
        # the weeks left to the horizon and the (small) gap between log mean and mean log hazard.
        value, typical_value = -np.log(total), -np.log(np.array([reference_total]))
        others = np.delete(relative, weeks, axis=1).sum(axis=1)
        relative[:, weeks] = (value - typical_value) - others
        return relative

    def _additive_scores(
        self, X: np.ndarray, entry: np.ndarray, horizons: Sequence[float], contribution_horizon: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Risks at ``horizons`` and contributions at each form's own horizon, from one pass.

        The form-side terms and each form's hazard per period are built once and
        give both; the numbers are those of :meth:`predict_risk` and
        :meth:`contributions` (at that horizon). ``contribution_horizon`` is NaN for
        a form not to explain; a form already absent that long gets zeros.
        """
        entry = np.asarray(entry, dtype=np.float64)
        contribution_horizon = np.asarray(contribution_horizon, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            explain_at = np.where(entry < contribution_horizon, contribution_horizon, np.nan)
        cumulative, _, contributions = self._additive_grid(X, entry, horizons, explain_at, relative=True)
        return np.exp(-cumulative), contributions

    # ------------------------------------------- additive: one form (score_one)
    def _one_form_setup(self) -> dict[str, Any]:
        """What :meth:`_additive_one` needs of the model itself, found once (kept in the hazard's memo)."""
        groups = self.contribution_groups_
        n_inputs = len(self.input_names_)
        time_columns = range(n_inputs - len(TIME_FEATURES), n_inputs)
        # The form inputs each hazard group's term reads (a group is one block of the additive basis): its
        # form-side terms are remembered per value of those (:meth:`_form_side`).
        reads: dict[str, tuple[int, ...]] | None = {}
        for block in self.hazard_.basis_.blocks_:
            if block["group"] in reads:
                reads = None  # a group of several blocks: every form goes through ``factorised_terms``
                break
            reads[block["group"]] = tuple(int(c) for c in block["columns"] if int(c) not in time_columns)
        return {
            "levels": [float(h) for h in self.horizons_],
            "time_columns": time_columns,
            "columns": [groups.index(self._group_of(name)) for name in self.hazard_.groups_],
            "weeks": groups.index("weeks_absent"),
            "others": [k for k in range(len(groups)) if k != groups.index("weeks_absent")],
            "group_means": self.hazard_.group_means(),
            "reads": None if reads is None else [reads.get(name) for name in self.hazard_.groups_],
            "terms": {},
            "grids": {},
        }

    def prepare_one_form(self, values: Sequence[Sequence[float]]) -> None:
        """Make now the tables that :meth:`risks_and_contributions` reads for one form at a time.

        A form seen for the first time is then a new combination of answers seen
        before: each term of the hazard is computed once here for every combination
        of the values of the inputs it reads, as a batch computes it (many forms
        at once), and the periods of every entry are laid out. Only the additive
        family keeps such tables; for the boosted family this does nothing.

        Parameters
        ----------
        values : sequence of sequence of float
            For each encoded input (each column of :meth:`encode`'s ``X``), the
            values forms give it (NaN: a blank answer). ``sick_weeks``'s are also
            the entries whose periods are laid out.
        """
        self._check_fitted()
        if self.family_ != "additive":
            return
        memo = self.hazard_.memo()
        setup = memo.get(("one form",))
        if setup is None:
            setup = memo[("one form",)] = self._one_form_setup()
        distinct = [list(dict.fromkeys(None if math.isnan(v) else float(v) for v in column)) for column in values]
        reads = setup["reads"]
        if reads is not None:
            blocks, owners = [], []
            for g, columns in enumerate(reads):
                combinations = [()]
                for column in columns:
                    combinations = [(*done, value) for done in combinations for value in distinct[column]]
                if len(combinations) > ONE_FORM_COMBINATIONS:
                    continue
                rows = np.repeat(np.asarray(self.reference_, dtype=np.float64)[None, :], len(combinations), axis=0)
                rows[:, list(columns)] = np.array(combinations, dtype=np.float64)  # None: NaN
                blocks.append(rows)
                owners += [(g, combination) for combination in combinations]
            if blocks:
                const, _, parts = self.hazard_.factorised_terms(np.concatenate(blocks), None, setup["time_columns"])
                by_group = {g: (columns, factor) for g, columns, factor in parts}
                terms = setup["terms"]
                for i, (g, combination) in enumerate(owners):
                    columns_factor = by_group.get(g)
                    terms[(g, *combination)] = (float(const[i, g]),) if columns_factor is None else (
                        float(const[i, g]), columns_factor[0], columns_factor[1][i])
        weeks = self.input_names_.index("sick_weeks")
        for entry in (value for value in distinct[weeks] if value is not None):
            for horizon in [np.nan, *(float(h) for h in self.horizons_ if entry < h)]:
                key = (entry, None if math.isnan(horizon) else horizon)
                if key not in setup["grids"]:
                    self._one_form_grid(setup, entry, horizon)

    def _form_side(self, setup: dict[str, Any], X: np.ndarray, width: int
                   ) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray]], np.ndarray]:
        """``AdditiveHazard.factorised_terms(X, None, ...)``'s ``const`` and ``parts`` of one form, and the
        form factors summed into the time factors' ``width`` columns (``A`` of :meth:`_additive_chunk`).

        Each group's terms are remembered per value of the inputs it reads (:meth:`prepare_one_form` tables
        them in advance), so a form never seen before is a new combination of answers seen before.
        """
        reads, terms = setup["reads"], setup["terms"]
        found: list = [None]
        if reads is not None:
            row = [None if math.isnan(value) else value for value in X[0].tolist()]
            keys = [(g, *[row[c] for c in columns]) for g, columns in enumerate(reads)]
            found = [terms.get(key) for key in keys]
        if None in found:
            const, _, parts = self.hazard_.factorised_terms(X, None, setup["time_columns"])
            if reads is not None:
                by_group = {g: (columns, factor) for g, columns, factor in parts}
                if len(terms) >= 100_000:  # bounds a long-lived service's memory
                    terms.clear()
                for g, key in enumerate(keys):
                    terms[key] = (float(const[0, g]), *by_group.get(g, ()))
            A = np.zeros((1, width))
            for _, columns, form_factor in parts:
                A[:, columns] += form_factor
            return const, parts, A
        const = np.array([[value[0] for value in found]])
        parts = [(g, value[1], value[2]) for g, value in enumerate(found) if len(value) > 1]
        summed = ("summed", width, *(keys[g] for g, _, _ in parts))
        A = terms.get(summed)
        if A is None:
            A = np.zeros((1, width))
            for _, columns, form_factor in parts:
                A[:, columns] += form_factor
            terms[summed] = A
        return const, parts, A

    def _one_form_grid(self, setup: dict[str, Any], entry: float, horizon: float) -> dict[str, Any] | None:
        """The periods of a form entering at ``entry`` explained at ``horizon`` (NaN: not explained), as
        :meth:`_additive_chunk` makes them for its group of forms; None when it is not the common case."""
        levels = setup["levels"]
        n_periods = _periods_to(max([*levels, *([] if math.isnan(horizon) else [horizon])], default=0.0))
        if not entry < PERIOD_BOUNDS[-1]:
            return None
        first = int(np.searchsorted(PERIOD_BOUNDS, np.array([entry]), side="right")[0] - 1)
        m = 0 if math.isnan(horizon) else _periods_to(horizon) - first
        if first >= n_periods or (not math.isnan(horizon) and m <= 0):
            return None
        e = np.array([[entry]])
        starts = np.maximum(PERIOD_BOUNDS[:n_periods][None, :], e)
        ends = np.broadcast_to(PERIOD_BOUNDS[1 : n_periods + 1][None, :], starts.shape)
        exposure = np.stack([np.clip(np.minimum(ends, h) - starts, 0.0, None) for h in levels], axis=-1)
        grid: dict[str, Any] = {"times": self._period_tables(e[:, 0], n_periods)[0, first:],
                                "exposure": exposure[0, first:], "m": m}
        if m > 0:
            grid["exposed"] = np.clip(np.minimum(ends[0, first : first + m], horizon) - starts[0, first : first + m],
                                      0.0, None)
            reference_terms, reference_total = self._reference_terms(horizon)
            folded = [0.0] * len(self.contribution_groups_)
            for k, column in enumerate(setup["columns"]):
                folded[column] -= float(reference_terms[k])
            grid["reference"] = (folded, reference_total)
        grids = setup["grids"]
        if len(grids) >= 20_000:  # entries are tenths of a week: this bounds a long-lived service's memory
            grids.clear()
        grids[(entry, None if math.isnan(horizon) else horizon)] = grid
        return grid

    def _additive_one(self, X: np.ndarray, entry: np.ndarray, explain_at: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`_additive_scores` of one form (``X`` of one row), for ``score_one``.

        :meth:`_additive_chunk`'s operations on arrays of the same shapes (so, from the same terms, the same
        numbers to the last bit), without a batch's grouping, sorting and scattering, and with the form's
        terms and its entry's periods looked up (:meth:`_form_side`, :meth:`_one_form_grid`). None when
        the form is not the common case (no period at risk, ...): then the batch's path decides.
        """
        memo = self.hazard_.memo()
        setup = memo.get(("one form",))
        if setup is None:
            setup = memo[("one form",)] = self._one_form_setup()
        start, at = float(entry[0]), float(explain_at[0])
        horizon = at if start < at else np.nan
        grid = setup["grids"].get((start, None if math.isnan(horizon) else horizon))
        if grid is None:
            grid = self._one_form_grid(setup, start, horizon)
            if grid is None:
                return None
        calibrator = self.calibrator_
        times = grid["times"]
        const, parts, A = self._form_side(setup, X, times.shape[1])
        base = const.sum(axis=1) + self.hazard_.intercept_
        b = calibrator.slope_
        rate = np.exp(calibrator.intercept_ + b * (base[:, None] + A @ times.T))
        risks = np.exp(-(rate @ grid["exposure"]))
        m = grid["m"]
        if m <= 0:
            return risks, np.zeros((1, len(self.contribution_groups_)))
        head = rate[:, :m]
        total = float((head @ grid["exposed"][:, None])[0, 0])
        mass = head * grid["exposed"]
        mass_sum = mass.sum(axis=1)
        share = mass / np.where(mass_sum > 0, mass_sum, 1.0)[:, None]
        shared = share @ times[:m]
        weighted = (const - setup["group_means"]) * share.sum(axis=1)[:, None]
        for g, columns, form_factor in parts:
            weighted[:, g] += (form_factor * shared[:, columns]).sum(axis=1)
        weighted *= b
        # As :meth:`_relative_terms`: terms folded into contribution groups, relative to the typical form's.
        reference, reference_total = grid["reference"]
        folded = [0.0] * len(reference)
        for column, term in zip(setup["columns"], weighted[0].tolist()):
            folded[column] -= term
        relative = np.array([[mine - typical for mine, typical in zip(folded, reference)]])
        value = -np.log(np.array([total, reference_total]))
        others = relative[:, setup["others"]].sum(axis=1)
        relative[:, setup["weeks"]] = (value[:-1] - value[-1]) - others
        return risks, relative

    def _risks(self, X: np.ndarray, entry: np.ndarray, horizons: Sequence[float]) -> np.ndarray:
        if self.family_ == "additive":
            if len(X) == 1 and list(horizons) == list(self.horizons_):  # one form (the reasons' typical form
                one = self._additive_one(X, entry, np.array([np.nan]))  # with one answer changed)
                if one is not None:
                    return one[0]
            return np.exp(-self._additive_grid(X, entry, horizons)[0])
        periods, _, log_rate = self._log_rates(X, entry, max(horizons))
        return np.exp(-cumulative_hazards(periods, np.exp(log_rate), len(entry), horizons))

    # ------------------------------------------------- encoded inputs (public)
    def input_frame(self, forms: pd.DataFrame) -> pd.DataFrame:
        """Forms with exactly the columns the encoder was fitted on.

        Columns the encoder does not know (``case_id``, ...) are dropped and any it
        was fitted on but the forms lack (the outcome columns of a model fitted on
        training forms) are added as blanks, so valid forms as they arrive can be
        encoded. Forms are returned as they are by an encoder that did not record
        its columns.

        Parameters
        ----------
        forms : pandas.DataFrame
            Validated forms.

        Returns
        -------
        pandas.DataFrame
            Index aligned with ``forms``.
        """
        names = getattr(self.encoder_, "feature_names_in_", None)
        if names is None:
            return forms
        return forms.reindex(columns=list(names))

    def encode(self, forms: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Encode forms once for the ``*_encoded`` methods and :meth:`risks_and_contributions`.

        Parameters
        ----------
        forms : pandas.DataFrame
            Validated forms; outcome columns may be absent and other columns are
            ignored (see :meth:`input_frame`).

        Returns
        -------
        X : ndarray of shape (n_forms, n_encoded)
            The encoded forms.
        entry : ndarray of shape (n_forms,)
            Weeks absent at entry (``sick_weeks``), float64.
        """
        self._check_fitted()
        X = self.encoder_.transform(self.input_frame(forms))
        entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
        return X, entry

    def risks_encoded(
        self, X: np.ndarray, entry: np.ndarray, *, horizons: Sequence[float] | None = None,
    ) -> np.ndarray:
        """Risks of encoded forms, as :meth:`predict` gives them.

        Parameters
        ----------
        X, entry : ndarray
            From :meth:`encode`.
        horizons : sequence of float, optional
            Weeks from the first sick day; ``horizons_`` when not given.

        Returns
        -------
        ndarray of shape (n_forms, n_horizons)
            In the order of ``horizons``.
        """
        return self._risks(X, entry, self.horizons_ if horizons is None else horizons)

    def contributions_encoded(self, X: np.ndarray, entry: np.ndarray, *, horizon: float) -> np.ndarray:
        """Contributions of encoded forms at one horizon, as :meth:`contributions` gives them.

        Parameters
        ----------
        X, entry : ndarray
            From :meth:`encode`.
        horizon : float
            Weeks from the first sick day.

        Returns
        -------
        ndarray of shape (n_forms, n_groups)
            Columns ``contribution_groups_``; zeros where ``entry >= horizon``.
        """
        if self.family_ == "additive":
            values = self._additive_contributions(X, entry, float(horizon))
        else:
            values = self._shapley_contributions(X, entry, float(horizon))
        values[entry >= horizon] = 0.0
        return values

    def risks_and_contributions(
        self, X: np.ndarray, entry: np.ndarray, *, explain_at: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Risks at every horizon and contributions at each form's own horizon.

        The numbers of :meth:`risks_encoded` and of :meth:`contributions_encoded`
        at each form's ``explain_at``, for less work: the additive family gets both
        from one pass (the form-side terms and each form's hazard per period are
        built once); the boosted family is explained once per distinct horizon.

        Parameters
        ----------
        X, entry : ndarray
            From :meth:`encode`.
        explain_at : ndarray of shape (n_forms,)
            The horizon each form is explained at; NaN for a form not to explain.

        Returns
        -------
        risks : ndarray of shape (n_forms, n_horizons)
            In the order of ``horizons_``.
        contributions : ndarray of shape (n_forms, n_groups)
            Columns ``contribution_groups_``; zeros for a form not explained or
            already absent ``explain_at`` weeks or more.
        """
        explain_at = np.asarray(explain_at, dtype=np.float64)
        if self.family_ == "additive":  # one pass: each form's hazard per period gives risks and reasons
            one = self._additive_one(X, entry, explain_at) if len(X) == 1 else None
            return one if one is not None else self._additive_scores(X, entry, self.horizons_, explain_at)
        risks = self._risks(X, entry, self.horizons_)
        contributions = np.zeros((len(X), len(self.contribution_groups_)))
        for horizon in np.unique(explain_at[~np.isnan(explain_at)]):
            rows = np.flatnonzero(explain_at == horizon)
            if len(rows) == len(X):
                contributions[:] = self.contributions_encoded(X, entry, horizon=horizon)
            else:
                contributions[rows] = self.contributions_encoded(X[rows], entry[rows], horizon=horizon)
        return risks, contributions

    def predict(self, forms: pd.DataFrame) -> np.ndarray:
        """Risks as an array of shape (n_forms, n_horizons), horizons in ``horizons_`` order."""
        self._check_fitted()
        X = self.encoder_.transform(_inputs(forms))
        entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
        return self.risks_encoded(X, entry)

    def predict_risk(self, forms: pd.DataFrame) -> pd.DataFrame:
        """Risk of an absence longer than each horizon, given the weeks absent so far.

        Parameters
        ----------
        forms : pandas.DataFrame
            Validated forms (outcome columns, if present, are ignored).

        Returns
        -------
        pandas.DataFrame
            ``risk_<h>`` for each horizon, index aligned with ``forms``. The risk is
            1 where ``sick_weeks >= h`` and never increases with ``h``.
        """
        risks = self.predict(forms)
        columns = [f"risk_{int(h) if float(h).is_integer() else h}" for h in self.horizons_]
        return pd.DataFrame(risks, index=forms.index, columns=columns)

    # ----------------------------------------------------------- contributions
    def contributions(self, forms: pd.DataFrame, *, horizon: float = 13) -> pd.DataFrame:
        """What raised and what lowered each form's risk at one horizon.

        One column per human-meaningful input group (``expected_return``,
        ``diagnosis``, ``physical_load x diagnosis``, ``weeks_absent``, ...); positive
        values raise the risk of a long absence, negative ones lower it. Forms
        already absent ``horizon`` weeks or more get zeros (their risk is 1).

        Both families use one scale and one reference: ``-log`` of the cumulative
        hazard of return from entry to the horizon (the risk is ``exp(-Λ)``, so
        higher means a higher risk), compared with the typical training form
        (``reference_``: median numbers, most common answers). The columns add up
        exactly to the form's value minus the typical form's.

        * Additive family: exact and cheap. Each group's term of the calibrated log
          hazard, averaged over the weeks from entry to the horizon with each week
          weighted by its share of the cumulative hazard; ``weeks_absent`` also
          carries the weeks left to the horizon and the small gap between the log
          of the mean and the mean of the log hazard.
        * Boosted family: baseline Shapley values: a group is switched from the
          typical answer to the form's own, in random orders
          (``attribution_permutations`` of them, each with its reverse), and its
          average effect is kept; the sum is exact, the split between groups an
          estimate.

        Parameters
        ----------
        forms : pandas.DataFrame
            Validated forms.
        horizon : float, default 13
            Weeks from the first sick day.

        Returns
        -------
        pandas.DataFrame
            Index aligned with ``forms``, columns ``contribution_groups_``.
        """
        self._check_fitted()
        X = self.encoder_.transform(_inputs(forms))
        entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
        values = self.contributions_encoded(X, entry, horizon=horizon)
        return pd.DataFrame(values, index=forms.index, columns=self.contribution_groups_)

    def _additive_contributions(self, X: np.ndarray, entry: np.ndarray, horizon: float) -> np.ndarray:
        entry = np.asarray(entry, dtype=np.float64)
        explain_at = np.where(entry < horizon, float(horizon), np.nan)
        return self._additive_grid(X, entry, [], explain_at, relative=True)[2]

    def _shapley_contributions(self, X: np.ndarray, entry: np.ndarray, horizon: float) -> np.ndarray:
        names = self.input_names_[: -len(TIME_FEATURES)]
        member = np.array([self.contribution_groups_.index(INPUT_GROUPS.get(name, name)) for name in names])
        n_groups = len(self.contribution_groups_)
        rng = np.random.default_rng(self.seed)
        orders = [rng.permutation(n_groups) for _ in range(max(self.attribution_permutations, 1))]
        orders += [order[::-1] for order in orders]
        entry_column = names.index("sick_weeks")
        reference_entry = float(self.reference_[entry_column])
        n = len(X)
        # One hybrid form per (order, step, form): groups before the step come from the form.
        hybrids, hybrid_entry = [], []
        for order in orders:
            from_form = np.zeros(n_groups, dtype=bool)
            for step in range(n_groups + 1):
                columns = from_form[member]
                hybrid = np.where(columns, X, self.reference_)
                hybrids.append(hybrid)
                hybrid_entry.append(entry if from_form[member[entry_column]] else np.full(n, reference_entry))
                if step < n_groups:
                    from_form[order[step]] = True
        stacked = np.vstack(hybrids)
        stacked_entry = np.concatenate(hybrid_entry)
        stacked_entry = np.minimum(stacked_entry, np.nextafter(horizon, 0))
        stacked[:, entry_column] = stacked_entry
        value = -np.log(self._cumulative_hazard(stacked, stacked_entry, horizon))
        value = value.reshape(len(orders), n_groups + 1, n)
        out = np.zeros((n, n_groups))
        for o, order in enumerate(orders):
            steps = np.diff(value[o], axis=0)  # (n_groups, n): effect of adding order[step]
            out[:, order] += steps.T
        return out / len(orders)

    def _cumulative_hazard(self, X: np.ndarray, entry: np.ndarray, horizon: float) -> np.ndarray:
        periods, _, log_rate = self._log_rates(X, entry, horizon)
        return cumulative_hazards(periods, np.exp(log_rate), len(X), [horizon])[:, 0]
