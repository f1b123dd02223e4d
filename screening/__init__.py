"""screening: early screening of sick-listed workers at risk of long absence, for Danish jobcenters.

For case systems::

    import screening

    model = screening.load_model("models/current")          # or "models:/screening-risk@champion"
    result = model.score(forms_frame, capacity=10)           # .ranked, .refused, .summary
    one = model.score_one({"case_id": "A1", "age": "45", "physical_load": "4", "sick_weeks": "3", ...})
    done = screening.score_file("week.csv", model=model, output="ranked.csv", capacity=10)   # the `score` command

``score_one`` raises :class:`RefusedFormError` (with ``.reasons``) for a form the
contract refuses. Importing this package is cheap: nothing heavy (pandas, the model,
MLflow, matplotlib) loads until it is used, and scoring never imports MLflow or
matplotlib.
"""

from __future__ import annotations

from screening._lazy import lazy_names

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
    "ModelFileError": "screening.registry",
    "score_file": "screening.scoring",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = sorted(_LAZY)
