"""The long-absence risk model: fit, predict, explain, evaluate.

``fit_risk_model(forms)`` fits a calibrated piecewise-exponential hazard model on
validated training forms (censored spells and late forms used without bias);
``RiskModel`` predicts ``risk_8 .. risk_52`` and explains them; ``evaluate``
measures risks against outcomes, per subgroup and against the plain peers of
``fit_plain_peers``, with 95 % bootstrap intervals, only on forms whose follow-up
reaches the horizon (``NotEvaluableError`` otherwise); ``compare_paired`` gives the
paired difference of two sources for a promotion guard; ``threadpool_controller()``
is the process's one thread-pool controller, shared by whoever limits BLAS or
OpenMP threads. Importing this package loads neither MLflow nor matplotlib.
"""

from screening.models._evaluate import (
    Evaluation,
    NotEvaluableError,
    PairedComparison,
    compare_paired,
    evaluate,
    extraction_date,
    follow_up_weeks,
    ipcw_outcome,
)
from screening.models._hazard import threadpool_controller
from screening.models._peers import fit_plain_peers, plain_inputs
from screening.models._risk_model import FAMILIES, HORIZONS, RiskModel, fit_risk_model
from screening.models._risk_model import _form_dates as form_days

__all__ = [
    "FAMILIES",
    "HORIZONS",
    "Evaluation",
    "NotEvaluableError",
    "PairedComparison",
    "RiskModel",
    "compare_paired",
    "evaluate",
    "extraction_date",
    "fit_plain_peers",
    "fit_risk_model",
    "follow_up_weeks",
    "form_days",
    "ipcw_outcome",
    "plain_inputs",
    "threadpool_controller",
]
