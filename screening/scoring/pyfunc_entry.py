"""Entry point of the logged pyfunc ("models from code"): MLflow runs this file to build the model."""

import mlflow

from screening.scoring._pyfunc import ScreeningPyfunc

mlflow.models.set_model(ScreeningPyfunc())
