"""``screening spark-score``: files or a folder of forms in, the ranked list and refused rows out as Parquet.

CSV and ``.xlsx`` files are read by the library's own reader
(:class:`screening.intake.ChunkedTable`: every dialect, encoding and malformed
record as ``screening score`` reads them) inside Spark tasks, one file per task,
then spread over the cluster; Parquet is read by Spark itself (split across
tasks), its typed columns turned into text by the reader's own rule. Rows are
numbered per file as the reader numbers them. The output folder gets ``ranked/``
and ``refused/`` (Parquet) and ``summary.json``, moved into place together when
everything has been computed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screening.spark import _session  # noqa: F401  (first: PySpark, or the one clear message)
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from screening.intake import DEFAULT_CHUNK_ROWS, ChunkedTable, FileError, Format, Language
from screening.scoring import ScreeningModel
from screening.spark import _partitions as parts
from screening.spark._score import SparkScore, score_frame, spark_schema
from screening.spark._session import session, task_errors

#: What an output folder holds.
RANKED_FOLDER, REFUSED_FOLDER, SUMMARY_FILE = "ranked", "refused", "summary.json"


@dataclass
class SparkFileScore:
    """What :func:`score_files` did.

    Attributes
    ----------
    summary : dict
        The run's summary (:attr:`SparkScore.summary`).
    dialect : dict
        How the input was read (format, encoding, separator of the first file; ``files``).
    written : dict of str to str
        ``output`` (the ranked list's folder), ``rejects`` (the refused rows' folder), ``summary``.
    seconds : float
    """

    summary: dict[str, Any]
    dialect: dict[str, str]
    written: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Forms:
    frame: DataFrame
    header: list[str]
    cells: str
    dialect: dict[str, str]
    with_files: bool


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _input_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(child for child in path.iterdir()
                       if child.is_file() and not child.name.startswith((".", "_")) and child.suffix != ".crc")
        if not files:
            raise FileError("empty_folder", path=str(path))
        return files
    if not path.exists():
        raise FileError("no_such_file", path=str(path))
    return [path]


def read_forms(
    spark: Any,
    path: str | os.PathLike[str],
    *,
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
    partitions: int | None = None,
    chunk_rows: int | None = None,
) -> _Forms:
    """A file or folder of forms as the pipeline's DataFrame (see the module docstring)."""
    text = os.fspath(path)
    if _is_remote(text):  # a Parquet dataset Spark reads from its own storage (HDFS, S3, ...)
        raw = spark.read.parquet(text)
        header = list(raw.columns)
        dialect = {"format": "parquet"}
        return _parquet_forms(raw, header, dialect, partitions, with_files=True)
    source = Path(text)
    files = _input_files(source)
    tables = [ChunkedTable(file, chunk_rows=None, file_format=file_format, separator=separator, encoding=encoding)
              for file in files]
    first = tables[0]
    for file, table in zip(files[1:], tables[1:]):
        if (table.format == "parquet") != (first.format == "parquet"):
            raise FileError("mixed_formats", first=files[0].name, other=file.name)
        if list(table.header) != list(first.header):
            raise FileError("different_headers", first=files[0].name, other=file.name)
    header = [str(name) for name in first.header]
    dialect = dict(first.dialect)
    if len(files) > 1:
        dialect["files"] = str(len(files))
    with_files = source.is_dir()
    if first.format == "parquet":
        raw = spark.read.parquet(*(str(file) for file in files))
        return _parquet_forms(raw, header, dialect, partitions, with_files=with_files)
    job = parts.ReadJob(paths=tuple(str(file) for file in files), names=tuple(file.name for file in files),
                        width=len(header), chunk_rows=int(chunk_rows or DEFAULT_CHUNK_ROWS),
                        file_format=file_format, separator=separator, encoding=encoding)
    frame = spark.range(0, len(files), numPartitions=len(files)).mapInArrow(
        functools.partial(parts.read_files, job), spark_schema(parts.read_schema(len(header))))
    frame = frame.repartition(partitions or max(spark.sparkContext.defaultParallelism, len(files)))
    if not with_files:
        frame = frame.drop(parts.FILE)
    # Read once: the ids and the scoring both go over the forms.
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    return _Forms(frame=frame, header=header, cells="memory", dialect=dialect, with_files=with_files)


def _parquet_forms(raw: DataFrame, header: list[str], dialect: dict[str, str], partitions: int | None, *,
                   with_files: bool) -> _Forms:
    columns = [F.col(f"`{name}`").alias(parts.form_column(i)) for i, name in enumerate(header)]
    columns.append((F.col("_metadata.row_index") + 2).alias(parts.ROW))  # the reader's numbering: header = row 1
    if with_files:
        columns.append(F.col("_metadata.file_name").alias(parts.FILE))
    frame = raw.select(*columns)
    if partitions:
        frame = frame.repartition(partitions)
    return _Forms(frame=frame, header=header, cells="parquet", dialect=dialect, with_files=with_files)


def score_files(
    input_path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | ScreeningModel,
    output: str | os.PathLike[str],
    capacity: int | None = None,
    per: str | None = None,
    language: Language = "da",
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
    partitions: int | None = None,
    chunk_rows: int | None = None,
    spark: Any = None,
) -> SparkFileScore:
    """Score a file or a folder of forms with Spark: what ``screening spark-score`` runs.

    Parameters
    ----------
    input_path : str or path-like
        A forms file (CSV in any dialect ``screening score`` reads, ``.xlsx``, Parquet)
        or a folder of such files with the same header (all Parquet, or none);
        a ``scheme://`` path is a Parquet dataset Spark reads itself.
    model : str, path-like or ScreeningModel
        A model directory or MLflow URI, or a loaded model.
    output : str or path-like
        A folder: ``ranked/`` and ``refused/`` (Parquet) and ``summary.json`` are
        written in it (replacing those of an earlier run). Refused rows have a
        ``file`` column when the input is a folder.
    capacity, per, language
        As for :func:`screening.spark.score`.
    file_format, separator, encoding : optional
        Override what is detected in the input, as for ``screening score``.
    partitions : int, optional
        Spread the forms over this many partitions before scoring (CSV default: the
        cluster's default parallelism, at least one per file; Parquet: as Spark reads it).
    chunk_rows : int, optional
        Forms a task reads and scores at a time (default 250,000).
    spark : pyspark.sql.SparkSession, optional
        The session to use (default :func:`screening.spark.session`).

    Returns
    -------
    SparkFileScore

    Raises
    ------
    screening.intake.FileError
        A problem with an input file as a whole, or the output folder; nothing is written.
    """
    started = time.perf_counter()
    spark = spark or session(app_name="screening spark-score")
    target = os.fspath(output)
    if not _is_remote(target):
        _check_output(Path(target), os.fspath(input_path))
    with task_errors():
        forms = read_forms(spark, input_path, file_format=file_format, separator=separator, encoding=encoding,
                           partitions=partitions, chunk_rows=chunk_rows)
        result = score_frame(forms.frame, header=forms.header, model=model, capacity=capacity, per=per,
                             language=language, cells=forms.cells, numbered=True, with_files=forms.with_files,
                             chunk_rows=chunk_rows)
        try:
            written = _write(result, target)
        finally:
            result.unpersist()
            forms.frame.unpersist()
    return SparkFileScore(summary=result.summary, dialect=forms.dialect, written=written,
                          seconds=time.perf_counter() - started)


def _check_output(folder: Path, input_path: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise FileError("output_is_input" if folder.resolve() == Path(input_path).resolve() else "output_exists",
                        option="output", path=str(folder))
    if folder.is_dir():
        ours = {RANKED_FOLDER, REFUSED_FOLDER, SUMMARY_FILE}
        others = [child.name for child in folder.iterdir() if child.name not in ours and not child.name.startswith(".")]
        if others:
            raise FileError("output_exists", path=str(folder))


def _write(result: SparkScore, target: str) -> dict[str, str]:
    """Write the ranked list and the refused rows; locally into a staging folder first, moved into place together."""
    clock = time.perf_counter()

    def summary_text() -> str:  # written last, with the time the writing took
        result.summary.setdefault("seconds_by_step", {})["write"] = round(time.perf_counter() - clock, 2)
        return json.dumps(result.summary, indent=2, ensure_ascii=False, default=str) + "\n"

    if _is_remote(target):
        result.ranked.write.mode("overwrite").parquet(f"{target.rstrip('/')}/{RANKED_FOLDER}")
        result.refused.write.mode("overwrite").parquet(f"{target.rstrip('/')}/{REFUSED_FOLDER}")
        summary_text()
        return {"output": f"{target}/{RANKED_FOLDER}", "rejects": f"{target}/{REFUSED_FOLDER}"}
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".staging-{uuid.uuid4().hex[:12]}"
    try:
        result.ranked.write.parquet(str(staging / RANKED_FOLDER))
        result.refused.write.parquet(str(staging / REFUSED_FOLDER))
        (staging / SUMMARY_FILE).write_text(summary_text(), encoding="utf-8")
        for name in (RANKED_FOLDER, REFUSED_FOLDER, SUMMARY_FILE):
            old = folder / name
            if old.is_dir():
                shutil.rmtree(old)
            elif old.exists():
                old.unlink()
            (staging / name).rename(old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"output": str(folder / RANKED_FOLDER), "rejects": str(folder / REFUSED_FOLDER),
            "summary": str(folder / SUMMARY_FILE)}
