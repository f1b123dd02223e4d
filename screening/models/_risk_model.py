"""The risk model: a calibrated piecewise-exponential hazard of return to work.

What is predicted
-----------------
For a form received after ``s = sick_weeks`` weeks of absence and a horizon ``h``
(weeks from the first sick day), the risk is

    P(absence > h | absent s weeks so far, form) = exp(-∫_s^h λ(t | form) dt),

and 1 when ``s >= h``. One hazard gives every horizon, and the risks can only fall
as the horizon grows.

How it is fitted
----------------
1. Forms are encoded (:class:`~screening.features.FormEncoder`) and split by the
   date they were received (oldest for fitting, newest for calibration; forms
   without a date are placed at random), so calibration and model choice are
   checked on later forms than the model learnt from, as in use.
2. Spells become person-periods from their entry (left truncation) to their end,
   their censoring time or week 52 (:mod:`._person_period`). A censored spell
   contributes its observed weeks at risk and never a return.
3. The hazard is fitted by Poisson maximum likelihood (additive GLM or boosted
   trees, :mod:`._hazard`), then recalibrated on the calibration forms with one
   map on the hazard scale (:mod:`._calibration`).
4. Every form is scored once by fits that did not see it (``calibration_folds``
   folds, random by form). ``family="auto"`` does this for both families and keeps
   the one with the better out-of-fold censored log score (the log-likelihood of
   the observed spells, a strictly proper scoring rule for the whole duration
   distribution), measured on every form rather than on the newest 20 %, where
   most spells are still censored and the choice was noise-driven: on one
   simulated family it picked a model 0.002 worse in log loss at 8-22 weeks.
5. The chosen family is refitted on every form, and its calibration map is fitted
   on its out-of-fold log hazards: old and new forms, long and short follow-up all
   decide it, not only the newest and most censored. ``calibration_folds=1`` keeps
   the older time-ordered scheme: fit on the oldest forms, calibrate on the newest
   ``calibration_fraction``, and with ``auto`` compare the families on the newest
   ``selection_fraction`` of the rest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from screening.features import FormEncoder
from screening.intake import HORIZONS
from screening.models._calibration import HazardCalibrator
from screening.models._hazard import AdditiveHazard, BoostedHazard
from screening.models._risk_scoring import INPUT_GROUPS, OUTCOME_COLUMNS, RiskScoring, _inputs
from screening.models._person_period import (
    PERIOD_BOUNDS,
    TIME_FEATURES,
    PersonPeriods,
    person_periods,
    subsample_without_event,
)

Family = Literal["additive", "boosted", "auto"]
FAMILIES: tuple[str, ...] = ("additive", "boosted")
#: An ended spell recorded up to this many weeks shorter than ``sick_weeks`` (both
#: are rounded) is read as a return at entry; a larger gap is a contradiction and
#: the form is left out of fitting (and counted).
ROUNDING_TOLERANCE_WEEKS = 0.15
#: Person-period rows the additive family is fitted on at most: its design (~200
#: float64 columns) and the solver's weighted copy of it take ~3.3 GB per million rows.
ADDITIVE_MAX_ROWS = 1_000_000
#: Interactions of the additive model, each for a reason:
#: the expected return is stated in weeks *from the form*, so its effect on the
#: hazard changes with the weeks since the form; physical load matters more for a
#: musculoskeletal diagnosis; and unobserved severity is sorted out over time
#: (the frail stay absent), so effects of the answers that reveal it fade with
#: the weeks absent.
ADDITIVE_INTERACTIONS: tuple[tuple[str, str], ...] = (
    ("expected_return", "weeks_since_form"),
    ("diagnosis_group", "physical_load"),
    ("work_ability", "weeks"),
    ("expected_return", "sick_weeks"),
)


def _form_dates(forms: pd.DataFrame) -> np.ndarray:
    """Day each form was received (float days since epoch), NaN when unknown."""
    days = np.full(len(forms), np.nan)
    if "form_received" in forms:
        received = pd.to_datetime(forms["form_received"])
        days = (received - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan) / 86400
    if "sick_leave_start" in forms:
        start = pd.to_datetime(forms["sick_leave_start"])
        derived = (start - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan) / 86400
        derived = derived + 7.0 * forms["sick_weeks"].to_numpy(dtype=np.float64)
        days = np.where(np.isnan(days), derived, days)
    return days


#: The day each form was received (the public name of :func:`_form_dates`).
form_days = _form_dates


def _time_order(forms: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Rank of each form in time (0 = oldest); undated forms at random ranks."""
    days = _form_dates(forms)
    dated = ~np.isnan(days)
    if not dated.any():
        return rng.permutation(len(forms)).argsort(), "random (no dates)"
    key = days.copy()
    key[~dated] = rng.choice(days[dated], size=int((~dated).sum()))
    order = np.lexsort((rng.random(len(forms)), key))
    rank = np.empty(len(forms), dtype=np.int64)
    rank[order] = np.arange(len(forms))
    method = "time-ordered by form date" + ("" if dated.all() else f" ({int((~dated).sum())} undated placed at random)")
    return rank, method


def _censored_log_score(log_rate: np.ndarray, periods: PersonPeriods, *, forms: int) -> float:
    """Mean negative log-likelihood per form of the person-periods' events under ``log_rate`` (weighted)."""
    loglik = periods.event * (log_rate + np.log(periods.exposure)) - periods.exposure * np.exp(log_rate)
    return float(-(loglik * periods.weight).sum() / max(forms, 1))


class RiskModel(RiskScoring, BaseEstimator):
    """Calibrated risk of a long sickness absence, for every horizon at once.

    Use :func:`fit_risk_model` to fit one; the parameters are documented there.

    Attributes
    ----------
    encoder_ : FormEncoder
    family_ : str
        ``"additive"`` or ``"boosted"``.
    hazard_ : AdditiveHazard or BoostedHazard
    calibrator_ : HazardCalibrator
    input_names_ : list of str
        Row inputs of the hazard: the encoded form columns then ``weeks`` and
        ``weeks_since_form``.
    contribution_groups_ : list of str
        Column names of :meth:`contributions`.
    reference_ : ndarray
        The typical training form (median numbers, most common answers), the
        reference of the boosted model's contributions.
    training_summary : dict
        Rows, censoring and how it was used, person-periods, split, family and the
        scores that chose it, calibration, seed, horizons, fit time.
    """

    #: Models saved before cross-fitted calibration existed were calibrated on one split.
    calibration_folds = 1

    def __init__(
        self,
        *,
        family: Family = "auto",
        seed: int = 0,
        calibration_fraction: float = 0.2,
        selection_fraction: float = 0.2,
        horizons: Sequence[int] = HORIZONS,
        audit_inputs: Sequence[str] = (),
        max_person_periods: int | None = 2_000_000,
        attribution_permutations: int = 16,
        calibration_folds: int = 3,
    ) -> None:
        self.family = family
        self.seed = seed
        self.calibration_fraction = calibration_fraction
        self.selection_fraction = selection_fraction
        self.horizons = horizons
        self.audit_inputs = audit_inputs
        self.max_person_periods = max_person_periods
        self.attribution_permutations = attribution_permutations
        self.calibration_folds = calibration_folds

    # ----------------------------------------------------------------- fitting
    def fit(self, forms: pd.DataFrame, y: object = None) -> RiskModel:
        """Fit on validated training forms (with ``absence_weeks`` and ``spell_ended``)."""
        started = time.perf_counter()
        missing = [name for name in (*OUTCOME_COLUMNS, "sick_weeks") if name not in forms]
        if missing:
            raise ValueError(f"training forms need the columns {missing}; validate with training=True")
        if self.family not in (*FAMILIES, "auto"):
            raise ValueError(f"family must be one of {(*FAMILIES, 'auto')}, got {self.family!r}")
        horizons = tuple(sorted({float(h) for h in self.horizons}))
        if not horizons or horizons[0] <= 0 or horizons[-1] > PERIOD_BOUNDS[-1]:
            raise ValueError(f"horizons must lie in (0, {PERIOD_BOUNDS[-1]:g}] weeks, got {self.horizons!r}")
        holdout = self.calibration_fraction + (self.selection_fraction if self.family == "auto" else 0.0)
        if not (0 < self.calibration_fraction and holdout < 0.9):
            raise ValueError("calibration_fraction (+ selection_fraction) must be in (0, 0.9)")
        rng = np.random.default_rng(self.seed)

        entry = forms["sick_weeks"].to_numpy(dtype=np.float64)
        exit_ = forms["absence_weeks"].to_numpy(dtype=np.float64)
        ended = forms["spell_ended"].astype("boolean").to_numpy(dtype=bool, na_value=False)
        contradictory = exit_ < entry - ROUNDING_TOLERANCE_WEEKS
        exit_ = np.maximum(exit_, entry)
        usable = ~contradictory

        self.encoder_ = FormEncoder(audit_inputs=self.audit_inputs).fit(_inputs(forms))
        X = self.encoder_.transform(_inputs(forms))
        self.input_names_ = [*self.encoder_.get_feature_names_out().tolist(), *TIME_FEATURES]
        self.horizons_ = horizons
        self.reference_ = self._typical_form(X)

        rank, split_method = _time_order(forms, rng)
        position = (rank + 0.5) / len(forms)
        final_fit = usable & (position < 1 - self.calibration_fraction)
        final_calibration = usable & ~final_fit & ~contradictory

        data = (X, entry, exit_, ended)
        selection: dict[str, Any] = {}
        if self.calibration_folds > 1:
            # Every form is scored once by fits that did not see it (``calibration_folds`` folds by form):
            # the family with the better out-of-fold censored log score is kept, its out-of-fold log
            # hazards fit the calibration map, and its hazard is refitted on every form.
            fold = np.empty(len(usable), dtype=np.int64)
            fold[rng.permutation(len(usable))] = np.arange(len(usable)) % self.calibration_folds
            cal_periods, cal_rows = self._rows(data, usable)
            cal_periods_all = len(cal_periods)
            cal_periods, cal_share = subsample_without_event(cal_periods, self.max_person_periods, rng)
            if cal_share != 1.0:
                cal_rows = self._rows(data, usable, cal_periods)[1]
            candidates = FAMILIES if self.family == "auto" else (self.family,)
            out_of_fold = {family: self._out_of_fold(family, data, usable, fold, cal_periods, cal_rows, rng)
                           for family in candidates}
            del cal_rows
            calibrators = {family: HazardCalibrator().fit(log_rate, cal_periods.event, exposure=cal_periods.exposure,
                                                          sample_weight=cal_periods.weight)
                           for family, log_rate in out_of_fold.items()}
            scores = {family: _censored_log_score(calibrators[family].transform(out_of_fold[family]), cal_periods,
                                                  forms=int(usable.sum()))
                      for family in candidates}
            chosen = min(scores, key=scores.get)
            if self.family == "auto":
                selection = {
                    "method": "censored log score (mean negative log-likelihood per form, lower is better) of "
                    f"out-of-fold predictions: {self.calibration_folds} folds by form, each form scored by the "
                    "fit that did not see it, calibrated",
                    "scores": scores,
                    "forms": {"scored": int(usable.sum()), "folds": self.calibration_folds},
                }
            self.family_ = chosen
            self.calibrator_ = calibrators[chosen]
            self.hazard_, periods_info = self._fit_hazard(chosen, data, usable, rng)
            periods_info.update({"calibration_rows": cal_periods_all, "calibration_rows_used": len(cal_periods),
                                 "calibration_folds": self.calibration_folds})
            final_fit = final_calibration = usable
        else:
            if self.family == "auto":
                first = 1 - self.calibration_fraction - self.selection_fraction
                fit_part = usable & (position < first)
                calibration_part = usable & (position >= first) & (position < 1 - self.calibration_fraction)
                scores = {}
                for family in FAMILIES:
                    hazard, calibrator, _ = self._fit_family(family, data, fit_part, calibration_part, rng)
                    scores[family] = self._log_score(hazard, calibrator, data, final_calibration)
                chosen = min(scores, key=scores.get)
                selection = {
                    "method": "censored log score (mean negative log-likelihood per form, lower is better) "
                    "on the newest forms, each family fitted on the oldest and calibrated on the next",
                    "scores": scores,
                    "forms": {"fit": int(fit_part.sum()), "calibration": int(calibration_part.sum()),
                              "selection": int(final_calibration.sum())},
                }
            else:
                chosen = self.family
            self.family_ = chosen
            self.hazard_, self.calibrator_, periods_info = self._fit_family(
                chosen, data, final_fit, final_calibration, rng)
        self.contribution_groups_ = self._contribution_groups()
        self.training_summary = self._summary(
            forms, ended, exit_, contradictory, final_fit, final_calibration, periods_info, split_method,
            selection, time.perf_counter() - started,
        )
        return self

    def _out_of_fold(
        self, family: str, data: tuple[np.ndarray, ...], usable: np.ndarray, fold: np.ndarray,
        periods: PersonPeriods, rows: np.ndarray, rng: np.random.Generator,
    ) -> np.ndarray:
        """Log hazards of ``periods`` (``rows``), each from the family fitted on the other folds' forms."""
        out_of_fold = np.empty(len(periods))
        row_fold = fold[periods.form]
        for k in range(self.calibration_folds):
            hazard_k, _ = self._fit_hazard(family, data, usable & (fold != k), rng)
            mine = row_fold == k
            out_of_fold[mine] = hazard_k.predict_log_rate(rows[mine])
            del hazard_k
        return out_of_fold

    def _fit_hazard(
        self, family: str, data: tuple[np.ndarray, ...], fit_forms: np.ndarray, rng: np.random.Generator,
    ) -> tuple[AdditiveHazard | BoostedHazard, dict[str, Any]]:
        """The hazard of one family fitted on the person-periods of ``fit_forms``."""
        periods, rows = self._rows(data, fit_forms)
        all_rows = len(periods)
        budget = self.max_person_periods
        if family == "additive":
            budget = ADDITIVE_MAX_ROWS if budget is None else min(budget, ADDITIVE_MAX_ROWS)
        periods, share = subsample_without_event(periods, budget, rng)
        rows = rows if share == 1.0 else self._rows(data, fit_forms, periods)[1]
        categorical = [*self.encoder_.categorical_mask_.tolist(), False, False]
        if family == "additive":
            hazard = AdditiveHazard(
                categorical_features=categorical, feature_names=self.input_names_,
                interactions=[pair for pair in ADDITIVE_INTERACTIONS
                              if pair[0] in self.input_names_ and pair[1] in self.input_names_],
            )
            hazard.fit(rows, periods.event, exposure=periods.exposure, sample_weight=periods.weight)
        else:
            hazard = BoostedHazard(categorical_features=categorical, random_state=self.seed)
            hazard.fit(rows.astype(np.float32), periods.event, exposure=periods.exposure,
                       sample_weight=periods.weight, groups=periods.form)
        del rows
        info = {
            "fit_rows": all_rows, "fit_rows_used": len(periods), "fit_events": int(periods.event.sum()),
            "fit_exposure_weeks": float(periods.exposure @ periods.weight),
            "kept_share_of_rows_without_event": share,
        }
        return hazard, info

    def _fit_family(
        self,
        family: str,
        data: tuple[np.ndarray, ...],
        fit_forms: np.ndarray,
        calibration_forms: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[AdditiveHazard | BoostedHazard, HazardCalibrator, dict[str, Any]]:
        """One family fitted on ``fit_forms`` and calibrated on ``calibration_forms`` (selection)."""
        hazard, info = self._fit_hazard(family, data, fit_forms, rng)
        cal_periods, cal_rows = self._rows(data, calibration_forms)
        cal_periods_all = len(cal_periods)
        cal_periods, cal_share = subsample_without_event(cal_periods, self.max_person_periods, rng)
        if cal_share != 1.0:
            cal_rows = self._rows(data, calibration_forms, cal_periods)[1]
        calibrator = HazardCalibrator().fit(
            hazard.predict_log_rate(cal_rows), cal_periods.event,
            exposure=cal_periods.exposure, sample_weight=cal_periods.weight,
        )
        info.update({"calibration_rows": cal_periods_all, "calibration_rows_used": len(cal_periods)})
        return hazard, calibrator, info

    @staticmethod
    def _rows(
        data: tuple[np.ndarray, ...], forms_mask: np.ndarray, periods: PersonPeriods | None = None
    ) -> tuple[PersonPeriods, np.ndarray]:
        """Person-periods of the selected forms and their row inputs (form indices global)."""
        X, entry, exit_, ended = data
        if periods is None:
            chosen = np.flatnonzero(forms_mask)
            local = person_periods(entry[chosen], exit_[chosen], ended[chosen])
            periods = PersonPeriods(chosen[local.form], local.start, local.end, local.exposure,
                                    local.event, local.weight)
        rows = np.column_stack([X[periods.form], periods.time_features(entry)])
        return periods, rows

    def _log_score(
        self, hazard: AdditiveHazard | BoostedHazard, calibrator: HazardCalibrator,
        data: tuple[np.ndarray, ...], forms_mask: np.ndarray,
    ) -> float:
        periods, rows = self._rows(data, forms_mask)
        log_rate = calibrator.transform(hazard.predict_log_rate(rows))
        return _censored_log_score(log_rate, periods, forms=int(forms_mask.sum()))

    def _typical_form(self, X: np.ndarray) -> np.ndarray:
        reference = np.empty(X.shape[1])
        for j, categorical in enumerate(self.encoder_.categorical_mask_):
            present = X[~np.isnan(X[:, j]), j]
            if not len(present):
                reference[j] = np.nan
            elif categorical:
                values, counts = np.unique(present, return_counts=True)
                reference[j] = values[np.argmax(counts)]
            else:
                reference[j] = np.median(present)
        return reference

    def _contribution_groups(self) -> list[str]:
        if self.family_ == "additive":
            names = [self._group_of(name) for name in self.hazard_.groups_]
        else:
            names = [INPUT_GROUPS.get(name, name) for name in self.input_names_[: -len(TIME_FEATURES)]]
        return list(dict.fromkeys(names))

    def _summary(
        self, forms: pd.DataFrame, ended: np.ndarray, exit_: np.ndarray, contradictory: np.ndarray,
        fit_forms: np.ndarray, calibration_forms: np.ndarray, periods_info: dict[str, Any],
        split_method: str, selection: dict[str, Any], seconds: float,
    ) -> dict[str, Any]:
        censored = ~ended
        return {
            "rows": int(len(forms)),
            "rows_used": int((~contradictory).sum()),
            "rows_left_out_contradictory": int(contradictory.sum()),
            "censored": int(censored.sum()),
            "censored_before_13_weeks": int((censored & (exit_ <= 13)).sum()),
            "censored_use": "each censored spell contributes its weeks at risk from the form's entry up to "
            "its censoring time (or week 52) as person-periods without a return; it is never counted as a "
            "return, and never dropped",
            "person_periods": periods_info,
            "split": {"method": split_method, "fit_forms": int(fit_forms.sum()),
                      "calibration_forms": int(calibration_forms.sum())},
            "family": self.family_,
            "family_requested": self.family,
            "selection": selection,
            "calibration": {"method": ("log hazard' = a + b log hazard, Poisson ML on the out-of-fold log hazards "
                                       f"of all forms ({self.calibration_folds} folds); hazard refitted on all forms"
                                       if self.calibration_folds > 1 else
                                       "log hazard' = a + b log hazard, Poisson ML on calibration forms"),
                            "intercept": self.calibrator_.intercept_, "slope": self.calibrator_.slope_},
            "seed": int(self.seed),
            "horizons": [int(h) if float(h).is_integer() else h for h in self.horizons_],
            "period_bounds": PERIOD_BOUNDS.tolist(),
            "audit_inputs": list(self.audit_inputs),
            "inputs": list(self.input_names_),
            "fit_seconds": round(seconds, 2),
        }

    def _check_fitted(self) -> None:
        check_is_fitted(self)


def fit_risk_model(
    forms: pd.DataFrame,
    *,
    family: Family = "auto",
    seed: int = 0,
    calibration_fraction: float = 0.2,
    selection_fraction: float = 0.2,
    horizons: Sequence[int] = HORIZONS,
    audit_inputs: Sequence[str] = (),
    max_person_periods: int | None = 2_000_000,
    calibration_folds: int = 3,
) -> RiskModel:
    """Fit the calibrated long-absence risk model on validated training forms.

    Parameters
    ----------
    forms : pandas.DataFrame
        ``validate_file(path, training=True).valid``: forms with ``absence_weeks``
        and ``spell_ended``.
    family : {"auto", "additive", "boosted"}, default "auto"
        ``additive``: penalised Poisson GLM on splines, indicators and a few named
        interactions (exact contributions). ``boosted``: gradient-boosted trees
        with Poisson loss. ``auto``: the one with the better out-of-fold censored
        log score (see the module docstring).
    seed : int, default 0
        Seeds every random choice; the same data and seed give the same model.
    calibration_fraction : float, default 0.2
        With ``calibration_folds=1``: share of forms (the newest) held out to calibrate.
    selection_fraction : float, default 0.2
        With ``calibration_folds=1`` and ``family="auto"``: share of forms (the
        newest) on which the families are compared; they are fitted on the oldest
        ``1 - calibration_fraction - selection_fraction`` and calibrated on the rest.
    horizons : sequence of int, default (8, 13, 22, 52)
        Weeks from the first sick day; at most 52.
    audit_inputs : sequence of str, default ()
        Fairness-audit attributes (``sex``, ``jobcenter``) to use as model inputs
        after all; none by default (see ``screening.features.AUDIT_ATTRIBUTES``).
    max_person_periods : int or None, default 2_000_000
        Above this many person-period rows, rows without a return are subsampled
        and reweighted (unbiased; bounds time and memory on large data). The
        additive family uses at most ``ADDITIVE_MAX_ROWS`` (1,000,000) whatever this says.
    calibration_folds : int, default 3
        Folds (random by form) of the out-of-fold log hazards that choose the
        family (``auto``) and fit the calibration map; the chosen hazard is then
        refitted on every form. 1: the older time-ordered scheme (fit on the oldest
        forms, calibrate on the newest ``calibration_fraction``).

    Returns
    -------
    RiskModel
        Fitted; ``training_summary`` says what was done.
    """
    return RiskModel(
        family=family, seed=seed, calibration_fraction=calibration_fraction,
        selection_fraction=selection_fraction, horizons=horizons, audit_inputs=audit_inputs,
        max_person_periods=max_person_periods, calibration_folds=calibration_folds,
    ).fit(forms)
