"""Scoring one form fast, with the batch's own validator, model and reasons.

A single form goes this way:

1. **Validation** by the intake stage's :class:`~screening.intake.FormValidator`:
   the batch's parsers and checks once per distinct value, with the table
   validator's last word whenever the fast path doubts a form.
2. **Model.** Inputs encoded by the model's own encoder, once per distinct
   ``(column, value)``; risks and contributions by :mod:`._engine`, as in the batch.
3. **Reasons** phrased as the batch phrases them.

``tests/scoring/test_single.py`` proves the result equals the batch's, on
simulated and on hypothesis-generated forms, risk for risk.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from screening.intake import MAIN_HORIZON, FormValidator, Language
from screening.scoring import _engine, _rank, _reasons
from screening.scoring._types import Reason, Score

#: Distinct values remembered per cache before it is emptied (bounds memory in a long-lived service).
CACHE_LIMIT = 200_000


def score_from_arrays(
    risks: np.ndarray, horizons: tuple[int, ...], effects: np.ndarray, groups: list[str], *,
    reason_horizon: float, forms: pd.DataFrame | None, case_id: str, version: str, language: str,
    phrases: list[tuple[str, str, str, float]] | None = None,
) -> Score:
    """A :class:`Score` from one form's risks and contributions."""
    rounded = {h: float(np.rint(risks[k] * _rank.RISK_SCALE) / _rank.RISK_SCALE) for k, h in enumerate(horizons)}
    late = reason_horizon != MAIN_HORIZON
    horizon = None if np.isnan(reason_horizon) else int(reason_horizon)
    risk = rounded[horizon] if horizon is not None else None
    code = int(_rank.priority_codes(np.array([np.nan if risk is None else risk]))[0])
    if phrases is None:
        phrases = _reasons.reasons_of_one(effects, groups, forms, already_absent=late, language=language)
    reasons = tuple(Reason(direction=d, group=g, text=t, effect=e) for d, g, t, e in phrases)
    return Score(case_id=case_id, risk=risk, risks=rounded, priority=_rank.PRIORITIES[code] if code >= 0 else None,
                 reasons=reasons, model_version=version, queue=_rank.QUEUES[int(late)], horizon=horizon)


class SingleFormScorer:
    """The fast path of :meth:`ScreeningModel.score_one` for one fitted model (thread-safe).

    Building it (about a second) builds the form validator, which parses the
    common spellings in bulk, encodes every value it knows with the model's
    encoder and scores a form at each reason horizon once, so that no form pays
    for a one-off table.
    """

    def __init__(self, estimator: Any, *, validator: FormValidator | None = None) -> None:
        self.estimator = estimator
        self.validator = validator if validator is not None else FormValidator()
        self.encoder = estimator.encoder_
        self.inputs = list(zip(self.encoder.input_columns_, self.encoder.kinds_, self.encoder.categories_))
        self.horizons = _engine.horizons_of(estimator)
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

    def _warm_codes(self) -> None:
        """Model inputs of every value the validator knows, in one call of the model's encoder."""
        columns = self.validator.contract.columns
        known = self.validator.known_values()
        values = {name: [None, *known[name]] for name in columns}
        length = max(len(found) for found in values.values())
        cycled = {name: (found * (length // len(found) + 1))[:length] for name, found in values.items()}
        dtypes = self.validator.dtypes
        frame = pd.DataFrame({name: pd.Series(cycled[name], dtype=dtypes[name]) for name in columns})
        encoded = self.encoder.transform(_engine.model_frame(self.estimator, frame))
        for j, (column, _kind, _categories) in enumerate(self.inputs):
            if column in cycled:
                for value, code in zip(cycled[column], encoded[:, j].tolist()):
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
        for (column, _kind, _categories), code in zip(self.inputs, encoded.tolist()):
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
        return row

    def score(self, values: dict[str, object], *, version: str, language: str) -> Score:
        """Risks, priority and reasons of a form the fast path found valid (typed values)."""
        X = self.encode(values)[None, :]
        entry = np.array([float(values["sick_weeks"])])
        scored = _engine.score_encoded(self.estimator, X, entry)
        reason_horizon = float(scored.reason_horizon[0])
        phrases = _reasons.reasons_from_values(
            scored.contributions[0], scored.groups, values,
            already_absent=reason_horizon != MAIN_HORIZON, language=language,
        )
        return score_from_arrays(scored.risks[0], scored.horizons, scored.contributions[0], scored.groups,
                                 reason_horizon=reason_horizon, forms=None, case_id=str(values["case_id"]),
                                 version=version, language=language, phrases=phrases)

    def score_form(self, form: Mapping[str, Any], *, version: str, language: Language = "da") -> Score:
        """Validate and score one form (see :meth:`ScreeningModel.score_one`)."""
        valid = self.validator.validate(form, language=language)
        if valid.fast:
            return self.score(valid.values, version=version, language=language)
        scored = _engine.score_forms(self.estimator, valid.frame)
        return score_from_arrays(
            scored.risks[0], scored.horizons, scored.contributions[0], scored.groups,
            reason_horizon=float(scored.reason_horizon[0]), forms=valid.frame,
            case_id=str(valid.frame["case_id"].iloc[0]), version=version, language=language,
        )
