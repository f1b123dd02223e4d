"""screening: early screening of sick-listed workers at risk of long absence, for Danish jobcenters.

For case systems::

    import screening

    model = screening.load_model("models/current")          # or "models:/screening-risk@champion"
    result = model.score(forms_frame, capacity=10)           # .ranked, .refused, .summary
    one = model.score_one({"case_id": "A1", "age": "45", "physical_load": "4", "sick_weeks": "3", ...})

``score_one`` raises :class:`RefusedFormError` (with ``.reasons``) for a form the
contract refuses. Importing this package is cheap: nothing heavy (pandas, the model,
MLflow, matplotlib) loads until it is used, and scoring never imports MLflow or
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "screening.scoring",
    "ScreeningModel": "screening.scoring",
    "ScoreResult": "screening.scoring",
    "Score": "screening.scoring",
    "Reason": "screening.scoring",
    "RefusedFormError": "screening.scoring",
    "validate_file": "screening.intake",
    "FileError": "screening.intake",
    "ModelFileError": "screening.registry._files",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'screening' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = sorted(_LAZY)
