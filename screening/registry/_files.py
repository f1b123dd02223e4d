"""Model directories: self-contained, checksummed, and never unpickled.

A model directory holds::

    model.skops      the fitted RiskModel, in skops' format (no pickle)
    scorer.json      what scoring reads of it, as plain data (additive family only;
                     ``screening.models.freeze_scorer``): a batch scores without scikit-learn
    metadata.json    version, horizons, library versions, training summary, drift reference, ...
    model_card.md    the model card (TRIPOD+AI headings)
    plots/*.png      figures the card shows
    MANIFEST.json    SHA-256 of every other file

Loading verifies the manifest first (a changed, swapped, truncated, missing or extra
file is refused), then loads ``model.skops`` with :data:`TRUSTED_TYPES`, the trust
list kept here in code: skops reads nothing else, and MLflow's own trust list
(stored inside the model) is never consulted. Loaded only to score
(``for_scoring=True``), a directory with ``scorer.json`` gives the scorer instead,
read as JSON: neither skops nor scikit-learn is imported. The checksums catch damage and
swapped files; they are not a signature against someone who can rewrite the whole
directory (see the README's security notes).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from screening._io import file_sha256

MODEL_FILE = "model.skops"
SCORER_FILE = "scorer.json"
METADATA_FILE = "metadata.json"
MANIFEST_FILE = "MANIFEST.json"
FORMAT_VERSION = 1
#: Libraries whose versions are recorded with a model and compared on load.
TRACKED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "skops", "screening")
#: Libraries whose major.minor version must match for a model to load at all:
#: their fitted objects' internals change between minor releases.
STRICT_LIBRARIES = ("scikit-learn", "skops")

#: Types a model file may contain beyond skops' defaults (numpy arrays, builtins,
#: scikit-learn's common estimators). Reviewed by hand: each is our own class or a
#: scikit-learn internal of the boosted model; ``tests/registry`` fails when a model
#: needs a type that is not here, so the list is changed on purpose, never silently.
TRUSTED_TYPES: tuple[str, ...] = (
    # our own classes
    "screening.features._basis.AdditiveBasis",
    "screening.features._encoder.FormEncoder",
    "screening.models._calibration.HazardCalibrator",
    "screening.models._hazard.AdditiveHazard",
    "screening.models._hazard.BoostedHazard",
    "screening.models._risk_model.RiskModel",
    # the boosted family's fitted HistGradientBoostingRegressor and its internals
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # ... whose categorical inputs go through a fitted preprocessor
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    # HistGradientBoosting keeps functools.partial(check_array, ...) as a fitted
    # attribute; skops loads a partial only of functions that are trusted themselves.
    "functools.partial",
    "sklearn.utils.validation.check_array",
)


def _skops_io() -> Any:
    """``skops.io``, imported without its default trust list of every scikit-learn estimator.

    On import, skops lists ``sklearn.utils.all_estimators()``, which imports every
    module of scikit-learn (about 40 % of loading a model, none of it used: our
    models hold the few types of :data:`TRUSTED_TYPES`, which is passed on every load
    and every check). The listing is skipped while skops imports; a process that
    imported skops before keeps skops' full default list, which only trusts more
    scikit-learn estimators a model of ours never holds.
    """
    import sys

    if "skops.io" not in sys.modules:
        import sklearn.utils

        listing = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: []
        try:
            import skops.io  # noqa: F401
        finally:
            sklearn.utils.all_estimators = listing
    return sys.modules["skops.io"]


class ModelFileError(Exception):
    """A model directory that cannot be trusted or read; the message says which file and why."""


class ModelVersionWarning(UserWarning):
    """The model was trained with other library versions than the ones installed."""


@dataclass(frozen=True)
class LoadedModel:
    """A fitted model with what was stored beside it.

    Attributes
    ----------
    estimator : RiskModel
        The fitted risk model.
    metadata : dict
        Contents of ``metadata.json``.
    path : pathlib.Path
        The model directory.
    checksum : str
        SHA-256 of the manifest: one fingerprint for the whole directory.
    """

    estimator: Any
    metadata: dict[str, Any]
    path: Path
    checksum: str

    @property
    def version(self) -> str:
        """The model's version label."""
        return str(self.metadata.get("version", "unknown"))




def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on."""
    versions = {}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _files_under(directory: Path) -> list[str]:
    return sorted(
        str(path.relative_to(directory)).replace(os.sep, "/")
        for path in directory.rglob("*")
        if path.is_file() and path.name != MANIFEST_FILE
    )


def write_manifest(directory: Path) -> str:
    """Checksum every file of a model directory into its manifest; returns the manifest's hash."""
    manifest = {
        "format": FORMAT_VERSION,
        "files": {name: file_sha256(directory / name) for name in _files_under(directory)},
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
    return file_sha256(directory / MANIFEST_FILE)


def save_model_dir(
    estimator: Any,
    directory: str | os.PathLike[str],
    *,
    metadata: dict[str, Any],
    extra_files: dict[str, bytes | str] | None = None,
) -> Path:
    """Write a self-contained model directory (replacing one that is there).

    Parameters
    ----------
    estimator : RiskModel
        The fitted model.
    directory : path-like
        Where to write; written beside it first and moved into place whole.
    metadata : dict
        JSON-serialisable facts about the model (version, horizons, summary, ...);
        library versions are added.
    extra_files : dict, optional
        Relative path -> content (bytes or text), for the model card and plots.

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    sio = _skops_io()

    target = Path(directory)
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        sio.dump(estimator, staging / MODEL_FILE)
        from screening.models import freeze_scorer

        scorer = freeze_scorer(estimator)
        if scorer is not None:
            (staging / SCORER_FILE).write_text(scorer, "utf-8")
        untrusted = set(sio.get_untrusted_types(file=staging / MODEL_FILE)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ModelFileError(
                f"the model holds types not on the trust list ({', '.join(sorted(untrusted))}); "
                "review them and add them to screening.registry._files.TRUSTED_TYPES"
            )
        full_metadata = {"format": FORMAT_VERSION, **metadata, "library_versions": library_versions()}
        (staging / METADATA_FILE).write_text(json.dumps(full_metadata, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
        for name, content in (extra_files or {}).items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, "utf-8")
        write_manifest(staging)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def verify_model_dir(directory: str | os.PathLike[str]) -> str:
    """Check a model directory against its manifest; returns the manifest's SHA-256.

    Raises
    ------
    ModelFileError
        The directory, its manifest or a file is missing, changed or unexpected.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: not a model directory")
    manifest_path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
        expected = dict(manifest["files"])
    except FileNotFoundError:
        raise ModelFileError(f"{directory}: no {MANIFEST_FILE}; not a screening model directory") from None
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"{manifest_path}: damaged manifest") from None
    present = set(_files_under(directory))
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected))
    if missing:
        raise ModelFileError(f"{directory}: file missing from the model: {', '.join(missing)}")
    if extra:
        raise ModelFileError(f"{directory}: files not in the manifest (added or swapped in?): {', '.join(extra)}")
    for name, checksum in expected.items():
        if file_sha256(directory / name) != checksum:
            raise ModelFileError(f"{directory}: {name} was changed after the model was saved (checksum mismatch)")
    if MODEL_FILE not in expected or METADATA_FILE not in expected:
        raise ModelFileError(f"{directory}: the manifest does not cover {MODEL_FILE} and {METADATA_FILE}")
    return file_sha256(manifest_path)


def _check_versions(recorded: dict[str, str], directory: Path) -> None:
    installed = library_versions()
    different = {name: (recorded.get(name), installed.get(name)) for name in TRACKED_LIBRARIES
                 if recorded.get(name) and recorded.get(name) != installed.get(name)}
    if not different:
        return

    def minor(version: str | None) -> tuple[str, ...]:
        return tuple((version or "").split(".")[:2])

    strict = [name for name in STRICT_LIBRARIES if name in different and minor(different[name][0]) != minor(different[name][1])]
    described = ", ".join(f"{name} {was} (now {now})" for name, (was, now) in different.items())
    if strict:
        raise ModelFileError(f"{directory}: trained with {described}; {', '.join(strict)} must match to the minor "
                             "version. Retrain the model or install the versions it was trained with")
    warnings.warn(f"model {directory.name} was trained with {described}; risks may differ slightly", ModelVersionWarning, stacklevel=3)


def load_model_dir(directory: str | os.PathLike[str], *, for_scoring: bool = False) -> LoadedModel:
    """Load a model directory after verifying its checksums and library versions.

    Parameters
    ----------
    directory : path-like
    for_scoring : bool, default False
        Give the model's scorer (``scorer.json``, a
        :class:`~screening.models.RiskScoring`: predicts and explains exactly as the
        fitted model, cannot be refitted) where the directory has one, read without
        skops or scikit-learn; else, and by default, the fitted ``RiskModel``.

    Raises
    ------
    ModelFileError
        Anything wrong with the directory (see :func:`verify_model_dir`), an
        incompatible library version, or a type not on the trust list.

    Warns
    -----
    ModelVersionWarning
        A library's version differs in a way that does not break loading.
    """
    directory = Path(directory)
    checksum = verify_model_dir(directory)
    metadata = json.loads((directory / METADATA_FILE).read_text("utf-8"))
    _check_versions(metadata.get("library_versions", {}), directory)
    scorer_path = directory / SCORER_FILE
    if for_scoring and scorer_path.is_file():
        from screening.models import thaw_scorer

        try:
            scorer = thaw_scorer(scorer_path.read_bytes())
        except ValueError as error:
            raise ModelFileError(f"{scorer_path}: cannot be read ({error})") from None
        return LoadedModel(estimator=scorer, metadata=metadata, path=directory, checksum=checksum)
    sio = _skops_io()
    model_path = directory / MODEL_FILE
    try:
        untrusted = set(sio.get_untrusted_types(file=model_path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ModelFileError(f"{model_path}: holds types not on the trust list: {', '.join(sorted(untrusted))}")
        estimator = sio.load(model_path, trusted=list(TRUSTED_TYPES))
    except ModelFileError:
        raise
    except Exception as error:  # skops raises several types for damaged files
        raise ModelFileError(f"{model_path}: cannot be read ({type(error).__name__}: {str(error)[:200]})") from None
    return LoadedModel(estimator=estimator, metadata=metadata, path=directory, checksum=checksum)
