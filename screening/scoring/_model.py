"""A loaded model, ready to score: a table of forms (:meth:`ScreeningModel.score`) or one form (:meth:`ScreeningModel.score_one`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from screening.intake import RawTable, Validation, validate_table
from screening.intake._read import TEXT_DTYPE
from screening.scoring import _batch, _engine, _rank, _reasons
from screening.scoring._types import Reason, Score, ScoreResult


def cell_text(value: object) -> str | None:
    """A value of a form as the text a file would hold (None when blank).

    Numbers keep their value (``45`` and ``45.0`` both read as 45), yes/no become
    ``true``/``false``, dates their ISO day; text is passed on as it is.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else repr(float(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def text_frame(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms of any dtypes as text cells (``str`` columns, blanks NA), as a file reader returns them."""
    columns = {}
    for name in forms.columns:
        values = forms[name]
        if values.dtype == "str":
            text = values
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            text = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            # Arrow writes 45.0 as "45" and 3.5 as "3.5", blanks as nulls, a million values at once
            text = pd.Series(pa.array(values, from_pandas=True).cast(pa.string()).to_numpy(zero_copy_only=False),
                             index=values.index, dtype=object)
        else:
            text = pd.Series([cell_text(value) for value in values.tolist()], index=values.index, dtype=object)
        columns[name] = pd.Series(text.to_numpy(dtype=object, na_value=None), dtype=TEXT_DTYPE)
    frame = pd.DataFrame(columns)
    frame.columns = pd.Index([str(name) for name in forms.columns], dtype=object)
    return frame


def check_options(*, capacity: int | None, per: str | None) -> None:
    """Refuse a ranking option the batch does not know (ValueError)."""
    if per is not None and per not in _rank.PER_CHOICES:
        raise ValueError(f"per must be one of {_rank.PER_CHOICES}, got {per!r}")
    if capacity is not None and capacity < 0:
        raise ValueError(f"capacity must be 0 or more, got {capacity}")


class ScreeningModel:
    """A fitted risk model with what the weekly batch needs around it.

    Built by :func:`screening.scoring.load_model` from a model directory or an
    MLflow URI; or from a :class:`~screening.registry.LoadedModel` directly.

    Parameters
    ----------
    loaded : screening.registry.LoadedModel
        The fitted ``RiskModel`` with its metadata, path and checksum.

    Attributes
    ----------
    version : str
        The model's version label.
    checksum : str
        SHA-256 of the model directory's manifest.
    horizons : tuple of int
        Weeks the model predicts (8, 13, 22, 52).
    metadata : dict
        The model's ``metadata.json``.
    path : pathlib.Path
        The model directory.
    """

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.estimator = loaded.estimator
        self.metadata: dict[str, Any] = dict(loaded.metadata)
        self.path = Path(loaded.path)
        self.checksum = str(loaded.checksum)
        self.horizons = _engine.horizons_of(self.estimator)
        if _engine.MAIN_HORIZON not in self.horizons:
            raise ValueError(f"model {self.version} predicts {self.horizons} weeks; the {_engine.MAIN_HORIZON}-week "
                             "horizon is needed")
        self._single = None

    def prepare_single_forms(self) -> None:
        """Do the one-off work of :meth:`score_one` now (about a second), so that no form waits for it.

        :func:`load_model` calls this unless asked not to; otherwise the first
        :meth:`score_one` does.
        """
        if self._single is None:
            from screening.scoring._single import SingleFormScorer

            self._single = SingleFormScorer(self.estimator)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    @property
    def card_path(self) -> Path | None:
        """The model card (``model_card.md``) in the model directory, if there is one."""
        card = self.path / "model_card.md"
        return card if card.is_file() else None

    def __repr__(self) -> str:
        return f"ScreeningModel(version={self.version!r}, family={getattr(self.estimator, 'family_', '?')!r})"

    # ------------------------------------------------------------------ batch
    def score(
        self,
        forms: pd.DataFrame,
        *,
        capacity: int | None = None,
        per: str | None = None,
        language: str = "da",
    ) -> ScoreResult:
        """Validate and score a table of forms, ranked for the consultant.

        Parameters
        ----------
        forms : pandas.DataFrame
            One row per form, columns named as in the intake-form contract; cells
            as text (as files hold them) or typed (numbers, yes/no, dates).
        capacity : int, optional
            Mark the first ``capacity`` forms (per group with ``per``) as
            ``contact_this_week``.
        per : {"jobcenter"}, optional
            Rank within each jobcenter instead of over all forms.
        language : {"da", "en"}, default "da"
            Language of the reasons and of the refusal reasons.

        Returns
        -------
        ScoreResult
            ``ranked`` (the scored forms in working order), ``refused`` (one line
            per reason; ``row`` is the form's position + 2, its row in a
            spreadsheet of the table), ``summary``, ``drift``.

        Raises
        ------
        screening.intake.FileError
            The table lacks a required column or names one twice.
        """
        started = time.perf_counter()
        raw = RawTable(frame=text_frame(forms), row_numbers=np.arange(2, len(forms) + 2, dtype=np.int64))
        validation = validate_table(raw, language=language)
        with_jobcenter = any(str(name).strip().casefold() == "jobcenter" for name in forms.columns)
        return self.score_validation(validation, capacity=capacity, per=per, language=language,
                                     with_jobcenter=with_jobcenter, started=started)

    def score_validation(
        self,
        validation: Validation,
        *,
        capacity: int | None = None,
        per: str | None = None,
        language: str = "da",
        with_jobcenter: bool = True,
        started: float | None = None,
    ) -> ScoreResult:
        """Score the valid forms of a :class:`~screening.intake.Validation` (see :meth:`score`)."""
        started = time.perf_counter() if started is None else started
        check_options(capacity=capacity, per=per)
        steps: dict[str, float] = {}
        clock = time.perf_counter()
        chunk = _batch.sorted_chunk(self, validation.valid, per=per, language=language, with_jobcenter=with_jobcenter)
        steps["model_ranking_and_reasons"] = time.perf_counter() - clock
        totals = _batch.Totals(reference=self.metadata.get("drift_reference") or {})
        totals.add_validation(validation)
        totals.add_scored(chunk)
        ranker = _batch.Ranker(per, capacity)
        rank = ranker(chunk)
        contact = ranker.contacts(rank)
        totals.contacts = int(contact.sum()) if contact is not None else 0
        ranked = _batch.ranked_frame(chunk, rank, contact, version=self.version)
        drift = totals.drift()
        summary = totals.summary(self, drift, capacity=capacity, per=per, language=language,
                                 seconds=time.perf_counter() - started)
        summary["seconds_by_step"] = {step: round(value, 2) for step, value in steps.items()}
        return ScoreResult(ranked=ranked, refused=validation.refused, summary=summary, drift=drift)

    # ------------------------------------------------------------ single form
    def score_one(self, form: Mapping[str, Any], *, language: str = "da") -> Score:
        """Score one form, as a case system does when a form arrives.

        Parameters
        ----------
        form : mapping
            Field name -> value, names as in the intake-form contract (any case);
            values as text or typed. Missing keys are blank answers.
        language : {"da", "en"}, default "da"

        Returns
        -------
        Score

        Raises
        ------
        RefusedFormError
            The form does not meet the contract; ``.reasons`` says why, as the batch would.
        """
        if self._single is None:
            self.prepare_single_forms()
        valid = self._single.typed(form, language=language)
        if isinstance(valid, pd.DataFrame):  # the full validator had the last word (see _single)
            return self._score_frame_one(valid, language)
        return self._single.score(valid, version=self.version, language=language)

    def _score_frame_one(self, valid: pd.DataFrame, language: str) -> Score:
        scored = _engine.score_forms(self.estimator, valid)
        return score_from_arrays(
            scored.risks[0], scored.horizons, scored.contributions[0], scored.groups,
            reason_horizon=float(scored.reason_horizon[0]), forms=valid, case_id=str(valid["case_id"].iloc[0]),
            version=self.version, language=language,
        )


def score_from_arrays(
    risks: np.ndarray, horizons: tuple[int, ...], effects: np.ndarray, groups: list[str], *,
    reason_horizon: float, forms: pd.DataFrame | None, case_id: str, version: str, language: str,
    phrases: list[tuple[str, str, str, float]] | None = None,
) -> Score:
    """A :class:`Score` from one form's risks and contributions."""
    rounded = {h: float(np.rint(risks[k] * _rank.RISK_SCALE) / _rank.RISK_SCALE) for k, h in enumerate(horizons)}
    risk = rounded[_engine.MAIN_HORIZON]
    priority = _rank.PRIORITIES[int(_rank.priority_codes(np.array([risk]))[0])]
    if phrases is None:
        phrases = _reasons.reasons_of_one(effects, groups, forms, already_absent=reason_horizon != _engine.MAIN_HORIZON,
                                          horizon=_engine.MAIN_HORIZON, language=language)
    reasons = tuple(Reason(direction=d, group=g, text=t, effect=e) for d, g, t, e in phrases)
    return Score(case_id=case_id, risk=risk, risks=rounded, priority=priority, reasons=reasons, model_version=version)


def load_model(path_or_uri: str | os.PathLike[str], *, single_forms: bool = True) -> ScreeningModel:
    """Load a model for scoring from a model directory or an MLflow URI.

    Parameters
    ----------
    path_or_uri : str or path-like
        A model directory (as ``screening train`` writes it), or an MLflow model URI
        such as ``models:/screening@champion`` or ``runs:/<id>/model`` (resolved
        with :func:`screening.registry.resolve_model_uri`, which imports MLflow).
    single_forms : bool, default True
        Prepare :meth:`ScreeningModel.score_one` now (about a second), so that the
        first form scored is as fast as the others. A batch that only scores
        tables passes False.

    Returns
    -------
    ScreeningModel

    Raises
    ------
    screening.registry.ModelFileError
        The directory is not a model, was changed after saving, or needs other
        library versions.
    LookupError
        The URI names no model.
    """
    from screening.registry._files import load_model_dir

    text = os.fspath(path_or_uri)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/", text)  # two letters at least: C:/ is a path
    if scheme and scheme.group(1).casefold() == "file":
        text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
    elif scheme:
        from screening.registry import resolve_model_uri

        text = os.fspath(resolve_model_uri(text))
    model = ScreeningModel(load_model_dir(text))
    if single_forms:
        model.prepare_single_forms()
    return model
