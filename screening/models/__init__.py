"""The long-absence risk model: fit, predict, explain, evaluate.

``fit_risk_model(forms)`` fits a calibrated discrete-period hazard model on
validated training forms (censored spells used without bias); ``RiskModel``
predicts ``risk_8 .. risk_52`` and explains them; ``evaluate`` measures risks
against outcomes, per subgroup and against plain peers. Importing this package
loads neither MLflow nor matplotlib.
"""

from screening.models._risk_model import FAMILIES, HORIZONS, RiskModel, fit_risk_model

__all__ = ["FAMILIES", "HORIZONS", "RiskModel", "fit_risk_model"]
