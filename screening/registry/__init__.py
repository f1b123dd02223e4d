"""Model files, training runs, MLflow tracking and the registry.

``train_model`` trains, evaluates and saves a model directory and logs it to MLflow;
``load_model_dir`` loads one safely (checksums, trust list, versions);
``resolve_model_uri`` finds the directory behind ``models:/NAME@champion``;
``promote`` moves the ``champion`` alias. MLflow is imported only by the functions
that need it.
"""

from screening.registry._files import (
    TRUSTED_TYPES,
    LoadedModel,
    ModelFileError,
    ModelVersionWarning,
    load_model_dir,
    save_model_dir,
)
from screening.registry._train import TrainingRun, evaluation_figures, train_model


def resolve_model_uri(uri: str):  # noqa: ANN201 - thin lazy wrapper, see _tracking
    """The local model directory behind an MLflow URI (imports MLflow)."""
    from screening.registry._tracking import resolve_model_uri as resolve

    return resolve(uri)


def promote(name: str, version: str | int, *, alias: str = "champion") -> None:
    """Point an alias (default ``champion``) at a registered model version (imports MLflow)."""
    from screening.registry._tracking import promote as move

    move(name, version, alias=alias)


def tracking_uri() -> str:
    """The MLflow tracking URI in force (``MLFLOW_TRACKING_URI`` or SQLite under ``mlruns/``)."""
    from screening.registry._tracking import tracking_uri as uri

    return uri()


__all__ = [
    "TRUSTED_TYPES",
    "LoadedModel",
    "ModelFileError",
    "ModelVersionWarning",
    "TrainingRun",
    "evaluation_figures",
    "load_model_dir",
    "promote",
    "resolve_model_uri",
    "save_model_dir",
    "tracking_uri",
    "train_model",
]
