"""``mlflow models serve`` for a registered model, as a command that starts from any shell.

MLflow's server starts ``uvicorn`` by name from ``PATH``, so ``.venv/bin/mlflow models
serve`` fails ("exec: uvicorn: not found") unless the virtual environment's ``bin`` is
on ``PATH``; and MLflow looks for ``models:/...`` in ``./mlflow.db`` of the current
folder unless ``MLFLOW_TRACKING_URI`` says otherwise (creating an empty one). The
command built here names the project's store (:func:`~screening.registry.tracking_uri`),
checks that the model is there (one line, creating nothing, if not), fetches the
model's folder as ``mlflow models serve --env-manager local`` does (nothing is
downloaded from elsewhere or installed) and runs MLflow's own scoring app with this
interpreter's ``uvicorn``, wrapped so that an error answer never repeats the request
(:mod:`screening.registry._served`: MLflow's answer to a wrong ``params`` value or a
body that is not JSON quotes every form sent).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from screening.registry._store import TRACKING_ENV, resolve_model_uri, tracking_uri

#: Address and port the server listens on unless told otherwise (the loopback address: only this machine).
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000


#: The warning filter (``PYTHONWARNINGS``) that keeps pandas-on-Spark's pandas-3 warning out of the server's log.
_QUIET_PYSPARK_PANDAS = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def serve_command(model: str, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                  workers: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve ``model`` over HTTP as ``mlflow models serve`` does.

    MLflow's own scoring app (the same routes and answers), its error answers without
    the request they would repeat (:mod:`screening.registry._served`).

    Parameters
    ----------
    model : str
        A model URI (``models:/screening-risk@champion``, ``runs:/...``) or the
        folder of a logged pyfunc (one with an ``MLmodel`` file).
    host : str, default "127.0.0.1"
    port : int, default 5000
    workers : int, optional
        Server processes (MLflow's default when not given).

    Returns
    -------
    argv : list of str
        ``python -m uvicorn ... --factory screening.registry._served:served_app``, this interpreter first.
    env : dict of str to str
        The current environment with ``MLFLOW_TRACKING_URI`` set to the store in force, pandas-on-Spark's
        warning about pandas 3 left out of the server's log, and what MLflow's
        scoring app reads (the model's folder, fetched now into a temporary folder
        as ``mlflow models serve`` fetches it; the request timeout).

    Raises
    ------
    LookupError
        The model is not in the store, or the folder is not a logged pyfunc.
    """
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", model):
        resolve_model_uri(model)  # fails fast, in one line, before MLflow starts
    elif not (Path(model) / "MLmodel").is_file():
        raise LookupError(f"{model}: not a logged MLflow model (no MLmodel file); give a model URI such as "
                          "models:/screening-risk@champion")
    env = dict(os.environ)
    env[TRACKING_ENV] = tracking_uri()
    # MLflow's server imports pandas-on-Spark, which warns about pandas 3 in every server log; nothing of
    # ours uses it (screening.spark hands Spark Arrow). The operator's own filters come first.
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), _QUIET_PYSPARK_PANDAS]))
    env.update(_served_model_env(model, env[TRACKING_ENV]))
    argv = [sys.executable, "-m", "uvicorn", "--host", host, "--port", str(int(port))]
    if workers:
        argv += ["--workers", str(int(workers))]
    return [*argv, "--factory", SERVED_APP], env


#: What makes the ASGI app ``uvicorn`` runs: MLflow's scoring app, its error answers without the request.
SERVED_APP = "screening.registry._served:served_app"


def _served_model_env(model: str, store: str) -> dict[str, str]:
    """What MLflow's scoring app reads from its environment: the model's local folder (fetched from the store as
    ``mlflow models serve`` fetches it) and the request timeout, as MLflow's own command sets them."""
    import mlflow
    from mlflow.pyfunc import scoring_server
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri

    mlflow.set_tracking_uri(store)
    local = _download_artifact_from_uri(model)
    _, served = scoring_server.get_cmd(local)  # its environment; the command is built here
    return {name: value for name, value in served.items() if os.environ.get(name) != value}
