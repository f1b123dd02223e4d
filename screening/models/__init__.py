"""The long-absence risk model: fit, predict, explain, evaluate.

``fit_risk_model(forms)`` fits a calibrated piecewise-exponential hazard model on
validated training forms (censored spells and late forms used without bias);
``RiskModel`` predicts ``risk_8 .. risk_52`` and explains them; ``evaluate``
measures risks against outcomes, per subgroup and against the plain peers of
``fit_plain_peers``, with 95 % bootstrap intervals, only on forms whose follow-up
reaches the horizon (``NotEvaluableError`` otherwise); ``compare_paired`` gives the
paired difference of two sources for a promotion guard; ``threadpool_controller()``
is the process's one thread-pool controller, shared by whoever limits BLAS or
OpenMP threads. ``freeze_scorer`` writes what scoring reads of a fitted additive
model as JSON, ``thaw_scorer`` reads it back as a ``RiskScoring``, which predicts and
explains as the model does without importing scikit-learn. Importing this package
is cheap: each name's module is imported on first use; none loads MLflow or matplotlib.
"""

from __future__ import annotations

from screening._lazy import lazy_names

_LAZY = {
    "Evaluation": "screening.models._evaluate",
    "NotEvaluableError": "screening.models._evaluate",
    "PairedComparison": "screening.models._evaluate",
    "compare_paired": "screening.models._evaluate",
    "evaluate": "screening.models._evaluate",
    "extraction_date": "screening.models._evaluate",
    "follow_up_weeks": "screening.models._evaluate",
    "ipcw_outcome": "screening.models._evaluate",
    "threadpool_controller": "screening.models._additive_scoring",
    "fit_plain_peers": "screening.models._peers",
    "plain_inputs": "screening.models._peers",
    "FAMILIES": "screening.models._risk_model",
    "HORIZONS": "screening.models._risk_model",
    "RiskModel": "screening.models._risk_model",
    "fit_risk_model": "screening.models._risk_model",
    "form_days": "screening.models._risk_model",
    "RiskScoring": "screening.models._risk_scoring",
    "freeze_scorer": "screening.models._frozen",
    "thaw_scorer": "screening.models._frozen",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "FAMILIES",
    "HORIZONS",
    "Evaluation",
    "NotEvaluableError",
    "PairedComparison",
    "RiskModel",
    "RiskScoring",
    "compare_paired",
    "evaluate",
    "extraction_date",
    "fit_plain_peers",
    "fit_risk_model",
    "follow_up_weeks",
    "form_days",
    "freeze_scorer",
    "ipcw_outcome",
    "plain_inputs",
    "thaw_scorer",
    "threadpool_controller",
]
