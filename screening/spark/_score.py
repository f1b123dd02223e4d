"""The weekly batch on a Spark DataFrame: validated and scored per partition, ranked over all of it.

:func:`score` runs these steps (each a Spark job; what is reused is cached and
released as soon as it is not needed):

1. **Ids.** The ``case_id`` column alone goes through Python, each id as
   validation compares ids (:func:`screening.intake.comparable_case_ids`, in
   ``mapInArrow``); a Spark aggregation (``groupBy`` and ``count``) finds the ids
   repeated anywhere in the input, and they are broadcast to every task (they are
   few: a form system hands out unique ids).
2. **Scoring.** Each partition runs the library's own primitive,
   :func:`screening.scoring.score_chunk`, on chunks of its forms, given the
   repeated ids: it validates, refuses (every copy of a repeated id, as in one
   file), scores and explains exactly as the batch does. The forms of a
   DataFrame are numbered as :meth:`ScreeningModel.score` numbers a table
   (position + 2): by position in their partition as scored, plus the forms of
   the partitions before it, counted in the same pass.
   Each chunk also hands on its counts (:class:`screening.scoring.Totals`), which
   the driver adds up into the summary.
3. **Ranks.** Without ``per``: a range-partitioned sort in the working order
   (:func:`screening.scoring.sort_keys`: queue, risk, the tie-breaking risks,
   ``case_id`` last, so the order is total; a partition per :data:`SORT_ROWS`
   forms), the forms of each queue counted per
   partition, and each partition ranked by :class:`screening.scoring.Ranker` from
   the forms before it: no step funnels all forms into one task. With
   ``per="jobcenter"``: ``row_number`` over a window partitioned by jobcenter and
   queue, in the same order. Capacity marks are the Ranker's (the first
   ``capacity`` of each early queue).
"""

from __future__ import annotations

import functools
import os
import pickle
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from screening.spark import _session  # noqa: F401  (first: PySpark, or the one clear message)
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from screening.intake import (
    DEFAULT_CHUNK_ROWS,
    LANGUAGES,
    TEXT_DTYPE,
    FileError,
    Language,
    RawTable,
    validate_table,
)
from screening.scoring import (
    ScreeningModel,
    Totals,
    check_options,
    chunk_schema,
    has_jobcenter,
    load_model,
    ranked_table,
    sort_keys,
)
from screening.spark import _partitions as parts
from screening.spark._session import task_errors
from screening.spark._ship import ship_model

@dataclass
class SparkScore:
    """What :func:`score` gives: the ranked list and the refused rows as Spark DataFrames, and the counts.

    Attributes
    ----------
    ranked : pyspark.sql.DataFrame
        The scored forms in working order, with the columns and values of
        :attr:`screening.ScoreResult.ranked`: ``rank``, ``case_id``, ``jobcenter``
        (when the forms have it), ``queue``, ``horizon``, ``risk``, ``risk_8``,
        ``risk_22``, ``risk_52``, ``priority``, ``contact_this_week``, ``reasons``,
        ``questions``, ``model_version``. Its partitions hold consecutive ranges of
        the order, so ``collect``, ``toArrow`` and a Parquet folder keep it.
    refused : pyspark.sql.DataFrame
        One line per reason a form was refused: ``row, case_id, column, value,
        reason, kind`` (values redacted), in the order of ``row``; with a ``file``
        column first when the forms came from several files.
    summary : dict
        The library's summary (:attr:`screening.ScoreResult.summary`): ``rows_read``,
        ``scored``, ``refused``, ``refused_by_reason``, ``priority_counts``,
        ``queue_counts``, ``contacts``, ``model_version``, ``model_checksum``,
        ``drift_warnings``, ``seconds``, ...; ``seconds_by_step`` for the Spark jobs.
    drift : pandas.DataFrame or None
        Population stability of each input against the training data, as
        :attr:`screening.ScoreResult.drift`.
    """

    ranked: DataFrame
    refused: DataFrame
    summary: dict[str, Any]
    drift: pd.DataFrame | None = None
    _cached: list[Any] = field(default_factory=list, repr=False)  # DataFrames and the broadcast ids

    def unpersist(self) -> None:
        """Release the scored forms Spark keeps cached for ``ranked`` and ``refused`` (they are computed again if
        used after this)."""
        for kept in self._cached:
            kept.unpersist()
        self._cached.clear()


def score(
    forms: DataFrame,
    *,
    model: str | os.PathLike[str] | ScreeningModel,
    capacity: int | None = None,
    per: str | None = None,
    language: Language = "da",
    row_numbers: str | None = None,
    chunk_rows: int | None = None,
) -> SparkScore:
    """Validate and score a Spark DataFrame of forms, ranked for the consultant, as the library does.

    The same forms give the same ranked list, refused rows and summary as
    :meth:`screening.ScreeningModel.score` on them as a pandas table, whatever the
    partitioning (see the module's steps). The scoring runs when this is called;
    the scored forms stay cached for ``ranked`` and ``refused`` until
    :meth:`SparkScore.unpersist`.

    Parameters
    ----------
    forms : pyspark.sql.DataFrame
        One row per form, columns named as in the intake-form contract (any case,
        any order, others ignored), cells as text or typed (numbers, booleans, dates).
    model : str, path-like or ScreeningModel
        A model directory or MLflow URI (``models:/NAME@champion``), or a loaded model.
        Its directory is shipped to the executors with ``SparkContext.addFile`` and
        each Python worker loads it once, verifying its checksums.
    capacity : int, optional
        Mark the first ``capacity`` forms of the early queue (per jobcenter with
        ``per``) as ``contact_this_week``.
    per : {"jobcenter"}, optional
        Rank within each jobcenter.
    language : {"da", "en"}, default "da"
        Language of reasons and refusals.
    row_numbers : str, optional
        A column holding each form's row number (its row in the file it came from),
        shown in ``refused``; by default a form's position in the DataFrame + 2, as
        :meth:`~screening.ScreeningModel.score` numbers a table.
    chunk_rows : int, optional
        Forms a task scores at a time (default 250,000): sets the memory of a Python
        worker, never the output.

    Returns
    -------
    SparkScore

    Raises
    ------
    screening.intake.FileError
        The forms lack a required column, or name one twice.
    screening.registry.ModelFileError
        The model's files do not match its manifest (on the driver or a worker).
    ValueError
        An option the batch does not know.
    """
    header = [name for name in forms.columns if name != row_numbers]
    frame = forms.select(*(F.col(f"`{name}`").alias(parts.form_column(i)) for i, name in enumerate(header)),
                         *([F.col(f"`{row_numbers}`").cast("long").alias(parts.ROW)] if row_numbers else []))
    return score_frame(frame, header=header, model=model, capacity=capacity, per=per, language=language,
                       cells="memory", numbered=row_numbers is not None, with_files=False, chunk_rows=chunk_rows)


def _spark_type(kind: pa.DataType) -> T.DataType:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return T.StringType()
    if pa.types.is_int64(kind):
        return T.LongType()
    if pa.types.is_int32(kind):
        return T.IntegerType()
    if pa.types.is_float64(kind):
        return T.DoubleType()
    if pa.types.is_boolean(kind):
        return T.BooleanType()
    if pa.types.is_binary(kind):
        return T.BinaryType()
    raise TypeError(f"no Spark type for {kind}")


def spark_schema(schema: pa.Schema) -> T.StructType:
    """An Arrow schema of the pipeline as a Spark schema."""
    return T.StructType([T.StructField(f.name, _spark_type(f.type), nullable=True) for f in schema])


def check_header(header: list[str]) -> None:
    """Refuse, on the driver, forms whose header the contract refuses (a missing or doubled column)."""
    empty = pd.DataFrame({parts.form_column(i): pd.Series([], dtype=TEXT_DTYPE) for i in range(len(header))})
    empty.columns = pd.Index(header, dtype=object)
    validate_table(RawTable(frame=empty, row_numbers=np.zeros(0, dtype=np.int64)))


def _load(model: str | os.PathLike[str] | ScreeningModel) -> ScreeningModel:
    return model if isinstance(model, ScreeningModel) else load_model(model, single_forms=False)


#: Rows per partition of a sorted result (the ranked list, the refused rows).
SORT_ROWS = 500_000


def _partitions_for(spark: Any, rows: int, *, least: int | None = None) -> int:
    """Partitions for ``rows`` sorted rows: one per :data:`SORT_ROWS`, at least one per core (or ``least``)."""
    floor = spark.sparkContext.defaultParallelism if least is None else least
    return max(floor, -(-rows // SORT_ROWS))


def _order(keys: list[tuple[str, str, str]]) -> list[Any]:
    """The working order's sort keys as Spark columns (nulls last in both directions, as Arrow's ``at_end``)."""
    return [F.col(name).asc_nulls_last() if order == "ascending" else F.col(name).desc_nulls_last()
            for name, order, _ in keys]


def score_frame(
    frame: DataFrame,
    *,
    header: list[str],
    model: str | os.PathLike[str] | ScreeningModel,
    capacity: int | None,
    per: str | None,
    language: Language,
    cells: str,
    numbered: bool,
    with_files: bool,
    chunk_rows: int | None,
) -> SparkScore:
    """:func:`score` on forms in the pipeline's columns (``f0``, ... with ``header`` their names; ``_row`` when
    ``numbered``, ``_file`` with files, ``_malformed`` from a reader)."""
    started = time.perf_counter()
    check_options(capacity=capacity, per=per)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    chunk_rows = int(chunk_rows or DEFAULT_CHUNK_ROWS)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be 1 or more, got {chunk_rows}")
    check_header(header)
    with_jobcenter = has_jobcenter(header)
    if per == "jobcenter" and not with_jobcenter:
        raise FileError("no_jobcenter_column")
    loaded = _load(model)
    spark = frame.sparkSession
    shipped = ship_model(spark, loaded)
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    # 1. Ids as validation compares them (from the case_id column alone); the repeated ones found by an
    # aggregation over all forms and sent to every task.
    case_id = next(i for i, name in enumerate(header) if str(name).strip().casefold() == "case_id")
    ids = parts.IdJob(header=tuple(header), case_id_position=case_id, cells=cells)
    comparable = frame.select(parts.form_column(case_id)).mapInArrow(
        functools.partial(parts.case_ids, ids), T.StructType([T.StructField(parts.CID, T.StringType(), True)]))
    with task_errors():
        repeated = [row[0] for row in comparable.where(F.col(parts.CID).isNotNull()).groupBy(parts.CID).count()
                    .where(F.col("count") > 1).select(parts.CID).collect()]
    steps["ids"] = time.perf_counter() - clock

    # 2. Every partition scored by the library's primitive; the refused rows and the counts set apart.
    clock = time.perf_counter()
    repeated_ids = spark.sparkContext.broadcast(sorted(repeated))
    run_schema = chunk_schema(loaded.horizons, with_jobcenter)
    schema = parts.scored_schema(run_schema, with_files=with_files)
    job = parts.ScoreJob(model=shipped, header=tuple(header), cells=cells, language=language,
                         with_jobcenter=with_jobcenter, with_files=with_files,
                         repeated=repeated_ids, number_rows=not numbered,
                         chunk_rows=chunk_rows, schema=schema)
    scored = frame.mapInArrow(functools.partial(parts.score_forms, job), spark_schema(schema))
    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
    totals = Totals(reference=loaded.metadata.get("drift_reference") or {})
    partition_rows: dict[int, int] = {}
    with task_errors():
        for counts, rows, partition in (scored.where(F.col(parts.PART) == parts.COUNTS)
                                        .select(parts.TOTALS, "row", parts.PID).collect()):
            totals.add_totals(pickle.loads(counts))  # noqa: S301 - written by this job's own tasks
            partition_rows[partition] = partition_rows.get(partition, 0) + rows
    refused_columns = (["file"] if with_files else []) + [name for name, _ in parts.REFUSED_FIELDS]
    refused = scored.where(F.col(parts.PART) == parts.REFUSED)
    if not numbered:  # position in the partition + the forms of the partitions before it: the DataFrame's order
        before, offsets = 0, []
        for partition in sorted(partition_rows):
            offsets += [F.lit(partition), F.lit(before)]
            before += partition_rows[partition]
        refused = refused.withColumn("row", F.col("row") + F.element_at(F.create_map(*offsets), F.col(parts.PID)))
    refused = refused.select(*refused_columns).persist(StorageLevel.MEMORY_AND_DISK)
    refused_lines = refused.count()
    steps["validate_and_score"] = time.perf_counter() - clock

    # 3. Ranks from a global order, never one task for all forms.
    clock = time.perf_counter()
    keys = sort_keys(loaded.horizons, per)
    forms = scored.where(F.col(parts.PART) == parts.RANKED).select(*run_schema.names)
    # A sort's partitions are set here: Spark may not merge those of a cached result (and 200 small ones cost).
    ranges = _partitions_for(spark, totals.scored)
    if per is not None:
        within = Window.partitionBy("jobcenter", "queue").orderBy(*_order(keys[2:]))
        forms = (forms.repartition(ranges, "jobcenter", "queue")
                 .withColumn(parts.RANK, F.row_number().over(within).cast("long")))
    ordered = forms.repartitionByRange(ranges, *_order(keys)).sortWithinPartitions(*_order(keys))
    if per is None:
        ordered = ordered.withColumn(parts.PID, F.spark_partition_id().cast("long"))
    ordered = ordered.persist(StorageLevel.MEMORY_AND_DISK)
    group = parts.PID if per is None else "jobcenter"
    with task_errors():
        counts = [(row[0], row[1], int(row[2])) for row in ordered.groupBy(group, "queue").count().collect()]
    scored.unpersist()
    offsets_by_queue: dict[tuple[int, str], int] | None = None
    if per is None:
        offsets_by_queue, before = {}, {}
        for partition, queue, count in sorted(counts, key=lambda item: item[0]):
            offsets_by_queue[(int(partition), queue)] = before.get(queue, 0)
            before[queue] = before.get(queue, 0) + count
        early = [sum(count for _, queue, count in counts if queue == parts.EARLY)]
    else:
        early = [count for _, queue, count in counts if queue == parts.EARLY]
    # The Ranker marks the first `capacity` of each early queue (of each jobcenter with `per`).
    totals.contacts = 0 if capacity is None else sum(min(capacity, count) for count in early)
    rank_job = parts.RankJob(run_names=tuple(run_schema.names), per=per, capacity=capacity,
                             version=loaded.version, offsets=offsets_by_queue)
    empty = ranked_table(run_schema.empty_table(), np.zeros(0, dtype=np.int64), None, version=loaded.version)
    ranked = ordered.mapInArrow(functools.partial(parts.rank_sorted, rank_job), spark_schema(empty.schema))
    steps["rank"] = time.perf_counter() - clock

    drift = totals.drift()
    summary = totals.summary(loaded, drift, capacity=capacity, per=per, language=language,
                             seconds=time.perf_counter() - started)
    summary["seconds_by_step"] = {step: round(value, 2) for step, value in steps.items()}
    order = [F.col(name).asc_nulls_first()
             for name in (["file"] if with_files else []) + ["row", "column", "kind", "value", "reason"]]
    refused = refused.repartitionByRange(_partitions_for(spark, refused_lines, least=1), *order)
    return SparkScore(ranked=ranked, refused=refused.sortWithinPartitions(*order), summary=summary, drift=drift,
                      _cached=[ordered, refused, repeated_ids])


