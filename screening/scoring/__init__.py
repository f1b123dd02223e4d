"""Scoring: from forms to a ranked list with reasons, for the weekly batch, case systems and MLflow.

``load_model(path_or_uri)`` gives a :class:`ScreeningModel`; its ``score(forms)``
validates and ranks a table of forms (:class:`ScoreResult`), its
``score_one(form)`` scores one form in about a millisecond (:class:`Score`, or
:class:`RefusedFormError` with the reasons). ``score_file`` is the ``score``
command as a function: a file of any size, the ranked list, refused rows, the
page and an audit line. All of them, and the MLflow pyfunc, run one primitive,
``score_chunk``: a chunk of raw forms validated, scored and sorted in working
order. Another engine (``screening.spark``) runs ``score_chunk`` per partition and
ranks, marks and counts with the batch's own pieces: :func:`sort_keys` (the working
order), :class:`Ranker` (ranks and capacity marks), :func:`ranked_table` (the ranked
list's typed columns) and :class:`Totals` (the summary's counts, added up part by part).

Importing this package is cheap: the modules that need pandas, the intake
contract or the model are imported on first use, and none of them imports
MLflow or matplotlib (an MLflow URI imports MLflow when it is resolved).
"""

from __future__ import annotations

from screening._lazy import lazy_names

from screening.scoring._types import Reason, Score, ScoreResult

_LAZY = {
    "load_model": "screening.scoring._model",
    "ScreeningModel": "screening.scoring._model",
    # Drift lives in the features stage (training needs it too); kept here for compatibility.
    "drift_reference": "screening.features",
    "population_stability": "screening.features",
    "PSI_WARNING": "screening.features",
    "PRIORITY_THRESHOLDS": "screening.scoring._rank",
    "render_page": "screening.scoring._page",
    "write_ranked": "screening.scoring._output",
    "RefusedFormError": "screening.intake",
    "score_chunk": "screening.scoring._batch",
    "ScoredChunk": "screening.scoring._batch",
    "score_file": "screening.scoring._file",
    "FileScore": "screening.scoring._file",
    # The pieces another engine (screening.spark) runs around score_chunk, so that it ranks,
    # marks and counts as the batch does.
    "RANKED_COLUMNS": "screening.scoring._batch",
    "chunk_schema": "screening.scoring._batch",
    "has_jobcenter": "screening.scoring._batch",
    "ranked_table": "screening.scoring._batch",
    "Ranker": "screening.scoring._batch",
    "Totals": "screening.scoring._batch",
    "sort_keys": "screening.scoring._rank",
    "QUEUES": "screening.scoring._rank",
    "check_options": "screening.scoring._model",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "PRIORITY_THRESHOLDS",
    "QUEUES",
    "RANKED_COLUMNS",
    "Ranker",
    "Totals",
    "check_options",
    "chunk_schema",
    "has_jobcenter",
    "ranked_table",
    "sort_keys",
    "PSI_WARNING",
    "Reason",
    "RefusedFormError",
    "Score",
    "ScoreResult",
    "ScoredChunk",
    "FileScore",
    "ScreeningModel",
    "drift_reference",
    "load_model",
    "population_stability",
    "render_page",
    "score_chunk",
    "score_file",
    "write_ranked",
]
