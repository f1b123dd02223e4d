"""The model on every worker: shipped as Spark ships files, its checksums verified there, loaded once per worker.

The driver copies the model directory under a name made of its checksum and hands
it to ``SparkContext.addFile`` (Spark copies it to every executor, as it does for
``--files``). A Python worker finds its copy with ``SparkFiles.get``, loads it with
the library's own loader, which verifies every file against the manifest, and
checks that the manifest is the one the driver loaded. The loaded model stays in
the worker process (Spark reuses its Python workers), so each worker loads it once.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screening.spark import _session  # noqa: F401  (first: PySpark, or the one clear message)
from pyspark import SparkFiles

from screening.registry import ModelFileError
from screening.scoring import ScreeningModel, load_model


@dataclass(frozen=True)
class ShippedModel:
    """How a worker finds the model the driver shipped: its name among Spark's files and its checksum."""

    name: str
    checksum: str
    version: str


#: Models shipped by this driver: (Spark application, checksum) -> the staged copy.
_SHIPPED: dict[tuple[str, str], Path] = {}
#: Models loaded by this worker process, by checksum.
_LOADED: dict[str, ScreeningModel] = {}


@functools.cache
def _staging_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="screening-spark-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def ship_model(spark: Any, model: ScreeningModel) -> ShippedModel:
    """Hand a loaded model's directory to Spark for its executors (once per application and model)."""
    name = f"screening-model-{model.checksum[:16]}"
    context = spark.sparkContext
    key = (context.applicationId, model.checksum)
    if key not in _SHIPPED:
        staged = _staging_root() / context.applicationId / name
        if not staged.exists():
            shutil.copytree(model.path, staged)
        context.addFile(str(staged), recursive=True)
        _SHIPPED[key] = staged
    return ShippedModel(name=name, checksum=model.checksum, version=model.version)


def worker_model(shipped: ShippedModel) -> ScreeningModel:
    """The shipped model in this worker: loaded (and its checksums verified) on first use, then kept.

    Raises
    ------
    screening.registry.ModelFileError
        A file of the worker's copy does not match the manifest, or the manifest is
        not the one the driver loaded.
    """
    model = _LOADED.get(shipped.checksum)
    if model is None:
        path = Path(SparkFiles.get(shipped.name))
        model = load_model(path, single_forms=False)  # verifies every file against MANIFEST.json
        if model.checksum != shipped.checksum:
            raise ModelFileError(f"the model copy on this Spark worker ({shipped.name}) has manifest "
                                 f"{model.checksum[:12]}, not the driver's {shipped.checksum[:12]}")
        _LOADED[shipped.checksum] = model
    return model
