"""The registered model as an MLflow pyfunc: forms as they arrive in, risks per horizon out.

So MLflow's own tools work on it unchanged (``mlflow models predict``, ``mlflow models
serve``, ``mlflow.pyfunc.spark_udf``) and give the same risks as ``screening``: the
pyfunc loads the same checksummed model directory with the same loader and runs the
same validation. One output row per input row, in input order; a refused form gets
no risk and the reasons it was refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from screening.registry._files import LoadedModel, load_model_dir

try:  # the base class is only needed where MLflow is installed and loading the model
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover - scoring installs without MLflow never import this module
    PythonModel = object

HORIZONS = (8, 13, 22, 52)


def score_rows(loaded: LoadedModel, frame: pd.DataFrame, *, language: str = "da") -> pd.DataFrame:
    """Score raw forms row by row: ``case_id, status, risk_8 .. risk_52, refusal`` in input order."""
    from screening.intake import validate_table
    from screening.intake._read import RawTable

    text = frame.astype("str").where(frame.notna()) if len(frame.columns) else frame
    raw = RawTable(frame=text.reset_index(drop=True), row_numbers=np.arange(2, len(frame) + 2))
    result = validate_table(raw, language=language)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    case_ids = text["case_id"] if "case_id" in text else pd.Series(pd.NA, index=text.index)
    out["case_id"] = case_ids.reset_index(drop=True).astype("str")
    out["status"] = "refused"
    for h in HORIZONS:
        out[f"risk_{h}"] = np.nan
    out["refusal"] = ""
    position = result.valid.index.to_numpy() - 2
    if len(position):
        risks = loaded.estimator.predict_risk(result.valid)
        for h in HORIZONS:
            out.loc[position, f"risk_{h}"] = risks[f"risk_{h}"].to_numpy()
        out.loc[position, "status"] = "scored"
    if len(result.refused):
        reasons = (result.refused.assign(text=result.refused["column"] + ": " + result.refused["reason"])
                   .groupby("row")["text"].agg("; ".join))
        out.loc[reasons.index.to_numpy() - 2, "refusal"] = reasons.to_numpy()
    blank = (out["status"] == "refused") & (out["refusal"] == "")
    out.loc[blank, "refusal"] = "tom række" if language == "da" else "blank row"
    return out


class ScreeningPyfunc(PythonModel):
    """MLflow pyfunc around a screening model directory (logged as the ``model_dir`` artifact)."""

    def load_context(self, context: Any) -> None:
        self._loaded = load_model_dir(context.artifacts["model_dir"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return score_rows(self._loaded, pd.DataFrame(model_input))
