"""Scoring one form fast, with the batch's own validator, model and reasons.

A single form goes this way:

1. **Validation** by the intake stage's :class:`~screening.intake.FormValidator`:
   the batch's parsers and checks once per distinct value, with the table
   validator's last word whenever the fast path doubts a form.
2. **Model.** Inputs encoded by the model's own encoder, once per distinct
   ``(column, value)``; risks and contributions by :mod:`._engine`, as in the batch
   (the model's one-form path: the batch's arithmetic on one row).
3. **Reasons and questions** chosen and phrased as the batch does (``_reasons``'s
   one-form path: the same steps on Python floats).

Building the scorer does each answer's one-off work: it parses the spellings the
validator knows, encodes them, and has the model table the terms of every encoded
value and the reasons' effect of every single answer. A form seen for the first
time is then a new combination of answers seen before, and costs what a repeat does.

``tests/scoring/test_single.py`` proves the result equals the batch's, on
simulated and on hypothesis-generated forms, risk for risk.
"""

from __future__ import annotations

import functools
import gc
import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from screening.features import not_applying
from screening.intake import MAIN_HORIZON, FormValidator, Language
from screening.scoring import _engine, _rank, _reasons
from screening.scoring._types import Reason, Score

#: Distinct values remembered per cache before it is emptied (bounds memory in a long-lived service).
CACHE_LIMIT = 200_000


def explain_scored(estimator: Any, X: np.ndarray, entry: np.ndarray, scored: _engine.Scored,
                   form: Mapping[str, object] | pd.DataFrame, *, language: str
                   ) -> tuple[list[tuple[str, str, str, float]], tuple[str, ...]]:
    """The reasons and questions of one scored form (``form``: its typed values or a one-row frame)."""
    horizon = float(scored.reason_horizon[0])
    at = [k for k, h in enumerate(scored.horizons) if h == horizon]
    risk = float(scored.risks[0, at[0]]) if at else np.nan
    return _reasons.explain_one(estimator, X[0], float(entry[0]), scored.contributions[0], scored.groups, form,
                                risk=risk, horizon=horizon, already_absent=horizon != MAIN_HORIZON,
                                language=language)


def score_from_arrays(
    risks: np.ndarray, horizons: tuple[int, ...], *, reason_horizon: float, case_id: str, version: str,
    phrases: list[tuple[str, str, str, float]], questions: tuple[str, ...] = (),
) -> Score:
    """A :class:`Score` from one form's risks, reasons and questions."""
    rounded = dict(zip(horizons, (np.rint(np.asarray(risks) * _rank.RISK_SCALE) / _rank.RISK_SCALE).tolist()))
    late = reason_horizon != MAIN_HORIZON
    horizon = None if math.isnan(reason_horizon) else int(reason_horizon)
    risk = rounded[horizon] if horizon is not None else None
    reasons = tuple(Reason(direction=d, group=g, text=t, effect=e) for d, g, t, e in phrases)
    return Score(case_id=case_id, risk=risk, risks=rounded, priority=_priority(risk), reasons=reasons,
                 model_version=version, queue=_rank.QUEUES[int(late)], horizon=horizon, questions=tuple(questions))


def _priority(risk: float | None) -> str | None:
    """The priority band of a rounded risk (None: no risk), as the ranked list gives it."""
    if risk is not None and math.isfinite(risk) and 0 <= (units := round(risk * _rank.RISK_SCALE)) <= _rank.RISK_SCALE:
        return _priorities()[units]
    code = int(_rank.priority_codes(np.array([np.nan if risk is None else risk]))[0])
    return _rank.PRIORITIES[code] if code >= 0 else None


@functools.cache
def _priorities() -> tuple[str | None, ...]:
    """The priority band of every rounded risk, ``k / RISK_SCALE`` at ``k`` (one call of the ranked list's rule)."""
    codes = _rank.priority_codes(np.arange(_rank.RISK_SCALE + 1) / _rank.RISK_SCALE).tolist()
    return tuple(_rank.PRIORITIES[code] if code >= 0 else None for code in codes)


class SingleFormScorer:
    """The fast path of :meth:`ScreeningModel.score_one` for one fitted model (thread-safe).

    Building it (about a second) builds the form validator, which parses the
    common spellings in bulk, encodes every value it knows with the model's
    encoder, scores a form at each reason horizon once and has the model table
    each value's terms and each single answer's effect, so that no form pays
    for a one-off table.
    """

    def __init__(self, estimator: Any, *, validator: FormValidator | None = None) -> None:
        self.estimator = estimator
        self.validator = validator if validator is not None else FormValidator()
        self.encoder = estimator.encoder_
        self.inputs = list(zip(self.encoder.input_columns_, self.encoder.kinds_, self.encoder.categories_))
        self.horizons = _engine.horizons_of(estimator)
        # A question that does not apply is encoded by the answer that governs it, not by its own value:
        # such codes are set per form, never remembered per value (a model saved before the rules has none).
        rules = getattr(self.encoder, "not_applicable_", {})
        self._unless = {column: rule["unless"] for column, rule in rules.items()}
        self._inapplicable = {column: (self.encoder.input_columns_.index(column), rule["code"])
                              for column, rule in rules.items()}
        self._lock = threading.Lock()
        self._codes: dict[tuple[str, object], float] = {}
        self._warm_codes()
        self._warm_model()
        # The warm-up made many long-lived objects: one full collection now, rather than
        # one of ~0.1 s during a form scored later.
        gc.collect()

    # ----------------------------------------------------------------- set-up
    def _warm_model(self) -> None:
        """Score a form at each reason horizon once: the model's one-off tables (time factors
        per entry, the typical form's terms per horizon) are made now, not for a form."""
        later = [float(horizon) for horizon in self.horizons if horizon >= MAIN_HORIZON]
        for entry in [0.0, *later[:-1]]:  # explained at each later horizon in turn
            _engine.score_encoded(self.estimator, self.estimator.reference_[None, :], np.array([entry]))
        # Every answer the validator knows, as the model reads it: its terms are tabled now, not for a form.
        values: list[set[float]] = [{np.nan} for _ in self.inputs]
        position = {column: j for j, (column, _kind, _categories) in enumerate(self.inputs)}
        for (column, _value), code in self._codes.items():
            values[position[column]].add(code)
        for j, code in self._inapplicable.values():
            values[j].add(float(code))
        values = [sorted(found, key=lambda v: (math.isnan(v), v)) for found in values]
        self.estimator.prepare_one_form(values)
        blank = [self._codes.get((column, None), np.nan) for column, _kind, _categories in self.inputs]
        _reasons.prepare_one_form(self.estimator, values, blank=blank, horizons=later)

    def _warm_codes(self) -> None:
        """Model inputs of every value the validator knows, in one call of the model's encoder (two for a model
        with questions that do not always apply: a value is remembered from a row where its question applies)."""
        columns = self.validator.contract.columns
        known = self.validator.known_values()
        values = {name: [None, *known[name]] for name in columns}
        length = max(len(found) for found in values.values())
        cycled = {name: (found * (length // len(found) + 1))[:length] for name, found in values.items()}
        dtypes = self.validator.dtypes
        frame = pd.DataFrame({name: pd.Series(cycled[name], dtype=dtypes[name]) for name in columns})
        frames = [frame]
        governing = [name for rule in self._unless.values() for name in rule if name in frame.columns]
        if governing:  # a blank governing answer leaves every question applicable
            frames.append(frame.assign(**{name: pd.Series([None] * length, dtype=dtypes[name])
                                          for name in dict.fromkeys(governing)}))
        for blanked, rows in enumerate(frames):
            encoded = self.encoder.transform(_engine.model_frame(self.estimator, rows))
            inapplicable = not_applying(rows, rules=self._unless)
            for j, (column, _kind, _categories) in enumerate(self.inputs):
                if column in cycled and not (blanked and column in governing):
                    skip = inapplicable.get(column, np.zeros(length, dtype=bool)).tolist()
                    for value, code, skipped in zip(cycled[column], encoded[:, j].tolist(), skip):
                        if not skipped:
                            self._codes[(column, value)] = code

    def _remember(self, key: tuple, value: float) -> None:
        with self._lock:
            if len(self._codes) >= CACHE_LIMIT:
                self._codes.clear()
            self._codes[key] = value

    # ------------------------------------------------------------------ model
    def _encode_cold(self, values: dict[str, object]) -> np.ndarray:
        dtypes = self.validator.dtypes
        frame = pd.DataFrame({name: pd.Series([values[name]], dtype=dtypes[name])
                              for name in self.validator.contract.columns})
        encoded = self.encoder.transform(_engine.model_frame(self.estimator, frame))[0]
        inapplicable = not_applying(values, rules=self._unless) if self._unless else {}
        for (column, _kind, _categories), code in zip(self.inputs, encoded.tolist()):
            if not inapplicable.get(column, False):
                self._remember((column, values.get(column)), code)
        return encoded

    def encode(self, values: dict[str, object]) -> np.ndarray:
        """The model inputs of one form, as the model's encoder gives them."""
        row = np.empty(len(self.inputs))
        for j, (column, _kind, _categories) in enumerate(self.inputs):
            code = self._codes.get((column, values.get(column)))
            if code is None:
                return self._encode_cold(values)
            row[j] = code
        if self._unless:
            for column, applies_not in not_applying(values, rules=self._unless).items():
                if applies_not:
                    j, code = self._inapplicable[column]
                    row[j] = code
        return row

    def score(self, values: dict[str, object], *, version: str, language: str) -> Score:
        """Risks, priority and reasons of a form the fast path found valid (typed values)."""
        X = self.encode(values)[None, :]
        entry = np.array([float(values["sick_weeks"])])
        scored = _engine.score_encoded(self.estimator, X, entry)
        phrases, questions = explain_scored(self.estimator, X, entry, scored, values, language=language)
        return score_from_arrays(scored.risks[0], scored.horizons, reason_horizon=float(scored.reason_horizon[0]),
                                 case_id=str(values["case_id"]), version=version, phrases=phrases,
                                 questions=questions)

    def score_form(self, form: Mapping[str, Any], *, version: str, language: Language = "da",
                   ignore_unknown: bool = False) -> Score:
        """Validate and score one form (see :meth:`ScreeningModel.score_one`)."""
        valid = self.validator.validate(form, language=language, ignore_unknown=ignore_unknown)
        if valid.fast:
            return self.score(valid.values, version=version, language=language)
        X, entry = _engine.encode(self.estimator, valid.frame)
        scored = _engine.score_encoded(self.estimator, X, entry)
        phrases, questions = explain_scored(self.estimator, X, entry, scored, valid.frame, language=language)
        return score_from_arrays(
            scored.risks[0], scored.horizons, reason_horizon=float(scored.reason_horizon[0]),
            case_id=str(valid.frame["case_id"].iloc[0]), version=version, phrases=phrases, questions=questions,
        )
