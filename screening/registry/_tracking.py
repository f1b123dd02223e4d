"""MLflow: the embedded local store, logging a training run, registering and resolving models.

The store is SQLite under ``mlruns/`` in the working directory (``mlruns/mlflow.db``,
artifacts in ``mlruns/artifacts``) unless ``MLFLOW_TRACKING_URI`` says otherwise:
since MLflow 3.7 the default would be a ``mlflow.db`` wherever the command runs, and
the old file store refuses to start unless told to. MLflow is imported only here,
only when tracking is asked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

EXPERIMENT = "screening"
CHAMPION = "champion"
PYFUNC_ARTIFACT = "model_dir"
#: The code MLflow runs to build the logged model ("models from code"): the scoring stage's pyfunc. It is
#: a file MLflow copies into the model, named here by its path: the registry never imports scoring.
PYFUNC_CODE = Path(__file__).resolve().parents[1] / "scoring" / "pyfunc_entry.py"


def tracking_uri(store: str | os.PathLike[str] | None = None) -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI``, else SQLite in ``mlruns/``."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    root = Path(store) if store else Path.cwd() / "mlruns"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root.resolve() / 'mlflow.db'}"


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return None


def _mlflow(uri: str | None = None) -> Any:
    import logging

    import mlflow

    # Alembic and MLflow announce every migration step at INFO on first use.
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking._tracking_service.client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The registry follows the tracking URI when no registry URI is set; setting one would also
    # export MLFLOW_REGISTRY_URI to every child process (kernels, `mlflow models predict`).
    mlflow.set_tracking_uri(uri or tracking_uri())
    return mlflow


def experiment_id(name: str = EXPERIMENT) -> str:
    """Create (with artifacts beside the SQLite store) or find the experiment."""
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_root(tracking_uri()))


def pyfunc_signature(*, example: Any) -> Any:
    """Input: the contract's columns as text (forms as they arrive); output: risks per horizon."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    from screening.intake import HORIZONS, load_contract

    contract = load_contract()
    required = set(contract.required_columns)
    inputs = Schema([ColSpec("string", name, required=name in required) for name in contract.columns])
    outputs = Schema(
        [ColSpec("string", "case_id"), ColSpec("string", "status")]
        + [ColSpec("double", f"risk_{h}") for h in HORIZONS]
        + [ColSpec("string", "refusal")]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_training_run(
    *,
    model_dir: Path,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: dict[str, Path],
    tags: dict[str, str],
    input_example: Any,
    register: str | None,
    promote: bool,
    run_name: str,
) -> dict[str, Any]:
    """Log one training run, its model as a pyfunc, and register it on request.

    Returns
    -------
    dict
        ``run_id``, ``model_uri`` and, when registered, ``registered_name``,
        ``registered_version`` and ``aliases``.
    """
    mlflow = _mlflow()
    with mlflow.start_run(experiment_id=experiment_id(), run_name=run_name) as run:
        mlflow.log_params({key: str(value)[:500] for key, value in params.items()})
        mlflow.log_metrics({key: float(value) for key, value in metrics.items() if value == value})
        mlflow.set_tags(tags)
        for name, path in artifacts.items():
            if Path(path).is_dir():
                mlflow.log_artifacts(str(path), artifact_path=name)
            else:
                mlflow.log_artifact(str(path), artifact_path=name)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),  # models from code: nothing of ours is pickled
            artifacts={PYFUNC_ARTIFACT: str(model_dir)},
            signature=pyfunc_signature(example=input_example),
            input_example=input_example,
            registered_model_name=register,
        )
        result: dict[str, Any] = {"run_id": run.info.run_id, "model_uri": info.model_uri}
    if register:
        client = mlflow.MlflowClient()
        version = str(info.registered_model_version)
        current = _alias_version(client, register, CHAMPION)
        if promote or current is None:
            client.set_registered_model_alias(register, CHAMPION, version)
        result.update(registered_name=register, registered_version=version,
                      aliases=[CHAMPION] if (promote or current is None) else [],
                      previous_champion=current)
    return result


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except Exception:  # MLflow raises MlflowException when the alias does not exist
        return None


def promote(name: str, version: str | int, *, alias: str = CHAMPION) -> None:
    """Point ``alias`` (default ``champion``) at a registered version."""
    _mlflow().MlflowClient().set_registered_model_alias(name, alias, str(version))


def resolve_model_uri(uri: str) -> Path:
    """The local model directory behind an MLflow model URI (``models:/NAME@champion``, ``runs:/...``).

    Raises
    ------
    LookupError
        The URI names no model in the store.
    """
    mlflow = _mlflow()
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri.rstrip("/")))
    except Exception as error:  # MlflowException and friends: unknown name, alias or run
        raise LookupError(f"{uri}: no such model in {tracking_uri()} ({str(error).splitlines()[0][:200]})") from None
    try:
        flavor = mlflow.models.Model.load(str(local / "MLmodel")).flavors["python_function"]
        model_dir = local / flavor["artifacts"][PYFUNC_ARTIFACT]["path"]
    except (OSError, KeyError, TypeError):
        raise LookupError(f"{uri}: not a screening model (no {PYFUNC_ARTIFACT} artifact)") from None
    if not model_dir.is_dir():
        raise LookupError(f"{uri}: the model's {PYFUNC_ARTIFACT} artifact is missing")
    return model_dir
