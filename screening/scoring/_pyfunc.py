"""The registered model as an MLflow pyfunc: forms as they arrive in, one answer per form out.

So MLflow's own tools work on it unchanged (``mlflow models predict``, ``mlflow models
serve``, ``mlflow.pyfunc.spark_udf``) and answer as ``screening`` does: the pyfunc
loads the same checksummed model directory with the same loader and runs the
batch's own primitive (:func:`~screening.scoring.score_chunk`), so it refuses,
masks and scores exactly as the batch does. One output row per input row, in
input order; a refused form gets no risk and the reasons it was refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from screening.intake import forms_table, redact
from screening.registry import load_model_dir
from screening.scoring._batch import score_chunk
from screening.scoring._model import ScreeningModel

try:  # the base class is only needed where MLflow is installed and loading the model
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover - scoring installs without MLflow never import this module
    PythonModel = object

_BLANK_ROW = {"da": "tom række", "en": "blank row"}


def score_rows(model: ScreeningModel, forms: pd.DataFrame, *, language: str = "da") -> pd.DataFrame:
    """Score raw forms row by row: ``case_id, status, risk_8 .. risk_52, refusal`` in input order.

    ``case_id`` is shown as the batch shows it (a CPR-shaped value masked); risks
    are the model's, unrounded.
    """
    table = forms_table(forms.reset_index(drop=True))
    scored = score_chunk(model, table, language=language)
    n = len(forms)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    named = [k for k, name in enumerate(table.frame.columns) if str(name).strip().casefold() == "case_id"]
    out["case_id"] = redact(table.frame.iloc[:, named[0]]).to_numpy() if named else None
    out["status"] = "refused"
    for h in model.horizons:
        out[f"risk_{h}"] = np.nan
    out["refusal"] = ""
    position = scored.rows - 2
    if len(position):
        for k, h in enumerate(model.horizons):
            out.loc[position, f"risk_{h}"] = scored.risks[:, k]
        out.loc[position, "status"] = "scored"
    refused = scored.validation.refused
    if len(refused):
        reasons = (refused.assign(text=refused["column"] + ": " + refused["reason"]).groupby("row")["text"]
                   .agg("; ".join))
        out.loc[reasons.index.to_numpy() - 2, "refusal"] = reasons.to_numpy()
    blank = (out["status"] == "refused") & (out["refusal"] == "")
    out.loc[blank, "refusal"] = _BLANK_ROW.get(language, _BLANK_ROW["en"])
    return out


class ScreeningPyfunc(PythonModel):
    """MLflow pyfunc around a screening model directory (logged as the ``model_dir`` artifact)."""

    def load_context(self, context: Any) -> None:
        self._model = ScreeningModel(load_model_dir(context.artifacts["model_dir"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return score_rows(self._model, pd.DataFrame(model_input))
