"""Scoring: from valid forms to a ranked list with reasons, for the weekly batch and for case systems.

``load_model(path_or_uri)`` gives a :class:`ScreeningModel`; its ``score(forms)``
validates and ranks a table of forms (:class:`ScoreResult`), its
``score_one(form)`` scores one form in a few milliseconds (:class:`Score`, or
:class:`RefusedFormError` with the reasons). ``drift_reference`` freezes the
training data's bins for the model's metadata and ``population_stability``
compares a week's forms with them.

Importing this package is cheap: the modules that need pandas, the intake
contract or the model are imported on first use, and none of them imports
MLflow or matplotlib (an MLflow URI imports MLflow when it is resolved).
"""

from __future__ import annotations

import importlib
from typing import Any

from screening.scoring._types import Reason, RefusedFormError, Score, ScoreResult

_LAZY = {
    "load_model": "screening.scoring._model",
    "ScreeningModel": "screening.scoring._model",
    "drift_reference": "screening.scoring._drift",
    "population_stability": "screening.scoring._drift",
    "PSI_WARNING": "screening.scoring._drift",
    "PRIORITY_THRESHOLDS": "screening.scoring._rank",
    "render_page": "screening.scoring._page",
    "write_ranked": "screening.scoring._output",
    "add_score_arguments": "screening.scoring._cli",
    "run_score": "screening.scoring._cli",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'screening.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "PRIORITY_THRESHOLDS",
    "PSI_WARNING",
    "Reason",
    "RefusedFormError",
    "Score",
    "ScoreResult",
    "ScreeningModel",
    "add_score_arguments",
    "drift_reference",
    "load_model",
    "population_stability",
    "render_page",
    "run_score",
    "write_ranked",
]
