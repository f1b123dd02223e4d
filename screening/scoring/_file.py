"""The weekly batch over a file of any size: the ranked list, refused rows, the page and an audit line.

:func:`score_file` is what ``screening score`` runs. The file is read once, a chunk
of forms at a time (:func:`screening.intake.first_pass`): that pass checks the
header, finds ids repeated anywhere in the file and keeps each chunk on disk as read
(Arrow IPC, beside the output). Each chunk goes to
:func:`~screening.scoring.score_chunk`, the one primitive of every entry point, which
validates and scores it: in worker processes, one per core (:mod:`._workers`), as soon
as the pass (in a process of its own) has kept it, the forms whose ids the pass then
finds repeated refused afterwards; or here, after the pass, the next chunk validated in
a thread (:func:`screening.intake.validated_ahead`).
Each scored chunk waits as a sorted run; the runs are then merged into the ranked
list (:mod:`._batch`). A file of one chunk stays in memory and never touches the disk.

Nothing is written until everything has been computed, and then every file is
moved into place together, so a failed run leaves no output behind (nor an audit
line). A problem with a file as a whole (the input, the model, an output that
cannot be written) raises :class:`~screening.intake.FileError`.

The run's per-step profile (:data:`STEPS`, seconds) is the summary's
``seconds_by_step``, also written to the audit line. Steps run in other threads or
processes overlap the others: the model loads while the file is read, and the
chunks are validated and scored by the workers side by side (or the next one
validated in a thread while this one is scored); so the steps can add up to more
than the run's wall time (``seconds``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa

from screening._io import atomic_path, file_sha256, neutralise_formulas
from screening.intake import (
    REFUSED_COLUMNS,
    ChunkedTable,
    FileError,
    FirstPass,
    ForkedPass,
    Format,
    Language,
    first_pass,
    first_pass_forked,
    kept_chunk,
    prepare_validation,
    validated_ahead,
)
from screening.registry import ModelFileError
from screening.scoring import _batch, _page
from screening.scoring._audit import append_audit, audit_path, audit_record
from screening.scoring._model import ScreeningModel, check_options, load_model
from screening.scoring._output import (
    CsvDialect,
    Dialect,
    csv_dialect,
    header_labels,
    header_line,
    refused_for_people,
    write_table_lines,
)
from screening.scoring._workbook import WeekWorkbook
from screening.scoring._workers import (
    ChunkDone,
    ChunkJob,
    can_fork,
    chunk_rows_for,
    default_workers,
    long_lived_frozen,
    score_one_chunk,
    scored_in_workers,
    scored_while_kept,
)


#: The steps of a run's profile, in order (``seconds_by_step`` of the summary):
#:
#: - ``start_up``: the process's start until :func:`score_file` is called (interpreter, imports), when asked;
#: - ``model_load``: loading the model (during the first read: beside a process reading, or a thread);
#: - ``read``: reading and decoding the file's chunks, both passes (the second in the read-ahead thread);
#: - ``ids``: the first pass's list of ids repeated anywhere in the file;
#: - ``validate``: validating the chunks (in the read-ahead thread);
#: - ``encode``, ``model`` (risks and contributions), ``reasons`` (and questions);
#: - ``rank``: working order, priorities, counts, sorted runs, the merge and the ranks;
#: - ``write``: the ranked list (CSV or workbook), the refused rows and the page.
STEPS = ("start_up", "model_load", "read", "ids", "validate", "encode", "model", "reasons", "rank", "write")


@dataclass
class FileScore:
    """What :func:`score_file` did.

    Attributes
    ----------
    summary : dict
        Counts and facts of the run, no personal data (as :attr:`ScoreResult.summary`).
    dialect : dict
        How the input was read (format, encoding, separator).
    written : dict of str to Path or None
        ``output``, ``rejects``, ``page`` and ``audit``: the files written (None: not asked for).
    seconds : float
        Time taken (with the process's start-up, when ``score_file`` timed it).
    """

    summary: dict[str, Any]
    dialect: dict[str, str]
    written: dict[str, Path | None] = field(default_factory=dict)
    seconds: float = 0.0


def default_rejects(output: Path) -> Path:
    """Where refused rows go unless told: ``<output stem>_refused.csv`` beside the output."""
    return output.with_name(f"{output.stem}_refused.csv")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


#: File name endings of formats an output is not written in (the list is CSV or .xlsx, the page HTML), by output.
_OTHER_FORMATS = {
    "output": (".parquet", ".pq", ".html", ".htm", ".json", ".xls", ".xlsm", ".ods", ".pdf"),
    "report": (".csv", ".xlsx", ".xls", ".parquet", ".pq", ".json", ".pdf", ".txt"),
}


def _check_paths(input_path: Path, outputs: dict[str, Path | None]) -> None:
    named = {kind: path for kind, path in outputs.items() if path is not None}
    for kind, path in named.items():
        if _same_file(path, input_path):
            raise FileError("output_is_input", option=kind, path=str(path))
        if path.is_dir():
            raise FileError("output_is_folder", option=kind, path=str(path))
        if path.suffix.casefold() in _OTHER_FORMATS.get(kind, ()):
            raise FileError("output_format" if kind == "output" else "report_format", name=path.name,
                            suffix=path.suffix)
    paths = list(named.items())
    for i, (kind, path) in enumerate(paths):
        for other_kind, other in paths[i + 1 :]:
            if _same_file(path, other):
                raise FileError("same_output", option=kind, other=other_kind, path=str(path))


def _load(model: str | os.PathLike[str] | ScreeningModel, times: dict[str, float]) -> ScreeningModel:
    """The model to score with, its batch scoring made ready (``prepare_batch``; step ``model_load``)."""
    clock = time.perf_counter()
    try:
        loaded = model if isinstance(model, ScreeningModel) else load_model(model, single_forms=False)
    except (ModelFileError, LookupError, ValueError) as error:
        raise FileError("unusable_model", model=os.fspath(model), detail=str(error)) from None
    loaded.prepare_batch()
    times["model_load"] = time.perf_counter() - clock
    return loaded


@contextlib.contextmanager
def _short_gil_turns(seconds: float = 0.0005) -> Iterator[None]:
    """Threads that both want the GIL take turns of at most ``seconds`` (Python's default: 5 ms) in the block.

    While the model loads in a thread (imports: Python holding the GIL) the file is
    read in this one: Arrow off the GIL, with short Python steps in between that each
    waited up to a whole turn of the loading thread. On 1M forms the first pass
    took 2.0-2.8 s with 5 ms turns and 1.7-1.9 s with 0.5 ms ones; the model loads
    as fast. The interval is the process's: it is set back on the way out.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def process_age() -> float | None:
    """Seconds since this process started (Linux: its start time in ``/proc/self/stat``); None where unknown.

    The start time is counted in clock ticks since boot, as ``CLOCK_BOOTTIME`` is,
    so the age is good to a tick (10 ms). ``time.perf_counter`` cannot see what
    happened before the interpreter ran, and ``/proc/self``'s own file times are
    those of its inode, not of the process.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        started = int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22; the name in () may hold spaces
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def score_file(
    input_path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | ScreeningModel,
    output: str | os.PathLike[str],
    rejects: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
    capacity: int | None = None,
    per: str | None = None,
    language: Language = "da",
    audit_log: str | os.PathLike[str] | None = None,
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
    chunk_rows: int | None = None,
    dialect: Dialect = "standard",
    start_up: bool = False,
    workers: int | None = None,
) -> FileScore:
    """Score the week's file: a ranked list (CSV or Excel), refused rows, optionally the page, and an audit line.

    Parameters
    ----------
    input_path : str or path-like
        The week's forms: CSV (any Danish dialect), ``.xlsx`` or Parquet.
    model : str, path-like or ScreeningModel
        A model directory or MLflow URI (loaded while the file is first read), or a loaded model.
    output : str or path-like
        The ranked list to write. A name ending in ``.xlsx`` gives an Excel workbook for
        people: sheet ``Rangliste`` (the ranked list, headers and words in ``language``,
        risks as percentages) and sheet ``Afviste`` (the refused rows). Any other name
        gives a CSV in ``dialect``.
    rejects : str or path-like, optional
        Refused rows to write (CSV in ``dialect``); by default ``<output stem>_refused.csv`` beside the output.
    report : str or path-like, optional
        Also write the weekly page (self-contained HTML) here.
    capacity : int, optional
        Mark the first ``capacity`` forms (per jobcenter with ``per``) for contact this week.
    per : {"jobcenter"}, optional
        Rank within each jobcenter.
    language : {"da", "en"}, default "da"
        Language of reasons, refusals and the page.
    audit_log : str or path-like, optional
        Append the run's audit line here (default: ``$SCREENING_AUDIT_LOG``, else
        ``screening-audit.jsonl`` beside the output).
    file_format, separator, encoding : optional
        Override what is detected in the input.
    chunk_rows : int, optional
        Forms read and scored at a time (default 250,000 per worker, 500,000 shared among more
        than two ``workers``, so that the memory used stays about the same): sets the memory used,
        never the output.
    dialect : {"standard", "danish_excel"}, default "standard"
        How the CSV files are written. ``standard``: the contract's machine format for
        case systems (UTF-8, ``,``, decimal point, LF, column names). ``danish_excel``: as
        Danish Excel reads them (UTF-8 with BOM, ``;``, decimal comma, CRLF, headers and
        words in ``language``). The input's own dialect is detected (or set by
        ``separator`` and ``encoding``).
    start_up : bool, default False
        Time the process's start-up too (step ``start_up``: from the process's start,
        :func:`process_age`, to this call, and counted in the run's ``seconds``), for a
        process started to score this file, as the ``score`` command is; left at 0 where
        the start is unknown.
    workers : int, optional
        Processes that validate and score a file of several chunks, one chunk each at a
        time (:mod:`._workers`; each holds a chunk in memory). By default one per usable
        core, at most 4, where processes can be forked (Linux); 1 scores every chunk in
        this process. A file of one chunk is always scored here. Never changes the output.

    Returns
    -------
    FileScore

    Raises
    ------
    screening.intake.FileError
        A problem with a file as a whole; nothing is written.
    ValueError
        An option the batch does not know.
    """
    age = process_age() if start_up else None
    check_options(capacity=capacity, per=per)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    csv = csv_dialect(dialect)
    started = time.perf_counter() - (age or 0.0)  # the run's seconds hold its start-up when that is timed
    input_path, output = Path(input_path), Path(output)
    rejects = Path(rejects) if rejects else default_rejects(output)
    as_workbook = _is_workbook(output)
    if _is_workbook(rejects):
        raise FileError("rejects_not_csv", name=rejects.name)
    report = Path(report) if report else None
    _check_paths(input_path, {"output": output, "rejects": rejects, "report": report})
    processes = workers or default_workers()
    # Chunks kept by the first pass and sorted runs wait beside the output (its disk, not a memory-backed /tmp).
    with _batch.scratch_folder(output.parent) as scratch, contextlib.ExitStack() as reading:
        work = Path(scratch)
        steps = dict.fromkeys(STEPS, 0.0)
        steps["start_up"] = age or 0.0
        lap = _batch.Lap(steps)
        # The model loads and validation is made ready while the file is first read (in a process of its own
        # where workers score the chunks: they start on each chunk as soon as it is kept).
        loaded, table, first = _load_and_first_pass(model, input_path, work, steps, processes=processes,
                                                    chunk_rows=chunk_rows, file_format=file_format,
                                                    separator=separator, encoding=encoding, stack=reading)
        with_jobcenter = _batch.has_jobcenter(table.header)
        if per == "jobcenter" and not with_jobcenter:
            raise FileError("no_jobcenter_column")
        header = _ranked_header(loaded, with_jobcenter)
        totals = _batch.Totals(reference=loaded.metadata.get("drift_reference") or {})
        refused_head: list[pd.DataFrame] = []
        refused_lines = 0
        ranker = _batch.Ranker(per, capacity)
        log = audit_path(output, audit_log)
        try:
            with contextlib.ExitStack() as stack:  # every file or none: each moves into place as the stack closes
                temporary = {"output": stack.enter_context(atomic_path(output)),
                             "rejects": stack.enter_context(atomic_path(rejects))}
                if report is not None:
                    temporary["report"] = stack.enter_context(atomic_path(report))
                workbook = (WeekWorkbook(temporary["output"], ranked_columns=list(header.columns),
                                         refused_columns=_REFUSED_FILE_COLUMNS, language=language, scratch=work)
                            if as_workbook else None)
                runs: list[pa.Table | Path] = []
                job = ChunkJob(model=loaded, per=per, language=language, with_jobcenter=with_jobcenter,
                               duplicates=None, folder=work)
                with temporary["rejects"].open("w", encoding=csv.encoding, newline="") as rejects_handle:
                    for done in _scored_chunks(table, first, job, processes=processes, language=language, steps=steps):
                        lap.restart()  # the chunk's own steps come with it
                        for step, seconds in done.times.items():
                            steps[step] += seconds
                        totals.add_totals(done.totals)
                        _write_refused(done.refused, rejects_handle, header=done.number == 0, dialect=csv,
                                       language=language)
                        if workbook is not None:
                            workbook.add_refused(refused_for_people(done.refused.drop(columns="kind"), language))
                        if refused_lines < _page.MAX_REFUSED:
                            refused_head.append(done.refused.head(_page.MAX_REFUSED - refused_lines))
                        refused_lines += len(done.refused)
                        runs.append(done.run)
                        del done
                        lap("write")
                lap.restart()
                page_head = _PageHead(per, version=loaded.version) if report is not None else None
                # The drift panel needs the chunks' counts only: worked out beside the merge (NumPy, mostly).
                drifting = stack.enter_context(ThreadPoolExecutor(max_workers=1)).submit(totals.drift)
                if workbook is not None:
                    workbook.check_room(totals.scored)
                    _write_merged(runs, workbook.add_ranked, model=loaded, ranker=ranker, page_head=page_head, lap=lap)
                    workbook.close()
                else:
                    with temporary["output"].open("wb") as handle:
                        handle.write(header_line(list(header.columns), dialect=csv, language=language))
                        _write_merged(runs, functools.partial(write_table_lines, handle=handle, dialect=csv,
                                                              language=language),
                                      model=loaded, ranker=ranker, page_head=page_head, lap=lap)
                del runs
                first = first() if isinstance(first, ForkedPass) else first  # over by now
                processes = processes if first.duplicates is not None else 1  # one chunk: scored here
                input_dialect = dict(table.dialect)  # as the whole pass settled it
                totals.contacts = ranker.marked
                lap("write")
                drift = drifting.result()
                summary = totals.summary(loaded, drift, capacity=capacity, per=per, language=language,
                                         seconds=time.perf_counter() - started)
                lap("rank")
                if report is not None:
                    content = _page.PageContent(
                        summary=summary, drift=drift,
                        ranked_head=page_head.frame() if page_head.parts else header,
                        ranked_rows=totals.scored, groups=ranker.groups,
                        refused_head=pd.concat(refused_head, ignore_index=True), refused_lines=refused_lines,
                        refused_forms=totals.forms.refused_rows, risk_counts=totals.risk_counts,
                        model=_page.model_facts(loaded),  # written into the page: no link to break when it is mailed
                    )
                    page = _page.render_page(content, language=language, input_name=input_path.name,
                                             output_name=output.name, rejects_name=rejects.name)
                    temporary["report"].write_text(page, encoding="utf-8")
                    lap("write")
                summary["seconds_by_step"] = {step: round(value, 2) for step, value in steps.items()}
                source = "loaded" if isinstance(model, ScreeningModel) else (
                    "uri" if ":/" in os.fspath(model) and not Path(model).exists() else "directory")
                options = {"capacity": capacity, "per": per, "language": language, "format": file_format,
                           "separator": separator, "encoding": encoding, "model_source": source, "dialect": dialect,
                           "workers": processes}
                record = audit_record(
                    summary, input_path=input_path, input_sha256=table.sha256 or file_sha256(input_path),
                    dialect=input_dialect, options=options,
                    files={"output": output, "rejects": rejects, "report": report},
                    seconds=time.perf_counter() - started,
                )
                record["seconds_by_step"] = summary["seconds_by_step"]  # times only: no personal data
                append_audit(log, record)
        except OSError as error:
            unwritten = getattr(error, "filename", None)
            raise FileError("cannot_write" if unwritten else "cannot_write_output", path=str(unwritten),
                            detail=error.strerror or str(error)) from None
        return FileScore(summary=summary, dialect=input_dialect,
                         written={"output": output, "rejects": rejects, "page": report, "audit": log},
                         seconds=time.perf_counter() - started)


def _load_and_first_pass(model: str | os.PathLike[str] | ScreeningModel, input_path: Path, work: Path,
                         steps: dict[str, float], *, processes: int, chunk_rows: int | None,
                         file_format: Format | None, separator: str | None, encoding: str | None,
                         stack: contextlib.ExitStack) -> tuple[ScreeningModel, ChunkedTable, FirstPass | ForkedPass]:
    """The model loaded, validation made ready and the file's first pass, side by side.

    With worker processes (Linux), the first pass runs in a forked process of its own
    (:func:`~screening.intake.first_pass_forked`), which goes on after this returns (until
    ``stack`` closes): the workers start on each chunk as soon as it is kept. Otherwise the
    model loads in a thread, with short GIL turns, and the pass is over on return. Either
    way a model error is reported first, as before the file was read.
    """
    lap = _batch.Lap(steps)
    try:
        table = ChunkedTable(input_path, chunk_rows=chunk_rows or chunk_rows_for(processes),
                             file_format=file_format, separator=separator, encoding=encoding)
    except FileError:
        _load(model, steps)  # a model error first
        raise
    lap("read")
    if processes > 1 and can_fork():
        passing = stack.enter_context(first_pass_forked(table, keep_in=work, times=steps))
        loaded = _load(model, steps)
        lap.restart()
        prepare_validation()
        lap("validate")
        return loaded, table, passing
    with _short_gil_turns(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-model") as pool:
        loading = pool.submit(_load, model, steps)
        try:
            first = first_pass(table, times=steps, keep_in=work)
            lap.restart()
            prepare_validation()
            lap("validate")
        finally:
            loaded = loading.result()
    return loaded, table, first


def _scored_chunks(table: ChunkedTable, passing: FirstPass | ForkedPass, job: ChunkJob, *, processes: int,
                   language: Language, steps: dict[str, float]) -> Iterator[ChunkDone]:
    """The file's chunks scored in order: in worker processes, or here with the next validated in a thread.

    With the first pass still reading (``passing``, in its own process) and workers, each
    chunk goes to a worker as soon as it is kept (:func:`._workers.scored_while_kept`).
    Otherwise, after the pass, a file of several chunks is not read again: the pass kept
    its chunks on disk (``first.kept``), read back mapped; a file of one chunk was kept in
    memory (``first.chunk``) and is scored here.
    """
    if isinstance(passing, ForkedPass):
        kept = passing.kept()
        ahead = list(itertools.islice(kept, 2))
        if processes > 1 and [number for number, _ in ahead] == [0, 1]:  # several chunks, scored as they are kept
            with long_lived_frozen():
                reread = yield from scored_while_kept(itertools.chain(ahead, kept), passing, job,
                                                      workers=processes, dialect=table.dialect)
            if reread is None:
                return
        first = passing()
    else:
        first = passing
    several = first.duplicates is not None  # a file of several chunks: their runs wait on disk
    job = dataclasses.replace(job, duplicates=first.duplicates)
    if several and processes > 1:
        with long_lived_frozen():
            yield from scored_in_workers(first.kept, job, workers=processes, dialect=table.dialect)
        return
    chunks = [first.chunk] if first.chunk is not None else (kept_chunk(path, dialect=table.dialect)
                                                            for path in first.kept)
    first.chunk = None
    # The read-ahead thread adds to "read" and "validate"; this thread to the other steps.
    validations = validated_ahead(chunks, language=language, duplicates=first.duplicates, times=steps)
    with long_lived_frozen():
        for number, validation in enumerate(validations):
            yield score_one_chunk(job, number, validation, to_disk=several)
            del validation


def _is_workbook(path: Path) -> bool:
    """Whether a file is to be an Excel workbook (decided by its name)."""
    return path.suffix.casefold() == ".xlsx"


def _ranked_header(model: ScreeningModel, with_jobcenter: bool) -> pd.DataFrame:
    """The ranked list without rows (its columns, typed): what a chunk of no forms gives."""
    empty = _batch.chunk_schema(model.horizons, with_jobcenter).empty_table()
    return _batch.ranked_frame(empty, np.zeros(0, dtype=np.int64), None, version=model.version)


def _write_merged(runs: list[pa.Table | Path], write_rows: Callable[[pa.Table], None], *, model: ScreeningModel,
                  ranker: _batch.Ranker, page_head: _PageHead | None, lap: _batch.Lap) -> None:
    """Merge the sorted runs into the ranked list, handing each slice's rows to ``write_rows`` (CSV or workbook).

    The rows of a slice are written in a thread while the next slice is merged (both
    mostly Arrow, off the GIL: the two overlap on two cores); one slice waits at most.
    ``lap`` times the merge and the ranks as ``rank``, the rows kept for the page and
    the writing (in its thread) as ``write``.
    """
    written = 0.0

    def write(table: pa.Table) -> None:
        nonlocal written
        clock = time.perf_counter()
        write_rows(table)
        written += time.perf_counter() - clock

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-write") as pool:
        writing: Future[None] | None = None
        for merged, rank, contact in _batch.ranked_slices(runs, ranker, horizons=model.horizons):
            table = _batch.ranked_table(merged, rank, contact, version=model.version)
            lap("rank")
            if page_head is not None:
                page_head.add(merged, rank, contact, groups=ranker.groups)
            lap("write")
            if writing is not None:
                writing.result()  # the rows go out in order
                lap.restart()
            writing = pool.submit(write, table)
            del merged, table
        if writing is not None:
            writing.result()
    lap.restart()
    if lap.times is not None:
        lap.times["write"] = lap.times.get("write", 0.0) + written


class _PageHead:
    """The first ranked rows, as many as the weekly page may show (all of them only for a small week)."""

    def __init__(self, per: str | None, *, version: str) -> None:
        self.per = per
        self.version = version
        self.rows = 0
        self.parts: list[pd.DataFrame] = []

    def add(self, merged: pa.Table, rank: np.ndarray, contact: np.ndarray | None, *, groups: int) -> None:
        """Keep what the page may show of the next merged rows (``groups``: jobcenters seen so far)."""
        before, self.rows = self.rows, self.rows + merged.num_rows
        limit = _page.rows_shown_per_group(self.rows, groups, self.per)
        if limit is None:
            keep = np.arange(merged.num_rows) < _page.MAX_ROWS - before
        else:  # more jobcenters seen: fewer rows of each fit on the page
            self.parts = [part[part["rank"] <= limit] for part in self.parts]
            keep = rank <= limit
        if keep.any():
            rows = np.flatnonzero(keep)
            self.parts.append(_batch.ranked_frame(merged.take(pa.array(rows)), rank[rows],
                                                  None if contact is None else contact[rows], version=self.version))

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.parts, ignore_index=True)


#: Columns of the refused-rows file (the validation's, without ``kind``).
_REFUSED_FILE_COLUMNS = [name for name in REFUSED_COLUMNS if name != "kind"]


def _write_refused(refused: pd.DataFrame, handle: TextIO, *, header: bool, dialect: CsvDialect,
                   language: str) -> None:
    """Append a chunk's refused rows to the rejects file (formulas neutralised, as ``validate`` writes them)."""
    rows = neutralise_formulas(refused.drop(columns="kind"))
    if dialect.for_people:
        rows = refused_for_people(rows, language)
        rows.columns = header_labels(list(rows.columns), language)
    rows.to_csv(handle, header=header, index=False, sep=dialect.separator, lineterminator=dialect.line_end)
