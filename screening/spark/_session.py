"""PySpark itself: the one clear message when it is missing, a session for the command, task errors in one line.

Every module of ``screening.spark`` imports PySpark through this one, so that a
missing extra says how to install it instead of failing deep in an import.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

try:
    import pyspark  # noqa: F401
    from pyspark.errors import PythonException
    from pyspark.sql import SparkSession
    from py4j.protocol import Py4JJavaError
except ImportError:  # pragma: no cover - the test set-up installs the extra
    raise ImportError("screening.spark needs PySpark and a Java 17 runtime: pip install 'screening[spark]'") from None

from screening.intake import FileError, library_message
from screening.registry import ModelFileError

# PySpark 4.3 warns that it "does not yet fully support pandas >= 3.0.0". That is about
# pandas-on-Spark and Spark's own pandas conversions; this engine hands Spark only Arrow
# (mapInArrow, Arrow tables), so the warning says nothing about it.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

#: What a task's error starts with when it carries a screening error for the driver to raise again.
ERROR_MARK = "screening-error:"
_MARKED = re.compile(re.escape(ERROR_MARK) + r"\s*(\{.*\})\s*$", re.MULTILINE)


class SparkTaskError(RuntimeError):
    """A Spark task failed for a reason that is not a problem with an input file or the model (one line)."""


def marked_error(error: Exception) -> RuntimeError:
    """A worker's error as a RuntimeError whose message carries it to the driver (see :func:`task_errors`)."""
    if isinstance(error, FileError):
        facts = {"type": "FileError", "kind": error.kind, "params": error.params}
    else:
        facts = {"type": type(error).__name__, "message": library_message(error)}
    return RuntimeError(ERROR_MARK + " " + json.dumps(facts, default=str, ensure_ascii=True))


@contextlib.contextmanager
def task_errors() -> Iterator[None]:
    """Raise a failed task's :class:`FileError` or :class:`ModelFileError` again on the driver, anything else
    as :class:`SparkTaskError`: one line, no worker traceback, no CPR-shaped number."""
    try:
        yield
    except PythonException as error:
        text = str(error)
        found = _MARKED.findall(text)
        if found:
            facts = json.loads(found[-1])
            if facts.get("type") == "FileError":
                raise FileError.rebuilt(facts["kind"], facts.get("params") or {}) from None
            if facts.get("type") == "ModelFileError":
                raise ModelFileError(facts.get("message", "")) from None
            raise SparkTaskError(f"a Spark task failed: {facts.get('type')}: {facts.get('message', '')}") from None
        last = [line for line in text.strip().splitlines() if line.strip()]
        raise SparkTaskError(f"a Spark task failed: {library_message(last[-1] if last else type(error).__name__)}") \
            from None
    except Py4JJavaError as error:  # Spark itself failed (a lost executor, a file it could not fetch, ...)
        lines = [line.strip() for line in str(error).splitlines() if line.strip() and not line.strip().startswith("at ")]
        causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
        reason = causes[-1] if causes else (lines[1] if len(lines) > 1 else type(error).__name__)
        raise SparkTaskError(f"a Spark job failed: {library_message(reason.lstrip(': '))[:400]}") from None


def session(*, master: str | None = None, app_name: str = "screening", config: dict[str, Any] | None = None
            ) -> SparkSession:
    """The Spark session to run in: the one ``spark-submit`` (or the caller) started, else a local one.

    A new local session runs Python workers with this interpreter (so they import
    this installation of ``screening``), shows no progress bar, and logs warnings only.

    Parameters
    ----------
    master : str, optional
        Spark master for a new session (default ``local[*]``); ignored when a session runs already
        or ``spark-submit`` chose one.
    app_name : str, default "screening"
    config : dict, optional
        More settings for a new session (``spark.driver.memory``, ...).

    Returns
    -------
    pyspark.sql.SparkSession
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Python workers must import this installation: run them with this interpreter unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM and set the master
    if not submitted:
        builder = builder.master(master or "local[*]")
    settings = {"spark.ui.showConsoleProgress": "false", "spark.sql.execution.arrow.pyspark.enabled": "true"}
    settings.update(config or {})
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
