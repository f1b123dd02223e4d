"""MLflow: logging a training run, registering models and moving the ``champion`` alias.

The store is the one :func:`screening.registry._store.tracking_uri` names
(``MLFLOW_TRACKING_URI``, else SQLite in the project's ``mlruns/``, artifacts in
``mlruns/artifacts``), whatever the current folder: since MLflow 3.7 the default
would be a ``mlflow.db`` wherever the command runs, and the old file store refuses
to start unless told to. Only a training run creates the store; finding a model in
it is ``_store``'s job, without MLflow where it can. MLflow is imported only when
tracking is asked for (``_store.mlflow_at``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screening.registry._store import PYFUNC_ARTIFACT, mlflow_at as _mlflow, sqlite_path, tracking_uri

EXPERIMENT = "screening"
CHAMPION = "champion"
#: The code MLflow runs to build the logged model ("models from code"): the scoring stage's pyfunc. It is
#: a file MLflow copies into the model, named here by its path: the registry never imports scoring.
PYFUNC_CODE = Path(__file__).resolve().parents[1] / "scoring" / "pyfunc_entry.py"

def _artifact_root(uri: str) -> str | None:
    database = sqlite_path(uri)
    return (database.parent / "artifacts").resolve().as_uri() if database is not None else None


def experiment_id(name: str = EXPERIMENT) -> str:
    """Create (with artifacts beside the SQLite store) or find the experiment."""
    mlflow = _mlflow(create=True)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_root(tracking_uri()))


def pyfunc_signature() -> Any:
    """The logged pyfunc's signature: forms as clients send them in, one answer per form out.

    Input: none declared, so the forms reach the model as sent and the one validator
    decides (the contract's columns and what they hold: ``data/schemas/``, the
    README). MLflow's schema enforcement would drop a column it does not declare (a
    misspelt ``work_abilty``: the form scored as if unanswered, a warning in the
    server's log only) and refuse a request without a required column with an error
    that repeats the request's data, CPR numbers included; our validation refuses
    such forms one by one, with the reasons ``score_one`` gives. Output: the
    answer's columns (``screening.scoring._pyfunc.ANSWER_COLUMNS``), None where
    there is no value. Parameter: ``language`` (``da`` or ``en``) of the reasons
    and refusals.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    from screening.intake import HORIZONS

    inputs = None
    outputs = Schema(
        [ColSpec("string", "case_id", required=False), ColSpec("string", "status")]
        + [ColSpec("double", f"risk_{h}", required=False) for h in HORIZONS]
        + [ColSpec("string", "queue", required=False), ColSpec("long", "horizon", required=False)]
        + [ColSpec("string", name, required=False) for name in ("priority", "reasons", "reason_factors", "questions",
                                                                "refusal", "refusal_reasons", "model_version")]
    )
    params = ParamSchema([ParamSpec("language", "string", "da")])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


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
    mlflow = _mlflow(create=True)
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
            signature=pyfunc_signature(),
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
