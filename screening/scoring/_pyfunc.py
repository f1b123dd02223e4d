"""The registered model as an MLflow pyfunc: forms as they arrive in, one answer per form out.

So MLflow's own tools work on it unchanged (``mlflow models predict``, ``mlflow models
serve``, ``mlflow.pyfunc.spark_udf``) and answer as ``screening`` does: the pyfunc
loads the same checksummed model directory with the same loader and runs the
batch's own primitive (:func:`~screening.scoring.score_chunk`), so it refuses,
masks, scores and explains exactly as the batch does.

Input: the contract's columns, each cell text, a number, a boolean or null, as a
case system sends them (the signature declares them ``any``; MLflow passes them on
and our validation decides). A typed cell is read as the text a CSV would hold
(:func:`screening.intake.forms_table`: ``40.0`` is ``"40"``), so a form answers the
same whether it came as CSV, as JSON with numbers, or as text.

Output: one row per input row, in input order, with :data:`ANSWER_COLUMNS`; a value
that does not exist (a refused form's risks, a scored form's refusal) is None, so
``mlflow models serve`` writes strict JSON (``null``, never ``NaN``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from screening.intake import HORIZONS, LANGUAGES, forms_table, redact
from screening.registry import load_model_dir
from screening.scoring._batch import score_chunk
from screening.scoring._model import ScreeningModel

try:  # the base class is only needed where MLflow is installed and loading the model
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover - scoring installs without MLflow never import this module
    PythonModel = object

#: The answer's columns, in order. ``risk_<h>``: the model's exact probability that the absence lasts more
#: than h weeks (1 at a horizon already passed); ``queue``, ``horizon`` and ``priority`` as in the ranked
#: list (``horizon``: the weeks the priority is about, None at 52 weeks or more); ``reasons``, ``questions``:
#: the ranked list's cells; ``reason_factors``: the same reasons as JSON text (a list of ``{"factor",
#: "direction", "points", "text"}``, see ``_reasons.reason_factors``); ``refusal``: why a form was refused,
#: as text, and ``refusal_reasons`` the same as JSON (a list of ``{"column", "value", "reason", "kind"}``).
ANSWER_COLUMNS: tuple[str, ...] = (
    "case_id", "status", *(f"risk_{h}" for h in HORIZONS), "queue", "horizon", "priority", "reasons",
    "reason_factors", "questions", "refusal", "refusal_reasons", "model_version",
)
_BLANK_ROW = {"da": "tom række", "en": "blank row"}


def score_rows(model: ScreeningModel, forms: pd.DataFrame, *, language: str = "da") -> pd.DataFrame:
    """Score raw forms row by row: one answer per form, :data:`ANSWER_COLUMNS`, in input order.

    ``case_id`` is shown as the batch shows it (a CPR-shaped value masked); risks
    are the model's, unrounded; every column is of ``object`` dtype, with None
    where there is no value.

    Raises
    ------
    ValueError
        ``language`` is not one of :data:`screening.intake.LANGUAGES`.
    screening.intake.FileError
        The forms lack a required column or name one twice.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {str(language)[:20]!r}")
    table = forms_table(forms.reset_index(drop=True))
    scored = score_chunk(model, table, language=language, reason_factors=True)
    n = len(forms)
    answer: dict[str, list[Any]] = {name: [None] * n for name in ANSWER_COLUMNS}
    named = [k for k, name in enumerate(table.frame.columns) if str(name).strip().casefold() == "case_id"]
    if named:
        ids = table.frame.iloc[:, named[0]]
        shown = redact(ids.fillna("")).tolist()
        answer["case_id"] = [None if missing else text for missing, text in zip(ids.isna().tolist(), shown)]
    answer["status"] = ["refused"] * n
    answer["model_version"] = [model.version] * n
    positions = (scored.rows - 2).tolist()
    run = scored.run
    for k, h in enumerate(model.horizons):
        if f"risk_{h}" in answer:
            _place(answer[f"risk_{h}"], positions, scored.risks[:, k].tolist())
    for name in ("queue", "horizon", "priority", "reasons", "reason_factors", "questions"):
        _place(answer[name], positions, run.column(name).to_pylist())
    _place(answer["status"], positions, ["scored"] * len(positions))
    refused = scored.validation.refused
    if len(refused):
        for row, lines in refused.groupby("row", sort=False):
            position = int(row) - 2
            records = lines[["column", "value", "reason", "kind"]].astype(object).where(lines.notna(), None)
            answer["refusal"][position] = "; ".join(f"{column}: {reason}" for column, reason
                                                   in zip(lines["column"].tolist(), lines["reason"].tolist()))
            answer["refusal_reasons"][position] = json.dumps(records.to_dict("records"), ensure_ascii=False)
    for position in range(n):  # a row of blanks is no form: refused as such, not silently dropped
        if answer["status"][position] == "refused" and answer["refusal"][position] is None:
            answer["refusal"][position] = _BLANK_ROW[language]
            answer["refusal_reasons"][position] = json.dumps(
                [{"column": "", "value": "", "reason": _BLANK_ROW[language], "kind": "blank_row"}], ensure_ascii=False)
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in answer.items()})


def _place(column: list[Any], positions: list[int], values: list[Any]) -> None:
    for position, value in zip(positions, values):
        column[position] = value


class ScreeningPyfunc(PythonModel):
    """MLflow pyfunc around a screening model directory (logged as the ``model_dir`` artifact)."""

    def load_context(self, context: Any) -> None:
        self._model = ScreeningModel(load_model_dir(context.artifacts["model_dir"], for_scoring=True))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One answer per form (:func:`score_rows`); ``params={"language": "en"}`` for English reasons."""
        language = (params or {}).get("language") or "da"
        return score_rows(self._model, pd.DataFrame(model_input), language=language)
