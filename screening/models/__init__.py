"""The long-absence risk model: fit, predict, explain, evaluate.

``fit_risk_model(forms)`` fits a calibrated piecewise-exponential hazard model on
validated training forms (censored spells and late forms used without bias);
``RiskModel`` predicts ``risk_8 .. risk_52`` and explains them; ``evaluate``
measures risks against outcomes, per subgroup and against the plain peers of
``fit_plain_peers``; ``threadpool_controller()`` is the process's one thread-pool
controller, shared by whoever limits BLAS or OpenMP threads. Importing this
package loads neither MLflow nor matplotlib (nor fairlearn, which ``evaluate``
imports when it runs).
"""

from screening.models._evaluate import Evaluation, evaluate, ipcw_outcome
from screening.models._hazard import threadpool_controller
from screening.models._peers import fit_plain_peers, plain_inputs
from screening.models._risk_model import FAMILIES, HORIZONS, RiskModel, fit_risk_model

__all__ = [
    "FAMILIES",
    "HORIZONS",
    "Evaluation",
    "RiskModel",
    "evaluate",
    "fit_plain_peers",
    "fit_risk_model",
    "ipcw_outcome",
    "plain_inputs",
    "threadpool_controller",
]
