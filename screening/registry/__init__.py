"""Model files, training runs, MLflow tracking and the registry.

``train_model`` trains, evaluates and saves a model directory and logs it to MLflow;
``load_model_dir`` loads one safely (checksums, trust list, versions);
``resolve_model_uri`` finds the directory behind ``models:/NAME@champion`` in the
store ``tracking_uri`` names (``MLFLOW_TRACKING_URI``, else ``default_store``), read
directly from SQLite without MLflow; ``promote`` moves the ``champion`` alias; ``promotion_guard`` decides whether a
candidate may replace the champion, on the interval of their paired difference;
``serve_command`` is ``mlflow models serve`` for a registered model, runnable as it
is; ``log_monitoring_run`` records what monitoring found (counts and rates per period)
as a run linked to the model version it judged. MLflow is imported only by the functions that need it.
"""

from screening.registry._files import (
    TRUSTED_TYPES,
    LoadedModel,
    ModelFileError,
    ModelVersionWarning,
    load_model_dir,
    save_model_dir,
)
from screening.registry._monitoring_run import log_monitoring_run
from screening.registry._promotion import MARGINS, PromotionDecision, promotion_guard
from screening.registry._serve import serve_command
from screening.registry._store import default_store, resolve_model_uri, tracking_uri
from screening.registry._train import TrainingRun, evaluation_figures, train_model


def promote(name: str, version: str | int, *, alias: str = "champion") -> None:
    """Point an alias (default ``champion``) at a registered model version (imports MLflow)."""
    from screening.registry._tracking import promote as move

    move(name, version, alias=alias)


__all__ = [
    "MARGINS",
    "TRUSTED_TYPES",
    "LoadedModel",
    "ModelFileError",
    "ModelVersionWarning",
    "PromotionDecision",
    "TrainingRun",
    "default_store",
    "evaluation_figures",
    "load_model_dir",
    "log_monitoring_run",
    "promote",
    "promotion_guard",
    "resolve_model_uri",
    "save_model_dir",
    "serve_command",
    "tracking_uri",
    "train_model",
]
