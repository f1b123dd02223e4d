"""Where the MLflow store is, and the model directory behind a model URI: fast, from any folder, creating nothing.

One store for every command and for ``load_model``: :func:`tracking_uri` is
``MLFLOW_TRACKING_URI`` when set, else the project's own store, :func:`default_store`
(``mlruns/mlflow.db`` in the project folder, whatever the current folder is).

Resolving a URI (:func:`resolve_model_uri`):

* ``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` in a SQLite store are read
  with the standard library's ``sqlite3``, read-only, in milliseconds: importing
  MLflow (about 1.7 s) and opening the store through SQLAlchemy and Alembic cost
  seconds more on every run, for three rows. The version's artifacts are files
  beside the store; the model directory is the one its ``MLmodel`` names.
* Any other URI (``runs:/...``, ``models:/m-...``) or store (a tracking server) is
  resolved by MLflow, imported then. A version MLflow has to download is kept in a
  cache (``$XDG_CACHE_HOME/screening/models``, by default ``~/.cache/...``) under its
  manifest's checksum, and verified there before use: a version is downloaded once.

A lookup that fails raises :class:`LookupError` with one line naming the store and
how to point at another, and creates nothing (MLflow would leave an empty
``mlflow.db`` of about 1 MB wherever it looked). The training run is the only thing
that creates a store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

#: The environment variable that names the store (MLflow's own).
TRACKING_ENV = "MLFLOW_TRACKING_URI"
#: The artifact of the logged pyfunc that holds the screening model directory.
PYFUNC_ARTIFACT = "model_dir"
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/?$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")


def default_store() -> Path:
    """The project's own store folder: ``mlruns/`` in the project.

    The project is the folder holding ``pyproject.toml`` and the ``screening``
    package (``scripts/setup.sh`` installs it from there). A copy of the package
    installed elsewhere, without its project, keeps its store in
    ``$XDG_DATA_HOME/screening/mlruns`` (by default ``~/.local/share/screening/mlruns``).
    """
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file() and (project / "screening" / "__init__.py").is_file():
        return project / "mlruns"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "screening" / "mlruns"


def tracking_uri() -> str:
    """The MLflow store in force: ``MLFLOW_TRACKING_URI``, else SQLite in :func:`default_store`. Creates nothing."""
    return os.environ.get(TRACKING_ENV) or f"sqlite:///{default_store() / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative ones from the current folder); None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(urllib.parse.unquote(path)).absolute()


def _local_store(uri: str) -> Path | None:
    """The folder of a file store (``file:...`` or a plain path); None for databases and servers."""
    if uri.startswith("file:"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
    if "://" not in uri and not uri.startswith(("databricks", "uc")):
        return Path(uri).absolute()
    return None


def _origin() -> str:
    return (f"named by {TRACKING_ENV}" if os.environ.get(TRACKING_ENV)
            else f"the project's default store; {TRACKING_ENV} is not set")


_ANOTHER = f"to use another store set {TRACKING_ENV}, e.g. {TRACKING_ENV}=sqlite:////path/to/mlruns/mlflow.db"


def where_to_point(uri: str) -> str:
    """The end of a failed lookup's line: which store was asked, and how to ask another."""
    return f"looked in {uri} ({_origin()}); {_ANOTHER}"


def require_store(uri: str | None = None) -> str:
    """The store's URI, after checking that a local store exists (LookupError, creating nothing, if not)."""
    uri = uri or tracking_uri()
    database = sqlite_path(uri)
    folder = _local_store(uri) if database is None else None
    missing = database if database is not None and not database.is_file() else (
        folder if folder is not None and not folder.is_dir() else None)
    if missing is not None:
        raise LookupError(f"no MLflow store at {missing} ({_origin()}): nothing has been registered there; "
                          f"train with --register, or {_ANOTHER}")
    return uri


def resolve_model_uri(uri: str) -> Path:
    """The local model directory behind an MLflow model URI (``models:/NAME@champion``, ``runs:/...``).

    Parameters
    ----------
    uri : str
        ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` (read directly from a
        SQLite store, without MLflow), or any URI MLflow resolves.

    Returns
    -------
    pathlib.Path
        The screening model directory (verify and load it with
        :func:`screening.registry.load_model_dir`).

    Raises
    ------
    LookupError
        The store does not exist, or names no such model, alias or version; or the
        model is not a screening model. One line, naming the store.
    """
    store = require_store()
    text = uri.strip()
    named = _ALIAS_URI.match(text) or _VERSION_URI.match(text)
    database = sqlite_path(store)
    if named and database is not None:
        found = _registered_in_sqlite(database, store, **named.groupdict())
        if found is not None:
            version, location = found
            local = _local_artifacts(location)
            if local is not None:
                return _pyfunc_model_dir(local, text)
    return _resolve_with_mlflow(text, store, named.groupdict() if named else None)


# ------------------------------------------------------------------------------ SQLite, read-only
def _registered_in_sqlite(database: Path, store: str, *, name: str, alias: str | None = None,
                          version: str | None = None) -> tuple[str, str] | None:
    """``(version, download location)`` of a registered model version, read from the store's tables.

    None when the tables are not as expected (another MLflow schema, several
    workspaces holding the name): MLflow then decides.
    """
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        with connection:
            names = [row[0] for row in connection.execute("SELECT name FROM registered_models ORDER BY name")]
            if names.count(name) > 1:
                return None
            if name not in names:
                known = f"the store holds {', '.join(names[:8])}" if names else "the store holds no registered model"
                raise LookupError(f"no registered model {name!r} ({known}); {where_to_point(store)}")
            if alias is not None:
                rows = connection.execute("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                                          (name, alias)).fetchall()
                if len(rows) > 1:
                    return None
                if not rows:
                    if alias.casefold() == "latest":  # MLflow's own meaning: the newest version
                        return None
                    aliases = connection.execute("SELECT alias, version FROM registered_model_aliases WHERE name = ?"
                                                 " ORDER BY alias", (name,)).fetchall()
                    have = ", ".join(f"{a} -> version {v}" for a, v in aliases) or "none"
                    raise LookupError(f"model {name!r} has no alias {alias!r} (its aliases: {have}); "
                                      f"{where_to_point(store)}")
                version = str(rows[0][0])
            rows = connection.execute(
                "SELECT storage_location, source FROM model_versions WHERE name = ? AND version = ? "
                "AND current_stage != 'Deleted_Internal'", (name, int(version))).fetchall()
            if len(rows) != 1:
                if not rows:
                    raise LookupError(f"model {name!r} has no version {version}; {where_to_point(store)}")
                return None
            storage, source = rows[0]
            return str(version), str(storage or source or "")
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _local_artifacts(location: str) -> Path | None:
    """A version's artifact folder when it is on this machine (a ``file:`` URI or a path); else None."""
    if location.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))
    elif location.startswith("/"):
        path = Path(location)
    else:
        return None
    return path if path.is_dir() else None


def _pyfunc_model_dir(root: Path, uri: str) -> Path:
    """The screening model directory inside a logged pyfunc (its ``MLmodel`` names the artifact)."""
    try:
        flavors = yaml.safe_load((root / "MLmodel").read_text("utf-8"))["flavors"]
        model_dir = root / flavors["python_function"]["artifacts"][PYFUNC_ARTIFACT]["path"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        raise LookupError(f"{uri}: not a screening model (no {PYFUNC_ARTIFACT} artifact in {root})") from None
    if not model_dir.is_dir():
        raise LookupError(f"{uri}: the model's {PYFUNC_ARTIFACT} artifact is missing ({model_dir})")
    return model_dir


# ------------------------------------------------------------------------------ MLflow, and its cache
def mlflow_at(uri: str | None = None, *, create: bool = False) -> Any:
    """MLflow, imported now and pointed at the store (:func:`tracking_uri` by default).

    Only a training run passes ``create`` (a SQLite store's folder is made); for
    anything else a local store that does not exist is a LookupError, before MLflow
    could create an empty one.
    """
    import logging

    uri = uri or tracking_uri()
    database = sqlite_path(uri)
    if create and database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    elif not create:
        require_store(uri)

    import mlflow

    # Alembic and MLflow announce every migration step at INFO on first use.
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking._tracking_service.client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The registry follows the tracking URI when no registry URI is set; setting one would also
    # export MLFLOW_REGISTRY_URI to every child process (kernels, `mlflow models predict`).
    mlflow.set_tracking_uri(uri)
    return mlflow


def cache_root() -> Path:
    """Where model versions downloaded from a remote store are kept, by checksum."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "screening" / "models"


def _resolve_with_mlflow(uri: str, store: str, named: dict[str, Any] | None) -> Path:
    mlflow = mlflow_at(store)
    if named is None:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri.rstrip("/")))
        except Exception as error:  # MlflowException and friends: unknown name, alias or run
            raise LookupError(f"{uri}: {_first_line(error)}; {where_to_point(store)}") from None
        return _pyfunc_model_dir(local, uri)
    client = mlflow.MlflowClient()
    name = named["name"]
    try:
        if named.get("alias") is not None:
            version = str(client.get_model_version_by_alias(name, named["alias"]).version)
        else:
            version = str(client.get_model_version(name, named["version"]).version)
        location = client.get_model_version_download_uri(name, version)
    except Exception as error:
        raise LookupError(f"{uri}: {_first_line(error)}; {where_to_point(store)}") from None
    local = _local_artifacts(str(location))
    if local is not None:
        return _pyfunc_model_dir(local, uri)
    return cached_model_dir(f"{store}|{name}|{version}", lambda folder: _download(mlflow, name, version, folder, uri))


def _download(mlflow: Any, name: str, version: str, folder: Path, uri: str) -> Path:
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}",
                                                         dst_path=str(folder)))
    except Exception as error:
        raise LookupError(f"{uri}: {_first_line(error)}") from None
    return _pyfunc_model_dir(local, uri)


def cached_model_dir(key: str, fetch: Any) -> Path:
    """A model version's directory from the cache, or fetched into it once and kept under its checksum.

    Parameters
    ----------
    key : str
        What names the version for good (store, model name, version number):
        registered versions never change.
    fetch : callable
        ``fetch(folder) -> model directory``: downloads the version into ``folder``
        (an empty folder in the cache) and returns the model directory inside it.

    The directory is verified against its manifest (:func:`screening.registry.load_model_dir`
    does it again when loading); a cached copy that no longer verifies is fetched again.
    """
    from screening.registry._files import ModelFileError, verify_model_dir

    root = cache_root()
    index_path = root / "index.json"
    try:
        index = json.loads(index_path.read_text("utf-8"))
    except (OSError, ValueError):
        index = {}
    checksum = index.get(key)
    if checksum:
        cached = root / checksum
        try:
            if verify_model_dir(cached) == checksum:
                return cached
        except ModelFileError:
            shutil.rmtree(cached, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as folder:
        fetched = fetch(Path(folder))
        checksum = verify_model_dir(fetched)
        target = root / checksum
        if not target.is_dir():
            os.replace(fetched, target)
    index[key] = checksum
    partial = index_path.with_suffix(".json.partial")
    partial.write_text(json.dumps(index, indent=1, sort_keys=True), "utf-8")
    os.replace(partial, index_path)
    return target


def _first_line(error: BaseException) -> str:
    from screening.intake import library_message

    return library_message(error)
