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

A request the engine cannot score as sent is answered, not raised: every form
``refused``, the refusal saying why in one line. A column the contract does not
know refuses the forms as :meth:`~screening.scoring.ScreeningModel.score_one`
refuses such a form (the library's reason, naming the nearest field); so do a
``language`` other than ``da``/``en`` and a table the batch would refuse whole
(no ``sick_weeks`` nor ``sick_leave_start``). An exception would reach the client
of ``mlflow models serve`` as "Encountered an unexpected error", or, raised as
an ``MlflowException``, with the request's data, case ids and all, in the message.
The registered model's signature declares no input columns
(``screening.registry._tracking.pyfunc_signature``): MLflow's schema enforcement,
which runs before :meth:`ScreeningPyfunc.predict`, would drop the columns a
signature does not declare and refuse a request without a required column with
the request's data in its message; so every column reaches this code.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pandas as pd

from screening.intake import (
    HORIZONS,
    LANGUAGES,
    FileError,
    FormValidator,
    Language,
    RawTable,
    RefusedFormError,
    forms_table,
    load_contract,
    redact,
)
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
#: A ``language`` the model does not write: in Danish, the default, as the language asked for is unknown.
_BAD_LANGUAGE = "ukendt sprog {value}; tilladte værdier: {allowed}"


def score_rows(model: ScreeningModel, forms: pd.DataFrame, *, language: str = "da",
               ignore_unknown: bool = False) -> pd.DataFrame:
    """Score raw forms row by row: one answer per form, :data:`ANSWER_COLUMNS`, in input order.

    ``case_id`` is shown as the batch shows it (a CPR-shaped value masked); risks
    are the model's, unrounded; every column is of ``object`` dtype, with None
    where there is no value.

    Parameters
    ----------
    model : ScreeningModel
    forms : pandas.DataFrame
        One form per row, columns named as in the contract (any case).
    language : {"da", "en"}, default "da"
    ignore_unknown : bool, default False
        Pass over columns the contract does not know. By default every form is
        refused with the reasons :meth:`ScreeningModel.score_one` gives such a form
        (kind ``unknown_field``, naming the nearest field): a misspelt
        ``work_abilty`` would otherwise be a blank answer and another risk.

    Raises
    ------
    ValueError
        ``language`` is not one of :data:`screening.intake.LANGUAGES`.
    screening.intake.FileError
        The forms lack a required column or name one twice (and name no unknown column).
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {_shown(language)!r}")
    forms = forms.reset_index(drop=True)
    _one_column_csv(forms)
    if ignore_unknown:  # passed over before validation, as score_one passes them over (a misspelling included)
        known = {name.casefold() for name in load_contract().columns}
        forms = forms[[name for name in forms.columns if str(name).strip().casefold() in known]]
    table = forms_table(forms)
    try:
        scored = score_chunk(model, table, language=language, reason_factors=True)
    except FileError:
        unknown = [] if ignore_unknown else unknown_fields(forms, language)
        if not unknown:
            raise
        return refused_rows(model, table, unknown)
    unknown = unknown_fields(forms, language) if scored.validation.ignored_columns and not ignore_unknown else []
    if unknown:
        return refused_rows(model, table, unknown)
    answer = _unanswered(model, table)
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
            records = lines[["column", "value", "reason", "kind"]].astype(object).where(lines.notna(), None)
            _refuse(answer, int(row) - 2, records.to_dict("records"))
    for position in range(len(forms)):  # a row of blanks is no form: refused as such, not silently dropped
        if answer["status"][position] == "refused" and answer["refusal"][position] is None:
            blank = {"column": "", "value": "", "reason": _BLANK_ROW[language], "kind": "blank_row"}
            _refuse(answer, position, [blank])
    return _frame(answer)


def _one_column_csv(forms: pd.DataFrame) -> None:
    """Raise ``one_column_csv`` for forms that came as one column named like a header of another separator
    (``mlflow models predict -t csv`` on a Danish Excel file: pandas reads commas only)."""
    if len(forms.columns) != 1:
        return
    name = str(forms.columns[0])
    found = [separator for separator in (";", "\t", "|") if separator in name]
    if found:
        raise FileError("one_column_csv", separator="tab" if found[0] == "\t" else repr(found[0]))


def unknown_fields(forms: pd.DataFrame, language: Language = "da") -> list[list[dict[str, Any]]]:
    """Per form, the reasons :meth:`ScreeningModel.score_one` refuses it for: one per field it does not know,
    then those of its other fields.

    The library's own check (:meth:`screening.intake.FormValidator.validate`):
    the field named, its value redacted, and the nearest contract field
    suggested. An empty list when the contract knows every column.
    """
    validator = _validator()
    found = []
    for form in forms.to_dict("records"):
        try:
            validator.validate(form, language=language)
        except RefusedFormError as error:
            reasons = error.reasons if any(reason["kind"] == "unknown_field" for reason in error.reasons) else []
        else:
            reasons = []
        if not reasons:  # one set of columns for all forms: a form without an unknown field, none has one
            return []
        found.append(reasons)
    return found


def refused_rows(model: ScreeningModel, table: RawTable, reasons: list[list[dict[str, Any]]]) -> pd.DataFrame:
    """Every form refused: :data:`ANSWER_COLUMNS`, ``reasons[k]`` (``column, value, reason, kind``) the k-th form's."""
    answer = _unanswered(model, table)
    for position in range(len(table.frame)):
        _refuse(answer, position, reasons[position])
    return _frame(answer)


@functools.cache
def _validator() -> FormValidator:
    """The library's single-form validator, built (about a second) when a request first needs it."""
    return FormValidator()


def _unanswered(model: ScreeningModel, table: RawTable) -> dict[str, list[Any]]:
    """The answer before scoring: ``case_id`` as the batch shows it, every form refused, no value elsewhere."""
    n = len(table.frame)
    answer: dict[str, list[Any]] = {name: [None] * n for name in ANSWER_COLUMNS}
    named = [k for k, name in enumerate(table.frame.columns) if str(name).strip().casefold() == "case_id"]
    if named:
        ids = table.frame.iloc[:, named[0]]
        shown = redact(ids.fillna("")).tolist()
        answer["case_id"] = [None if missing else text for missing, text in zip(ids.isna().tolist(), shown)]
    answer["status"] = ["refused"] * n
    answer["model_version"] = [model.version] * n
    return answer


def _refuse(answer: dict[str, list[Any]], position: int, reasons: list[dict[str, Any]]) -> None:
    """Write a form's refusal: ``column: reason`` per reason (the reason alone for the form as a whole), and as JSON."""
    answer["refusal"][position] = "; ".join(f"{reason['column']}: {reason['reason']}" if reason["column"]
                                            else reason["reason"] for reason in reasons)
    answer["refusal_reasons"][position] = json.dumps(reasons, ensure_ascii=False)


def _frame(answer: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in answer.items()})


def _shown(value: object) -> str:
    """A value from the request made safe to show (CPR-shaped numbers masked, control characters replaced, cut)."""
    return str(redact(pd.Series([str(value)], dtype="str"), width=20).iloc[0])


def _place(column: list[Any], positions: list[int], values: list[Any]) -> None:
    for position, value in zip(positions, values):
        column[position] = value


class ScreeningPyfunc(PythonModel):
    """MLflow pyfunc around a screening model directory (logged as the ``model_dir`` artifact)."""

    def load_context(self, context: Any) -> None:
        self._model = ScreeningModel(load_model_dir(context.artifacts["model_dir"], for_scoring=True))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One answer per form (:func:`score_rows`); ``params={"language": "en"}`` for English reasons.

        A request that cannot be scored as sent has every form refused, with one
        line saying why: a ``language`` other than ``da``/``en`` (in Danish), or a
        table the batch would refuse whole (:class:`~screening.intake.FileError`).
        """
        language = (params or {}).get("language") or "da"
        forms = pd.DataFrame(model_input).reset_index(drop=True)
        if language not in LANGUAGES:
            shown = _shown(language)
            reason = {"column": "params.language", "value": shown,
                      "reason": _BAD_LANGUAGE.format(value=repr(shown), allowed=", ".join(LANGUAGES)),
                      "kind": "unknown_language"}
            return refused_rows(self._model, forms_table(forms), [[reason]] * len(forms))
        try:
            return score_rows(self._model, forms, language=language)
        except FileError as error:
            reason = {"column": "", "value": "", "reason": error.text(language), "kind": "file_error"}
            return refused_rows(self._model, forms_table(forms), [[reason]] * len(forms))
