"""A loaded model, ready to score: a table of forms (:meth:`ScreeningModel.score`) or one form (:meth:`ScreeningModel.score_one`)."""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from screening.intake import MAIN_HORIZON, Language, RawTable, forms_table
from screening import registry
from screening.scoring import _batch, _engine, _rank
from screening.scoring._types import Score, ScoreResult


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
        The fitted ``RiskModel`` (or its scorer, ``RiskScoring``) with its metadata, path and checksum.

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
        if MAIN_HORIZON not in self.horizons:
            raise ValueError(f"model {self.version} predicts {self.horizons} weeks; the {MAIN_HORIZON}-week "
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

    def prepare_batch(self) -> None:
        """Do the one-off work of scoring a table now (a few hundredths of a second), as
        :func:`~screening.scoring.score_file` does before it forks worker processes, so that
        each does not do it again on its first chunk."""
        _engine.prepare(self.estimator)

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
        language: Language = "da",
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
        return self.score_table(forms_table(forms), capacity=capacity, per=per, language=language)

    def score_table(
        self,
        table: RawTable,
        *,
        capacity: int | None = None,
        per: str | None = None,
        language: Language = "da",
    ) -> ScoreResult:
        """Validate and score a table as read (:func:`screening.intake.read_table`); see :meth:`score`.

        The batch's own path for a table of one chunk: :func:`_batch.score_chunk`,
        then the ranking of the merge.
        """
        started = time.perf_counter()
        check_options(capacity=capacity, per=per)
        clock = time.perf_counter()
        scored = _batch.score_chunk(self, table, per=per, language=language)
        seconds_by_step = {"validation_model_ranking_and_reasons": time.perf_counter() - clock}
        totals = _batch.Totals(reference=self.metadata.get("drift_reference") or {})
        totals.add_validation(scored.validation)
        totals.add_scored(scored.run)
        ranker = _batch.Ranker(per, capacity)
        parts = [_batch.ranked_frame(rows, rank, contact, version=self.version)
                 for rows, rank, contact in _batch.ranked_slices([scored.run], ranker, horizons=self.horizons)]
        ranked = (pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0] if parts
                  else _batch.ranked_frame(scored.run, scored.rows[:0], ranker.contacts(scored.run, scored.rows[:0]),
                                           version=self.version))
        totals.contacts = ranker.marked
        drift = totals.drift()
        summary = totals.summary(self, drift, capacity=capacity, per=per, language=language,
                                 seconds=time.perf_counter() - started)
        summary["seconds_by_step"] = {step: round(value, 2) for step, value in seconds_by_step.items()}
        return ScoreResult(ranked=ranked, refused=scored.validation.refused, summary=summary, drift=drift)

    # ------------------------------------------------------------ single form
    def score_one(self, form: Mapping[str, Any], *, language: Language = "da",
                  ignore_unknown: bool = False) -> Score:
        """Score one form, as a case system does when a form arrives.

        Parameters
        ----------
        form : mapping
            Field name -> value, names as in the intake-form contract (any case);
            values as text or typed (numbers, booleans, ``date``/``datetime``/
            ``pandas.Timestamp``; a date-time such as ``"2026-11-16 00:00:00"`` is
            read as its day). Missing keys are blank answers.
        language : {"da", "en"}, default "da"
        ignore_unknown : bool, default False
            Pass over keys the contract does not know. By default a form with such
            a key is refused (reason kind ``unknown_field``, naming the key and the
            nearest contract field), because a misspelt key would silently be a
            blank answer and give another risk.

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
        return self._single.score_form(form, version=self.version, language=language, ignore_unknown=ignore_unknown)


def load_model(path_or_uri: str | os.PathLike[str], *, single_forms: bool = True) -> ScreeningModel:
    """Load a model for scoring from a model directory or an MLflow URI.

    An additive model loads its scorer (``scorer.json``: plain data, read without
    skops or scikit-learn, in a few hundredths of a second), which scores to the
    bit as the fitted model; a boosted model, or one saved before scorers existed,
    loads the fitted model (importing scikit-learn, about a second).

    Parameters
    ----------
    path_or_uri : str or path-like
        A model directory (as ``screening train`` writes it), or an MLflow model URI
        such as ``models:/screening-risk@champion`` or ``runs:/<id>/model``, found in
        the store ``MLFLOW_TRACKING_URI`` names, else the project's own
        (:func:`screening.registry.resolve_model_uri`: a SQLite registry is read
        directly, in milliseconds, without importing MLflow; other URIs and stores
        import it).
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
        The URI names no model, or the store does not exist (one line naming the
        store and how to point at another; nothing is created).
    """
    text = os.fspath(path_or_uri)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/", text)  # two letters at least: C:/ is a path
    if scheme and scheme.group(1).casefold() == "file":
        text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
    elif scheme:
        text = os.fspath(registry.resolve_model_uri(text))
    model = ScreeningModel(registry.load_model_dir(text, for_scoring=True))
    if single_forms:
        model.prepare_single_forms()
    return model
