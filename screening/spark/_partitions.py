"""What runs in the Spark tasks: read a file, find ids, score a partition, rank a sorted one.

Each function takes the job's settings (a small frozen dataclass, pickled with the
function) and an iterator of Arrow record batches, the rows of one partition in
order, and yields record batches (``mapInArrow``). Scoring is the library's own
primitive, :func:`screening.scoring.score_chunk`, run on chunks of up to
``chunk_rows`` forms of the partition; ranks and capacity marks come from
:class:`screening.scoring.Ranker`, the ranked list's columns from
:func:`screening.scoring.ranked_table`.

Column names inside the pipeline: the forms' own columns by position (``f0``,
``f1``, ...; their real names, whatever they are, travel in the job as ``header``)
and the pipeline's own, which start with ``_``.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.intake import (
    TEXT_DTYPE,
    ChunkedTable,
    FileError,
    RawTable,
    comparable_case_ids,
    parquet_frame,
    text_frame,
)
from screening.registry import ModelFileError
from screening.scoring import QUEUES, Ranker, Totals, ranked_table, score_chunk
from screening.spark._session import marked_error
from screening.spark._ship import ShippedModel, worker_model

#: The pipeline's own columns.
ROW, FILE, MALFORMED = "_row", "_file", "_malformed"  # a form's row in its file, the file, a record not split
CID, PID = "_cid", "_pid"  # the id as validation compares it; a sorted row's partition
PART, TOTALS, RANK = "_part", "_totals", "_rank"  # what a scored row is; a chunk's counts; a window's rank
#: What a row of the scored output is (``_part``).
RANKED, REFUSED, COUNTS = "ranked", "refused", "totals"
EARLY, LATE = QUEUES
#: Rows per record batch of the scored output.
OUTPUT_ROWS = 65_536
#: Columns of a refused row, as the library's ``Validation.refused`` has them (``file`` for a folder's forms).
REFUSED_FIELDS = (("row", pa.int64()), ("case_id", pa.string()), ("column", pa.string()), ("value", pa.string()),
                  ("reason", pa.string()), ("kind", pa.string()))


def form_column(position: int) -> str:
    """The pipeline's name of the form column at ``position``."""
    return f"f{position}"


def reported(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Let a task's file or model error reach the driver whole (see ``_session.task_errors``)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from function(*args, **kwargs)
        except (FileError, ModelFileError) as error:
            raise marked_error(error) from None

    return wrapper


def _text_array(values: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, from_pandas=True)
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return array.cast(pa.string())


def text_cells(cells: str, table: pa.Table, header: list[str]) -> pd.DataFrame:
    """Form cells as the text validation reads, by the rule of where they come from.

    ``"memory"``: as :meth:`ScreeningModel.score` takes a DataFrame
    (:func:`screening.intake.text_frame`; text stays as it is); ``"parquet"``: as the
    reader takes a Parquet file (:func:`screening.intake.parquet_frame`).
    """
    if cells == "parquet":
        return parquet_frame(table, header)
    frame = table.to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE}.get)
    text = text_frame(frame)
    text.columns = pd.Index(header, dtype=object)
    return text


# ----------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class ReadJob:
    """Reading files with the library's reader, one file per task."""

    paths: tuple[str, ...]
    names: tuple[str, ...]
    width: int
    chunk_rows: int
    file_format: str | None
    separator: str | None
    encoding: str | None


def read_schema(width: int) -> pa.Schema:
    """Columns of the forms as read: the cells as text, the row, the file, and where a record was malformed."""
    return pa.schema([*(pa.field(form_column(i), pa.string()) for i in range(width)),
                      pa.field(ROW, pa.int64()), pa.field(FILE, pa.string()), pa.field(MALFORMED, pa.int32())])


def _chunk_batch(job: ReadJob, chunk: RawTable, name: str) -> pa.RecordBatch:
    forms, malformed = len(chunk.frame), len(chunk.malformed)
    columns = []
    for position in range(job.width):
        cells = _text_array(chunk.frame.iloc[:, position])
        columns.append(pa.concat_arrays([cells, pa.nulls(malformed, pa.string())]) if malformed else cells)
    rows = np.concatenate([np.asarray(chunk.row_numbers, dtype=np.int64),
                           np.asarray([number for number, _, _ in chunk.malformed], dtype=np.int64)])
    found = pa.array([None] * forms + [found for _, found, _ in chunk.malformed], pa.int32())
    return pa.RecordBatch.from_arrays([*columns, pa.array(rows), pa.array([name] * (forms + malformed), pa.string()),
                                      found], schema=read_schema(job.width))


@reported
def read_files(job: ReadJob, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Read the files whose numbers come in (``id``), a chunk at a time, as the ``score`` command reads a file.

    The first pass settles which CSV reader the file needs (as ``first_pass`` does);
    a file of one chunk is read once.
    """
    for batch in batches:
        for number in batch.column("id").to_pylist():
            path, name = job.paths[number], job.names[number]
            table = ChunkedTable(path, chunk_rows=job.chunk_rows, file_format=job.file_format,  # type: ignore[arg-type]
                                 separator=job.separator, encoding=job.encoding)
            first = table.map_chunks(lambda count, chunk: chunk if count == 0 else None)
            if len(first) == 1:
                yield _chunk_batch(job, first[0], name)
                continue
            digest = table.sha256
            del first
            for chunk in table:
                yield _chunk_batch(job, chunk, name)
            if digest is not None and table.sha256 != digest:
                raise FileError("changed_while_read", name=name)


# ---------------------------------------------------------------------------------------- ids
@dataclass(frozen=True)
class IdJob:
    """Finding each form's ``case_id`` as validation compares ids, from that one column."""

    header: tuple[str, ...]
    case_id_position: int
    cells: str


def comparable_ids(job: IdJob, case_ids: pa.Table) -> pa.Array:
    """Each form's ``case_id`` as validation compares ids (null where it is blank or refused).

    ``case_ids`` holds the forms' ``case_id`` column alone; the other columns of the
    header are blank here (validation parses ``case_id`` on its own).
    """
    n = case_ids.num_rows
    cells = text_cells(job.cells, case_ids, ["case_id"])["case_id"]
    blank = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype=TEXT_DTYPE)
    frame = pd.DataFrame({form_column(i): cells if i == job.case_id_position else blank
                          for i in range(len(job.header))})
    frame.columns = pd.Index(job.header, dtype=object)
    present = cells.notna().to_numpy()
    ids = np.full(n, None, dtype=object)
    if present.any():  # comparable_case_ids leaves out blank rows: here, the rows without an id
        found = comparable_case_ids(RawTable(frame=frame, row_numbers=np.arange(2, n + 2)))
        ids[present] = found.to_numpy(dtype=object, na_value=None)
    return pa.array(ids, pa.string())


@reported
def case_ids(job: IdJob, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The comparable id (``_cid``) of each form, from its ``case_id`` column."""
    for batch in batches:
        ids = comparable_ids(job, pa.Table.from_batches([batch]))
        yield pa.RecordBatch.from_arrays([ids], names=[CID])


# ------------------------------------------------------------------------------------ scoring
@dataclass(frozen=True)
class ScoreJob:
    """Scoring a partition: the model, how its forms are read, and what the output holds."""

    model: ShippedModel
    header: tuple[str, ...]
    cells: str
    language: str
    with_jobcenter: bool
    with_files: bool
    repeated: Any  # a Spark broadcast of the comparable ids repeated anywhere in the input
    number_rows: bool  # a DataFrame's forms: numbered by position in their partition (the driver adds the rest)
    chunk_rows: int
    schema: pa.Schema


def scored_schema(run: pa.Schema, *, with_files: bool) -> pa.Schema:
    """Columns of the scored output: a run's (ranked forms), a refused row's, a chunk's totals, and which it is."""
    fields = list(run)
    if with_files:
        fields.append(pa.field("file", pa.string()))
    fields += [pa.field(name, kind) for name, kind in REFUSED_FIELDS if name not in run.names]
    fields += [pa.field(TOTALS, pa.binary()), pa.field(PID, pa.int64()), pa.field(PART, pa.string())]
    return pa.schema(fields)


def _output(schema: pa.Schema, part: str, columns: dict[str, pa.Array], n: int) -> pa.RecordBatch:
    """A batch of the scored output: ``columns`` where given, nulls elsewhere, ``_part`` saying what the rows are."""
    columns = {**columns, PART: pa.array([part] * n, pa.string())}
    arrays = []
    for target in schema:
        given = columns.get(target.name)
        if given is None:
            arrays.append(pa.nulls(n, target.type))
        else:
            given = given.combine_chunks() if isinstance(given, pa.ChunkedArray) else given
            arrays.append(given if given.type == target.type else given.cast(target.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _raw_table(job: ScoreJob, table: pa.Table, first: int | None) -> RawTable:
    """A chunk of forms as a reader gives it: text cells, row numbers, malformed records.

    ``first``: the row number of the chunk's first form, for a DataFrame's forms
    (numbered by position in the partition, from 2); None when the forms carry
    their row numbers (``_row``).
    """
    if first is not None:
        rows = np.arange(first, first + table.num_rows, dtype=np.int64)
    else:
        rows = table.column(ROW).to_numpy(zero_copy_only=False).astype(np.int64)
    malformed: list[tuple[int, int, int]] = []
    keep = None
    if MALFORMED in table.column_names:
        found = table.column(MALFORMED).to_numpy(zero_copy_only=False)
        is_malformed = ~np.isnan(found.astype(np.float64))
        if is_malformed.any():
            width = len(job.header)
            malformed = [(int(row), int(count), width) for row, count in zip(rows[is_malformed], found[is_malformed])]
            keep = np.flatnonzero(~is_malformed)
    forms = table.select([form_column(i) for i in range(len(job.header))])
    if keep is not None:
        forms, rows = forms.take(pa.array(keep)), rows[keep]
    return RawTable(frame=text_cells(job.cells, forms, list(job.header)), row_numbers=rows, malformed=malformed)


#: The repeated ids this worker last scored with: (the broadcast's value, as validation takes it).
_REPEATED: list[tuple[list[str], pd.Series]] = []


def _repeated_ids(job: ScoreJob) -> pd.Series:
    value = job.repeated.value
    if not _REPEATED or _REPEATED[0][0] is not value:
        _REPEATED[:] = [(value, pd.Series(value, dtype=TEXT_DTYPE))]
    return _REPEATED[0][1]


def _score_part(job: ScoreJob, model: Any, table: pa.Table, file: str | None, first: int | None,
                partition: int) -> Iterator[pa.RecordBatch]:
    raw = _raw_table(job, table, first)
    # Ids repeated anywhere in the input (a Spark aggregation found them): every copy is refused, as in one file.
    scored = score_chunk(model, raw, language=job.language, duplicates=_repeated_ids(job),
                         with_jobcenter=job.with_jobcenter)
    totals = Totals(reference=model.metadata.get("drift_reference") or {})
    totals.add_validation(scored.validation)
    totals.add_scored(scored.run)
    totals.reference = {}  # the counts travel; the reference is the driver's
    run = scored.run
    for start in range(0, run.num_rows, OUTPUT_ROWS):
        piece = run.slice(start, OUTPUT_ROWS)
        columns = {name: piece.column(name).combine_chunks() for name in piece.column_names}
        if job.with_files:
            columns["file"] = pa.array([file] * piece.num_rows, pa.string())
        yield _output(job.schema, RANKED, columns, piece.num_rows)
    refused = scored.validation.refused
    where = {PID: pa.array(np.full(len(refused), partition, dtype=np.int64))}
    if len(refused):
        columns = {name: pa.array(refused[name].to_numpy(dtype=object, na_value=None), kind)
                   for name, kind in REFUSED_FIELDS}
        if job.with_files:
            columns["file"] = pa.array([file] * len(refused), pa.string())
        yield _output(job.schema, REFUSED, {**columns, **where}, len(refused))
    # The chunk's counts, and (in ``row``) how many rows of the partition it held.
    yield _output(job.schema, COUNTS, {TOTALS: pa.array([pickle.dumps(totals)], pa.binary()),
                                       "row": pa.array([table.num_rows], pa.int64()),
                                       PID: pa.array([partition], pa.int64())}, 1)


def _score_chunk(job: ScoreJob, model: Any, table: pa.Table, first: int | None, partition: int
                 ) -> Iterator[pa.RecordBatch]:
    if not job.with_files:
        yield from _score_part(job, model, table, None, first, partition)
        return
    files = table.column(FILE)
    for file in pc.unique(files).to_pylist():  # row numbers are per file: each file's forms are a chunk of their own
        yield from _score_part(job, model, table.filter(pc.equal(files, file)), file, None, partition)


@reported
def score_forms(job: ScoreJob, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Validate and score a partition's forms, ``chunk_rows`` at a time, with the library's ``score_chunk``.

    Yields the run's rows (valid forms scored, in working order within the chunk),
    the refused rows (with their partition), and one row of each chunk's totals
    (pickled :class:`screening.scoring.Totals`, the partition and its rows).
    """
    from pyspark import TaskContext

    model = worker_model(job.model)
    partition = TaskContext.get().partitionId()
    # A DataFrame's forms are numbered by position in this partition; the driver adds the forms of those before it.
    first = 2 if job.number_rows else None
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= job.chunk_rows:
            yield from _score_chunk(job, model, pa.Table.from_batches(pending), first, partition)
            first = None if first is None else first + rows
            pending, rows = [], 0
    if rows:
        yield from _score_chunk(job, model, pa.Table.from_batches(pending), first, partition)


# ------------------------------------------------------------------------------------ ranking
@dataclass(frozen=True)
class RankJob:
    """Ranking sorted rows: by offsets per partition and queue, or by a window's ranks; marking capacity."""

    run_names: tuple[str, ...]
    per: str | None
    capacity: int | None
    version: str
    offsets: dict[tuple[int, str], int] | None  # (partition, queue) -> forms of that queue in earlier partitions


@reported
def rank_sorted(job: RankJob, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The ranked list's rows of a partition of the globally sorted forms.

    Without ``per``: the rank within the partition (:class:`~screening.scoring.Ranker`,
    restarting per queue) plus the forms of the same queue in earlier partitions.
    With ``per="jobcenter"``: the rank a window partitioned by jobcenter and queue gave.
    Capacity marks: the Ranker's own, on those ranks.
    """
    ranker = Ranker(None, job.capacity)
    for batch in batches:
        table = pa.Table.from_batches([batch])
        run = table.select(list(job.run_names))
        if job.per is None:
            partition = int(table.column(PID)[0].as_py()) if table.num_rows else 0
            early = pc.equal(run.column("queue"), EARLY).to_numpy(zero_copy_only=False)
            offsets = job.offsets or {}
            rank = ranker(run) + np.where(early, offsets.get((partition, EARLY), 0), offsets.get((partition, LATE), 0))
        else:
            rank = table.column(RANK).to_numpy().astype(np.int64)
        contact = ranker.contacts(run, rank)
        yield from ranked_table(run, rank, contact, version=job.version).to_batches()
