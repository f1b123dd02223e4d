"""The weekly batch at any size: forms scored a chunk at a time, ranked by merging sorted chunks.

One path serves a table in memory (:meth:`ScreeningModel.score`, one chunk), a
file of any size (``screening score``, :func:`~screening.scoring.score_file`), the
MLflow pyfunc and a Spark partition:

1. :func:`score_chunk` validates a chunk of raw forms (or takes its validation,
   done ahead in a thread), scores the valid ones and sorts them in working
   order (:func:`sorted_chunk`; the order of :mod:`screening.scoring._rank`):
   this is the one primitive every entry point runs;
2. sorted chunks ("runs") of a big file wait on disk as Arrow IPC files;
3. :func:`merge_runs` merges them a slice at a time: it hands on the rows the
   runs hold up to the first of their last held rows in working order, which are
   exactly the rows that can come next, put in order by :func:`_rank.sort_indices`
   (for which sorted runs are cheap to merge);
4. :class:`Ranker` numbers the merged rows (per jobcenter if asked) and marks
   the first ``capacity`` for contact.

Because the order is total (``case_id`` is unique among valid forms) the
output does not depend on the chunk size or on the order of rows in the file.
Counts for the summary, the page's histogram and the drift panel are added up
chunk by chunk (:class:`Totals`). Memory: one chunk being scored, the ids of
the file (for duplicates across chunks), and a slice of every run while merging.

:func:`score_chunk` and :func:`sorted_chunk` can add the seconds of each step to a
``times`` dict (``validate``, ``encode``, ``model``, ``reasons``, ``rank``): a
clock reading between steps, per chunk, for the batch's per-step profile.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.intake import (
    MAIN_HORIZON,
    TEXT_DTYPE,
    RawTable,
    RepeatedIds,
    Validation,
    ValidationTotals,
    refuse_repeated,
    validate_table,
)
from screening.scoring import _engine, _rank, _reasons
from screening.scoring._page import HISTOGRAM_BINS

#: Columns of the ranked list, in order (``jobcenter`` only when the forms have it).
RANKED_COLUMNS = ("rank", "case_id", "jobcenter", "queue", "horizon", "risk", "risk_8", "risk_22", "risk_52",
                  "priority", "contact_this_week", "reasons", "questions", "model_version")
#: Rows of a run held in memory at a time while merging, over all runs together.
MERGE_ROWS = 262_144
#: Rows per record batch of a run file (the smallest slice the merge reads).
RUN_BATCH_ROWS = 8_192


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as one contiguous Arrow string array (nulls kept)."""
    array = pa.array(values, pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def risk_names(horizons: tuple[int, ...]) -> list[str]:
    """Names of the risk columns, in the ranked list's order: ``risk`` (at the form's queue horizon), then the
    risks at the other horizons (13 weeks is ``risk`` in the early queue, and 1 in the late one)."""
    return ["risk", *(f"risk_{h}" for h in horizons if h != MAIN_HORIZON)]


def chunk_schema(horizons: tuple[int, ...], with_jobcenter: bool, *, reason_factors: bool = False) -> pa.Schema:
    """Columns of a sorted chunk (a run); ``reason_factors`` (the reasons as JSON) only when asked for."""
    fields = [pa.field("case_id", pa.string())]
    if with_jobcenter:
        fields.append(pa.field("jobcenter", pa.string()))
    fields += [pa.field("queue", pa.string()), pa.field("horizon", pa.int64())]
    fields += [pa.field(name, pa.float64()) for name in risk_names(horizons)]
    fields += [pa.field("priority", pa.string()), pa.field("reasons", pa.string()), pa.field("questions", pa.string())]
    if reason_factors:
        fields.append(pa.field("reason_factors", pa.string()))
    return pa.schema(fields)


class Lap:
    """Seconds since the last lap (or :meth:`restart`), added to a ``times`` dict by step; nothing without one."""

    def __init__(self, times: dict[str, float] | None) -> None:
        self.times = times
        self.clock = time.perf_counter()

    def __call__(self, step: str) -> None:
        if self.times is not None:
            now = time.perf_counter()
            self.times[step] = self.times.get(step, 0.0) + now - self.clock
            self.clock = now

    def restart(self) -> None:
        """Leave the time since the last lap out of every step (spent waiting, or timed elsewhere)."""
        self.clock = time.perf_counter()


def sorted_chunk(model: Any, valid: pd.DataFrame, *, per: str | None, language: str,
                 with_jobcenter: bool, reason_factors: bool = False,
                 times: dict[str, float] | None = None) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Score valid forms and put them in working order (two queues, see ``_rank``), with risks (4 decimals),
    priority, reasons and the questions worth asking (``_reasons``); with ``reason_factors`` also the reasons
    as JSON (:func:`_reasons.reason_factors`).

    Returns the sorted table (:func:`chunk_schema`), the positions of the forms in
    ``valid`` in that order, and their exact risks (shape (n, horizons), in that order).
    With ``times``, the seconds spent are added to its ``encode``, ``model`` (risks and
    contributions), ``reasons`` (and questions) and ``rank`` (order, priority, the run's columns) entries.
    """
    horizons = model.horizons
    if len(valid) == 0:
        return (chunk_schema(horizons, with_jobcenter, reason_factors=reason_factors).empty_table(),
                np.zeros(0, np.int64), np.zeros((0, len(horizons))))
    lap = Lap(times)
    X, entry = _engine.encode(model.estimator, valid)
    lap("encode")
    scored = _engine.score_encoded(model.estimator, X, entry)
    risks = {h: np.rint(scored.risks[:, k] * _rank.RISK_SCALE) / _rank.RISK_SCALE
             for k, h in enumerate(scored.horizons)}
    queue = _rank.queue_codes(valid["sick_weeks"].to_numpy(dtype=np.float64), MAIN_HORIZON)
    # Each form is ranked by its risk at the first horizon it has not reached: its reason horizon.
    horizon = scored.reason_horizon
    queue_risk = np.full(len(valid), np.nan)
    for h in horizons:
        queue_risk[horizon == h] = risks[h][horizon == h]
    lap("model")
    case_ids = _arrow_text(valid["case_id"])
    jobcenters = _arrow_text(valid["jobcenter"]) if with_jobcenter or per == "jobcenter" else None
    later = [risks.get(h) for h in _rank.TIE_BREAK_HORIZONS]
    order = _rank.working_order(queue, queue_risk, *later, case_ids, groups=jobcenters if per == "jobcenter" else None)
    codes_of_priority = _rank.priority_codes(queue_risk[order])
    priority = pa.array(list(_rank.PRIORITIES), pa.string()).take(
        pa.array(codes_of_priority.astype(np.int64), mask=codes_of_priority < 0))
    # Reasons and questions are assembled in working order, so the long text columns are built once, in place.
    exact_risk = np.full(len(valid), np.nan)  # reasons are sized on the exact risk the form is ranked by
    for k, h in enumerate(scored.horizons):
        exact_risk[horizon == h] = scored.risks[horizon == h, k]
    lap("rank")
    reasons, questions, factors = _reasons.explain_chunk(
        model.estimator, X, entry, scored.contributions, scored.groups, valid, risk=exact_risk, horizon=horizon,
        already_absent=queue == 1, order=order, language=language, structured=reason_factors)
    del X
    lap("reasons")
    take = pa.array(order)
    columns: dict[str, Any] = {"case_id": case_ids.take(take)}
    if with_jobcenter:
        columns["jobcenter"] = jobcenters.take(take)
    columns["queue"] = pa.array(_rank.QUEUES, pa.string()).take(pa.array(queue[order].astype(np.int64)))
    ordered_horizon = horizon[order]
    columns["horizon"] = pa.array(np.nan_to_num(ordered_horizon).astype(np.int64), mask=np.isnan(ordered_horizon))
    ordered_risk = queue_risk[order]
    columns["risk"] = pa.array(ordered_risk, mask=np.isnan(ordered_risk))
    for h in horizons:
        if h != MAIN_HORIZON:
            columns[f"risk_{h}"] = pa.array(risks[h][order])
    columns["priority"] = priority
    columns["reasons"] = reasons
    columns["questions"] = questions
    if reason_factors:
        columns["reason_factors"] = factors
    schema = chunk_schema(horizons, with_jobcenter, reason_factors=reason_factors)
    run = pa.table(columns, schema=schema)
    lap("rank")
    return run, order, scored.risks[order]


@dataclass
class ScoredChunk:
    """A chunk of forms validated, scored and put in working order (what :func:`score_chunk` gives).

    Attributes
    ----------
    validation : Validation
        The chunk's validation: its valid forms (indexed by row number) and refused rows.
    run : pyarrow.Table
        The valid forms in working order: ``case_id``, ``jobcenter`` (with a
        jobcenter column), ``risk`` (13 weeks) and the other risks with 4 decimals,
        ``priority``, ``reasons``, ``questions`` and, when asked for, ``reason_factors``
        (:func:`chunk_schema`).
    rows : numpy.ndarray
        The row number of each form of ``run`` (its row in the file or table, header = 1).
    risks : numpy.ndarray
        Exact risks of each form of ``run``, shape (n, len(horizons)), in the model's horizon order.
    """

    validation: Validation
    run: pa.Table
    rows: np.ndarray
    risks: np.ndarray


def has_jobcenter(header: list[object]) -> bool:
    """Whether a table's header has a ``jobcenter`` column (as validation matches names)."""
    return any(str(name).strip().casefold() == "jobcenter" for name in header)


def score_chunk(
    model: Any,
    chunk: RawTable | Validation,
    *,
    per: str | None = None,
    language: str = "da",
    duplicates: RepeatedIds | pd.Series | None = None,
    with_jobcenter: bool | None = None,
    reason_factors: bool = False,
    times: dict[str, float] | None = None,
    repeated_later: Callable[[], np.ndarray] | None = None,
) -> ScoredChunk:
    """Validate a chunk of raw forms, score the valid ones and sort them in working order.

    The one primitive of every entry point: :meth:`ScreeningModel.score`, the
    ``score`` command (:func:`~screening.scoring.score_file`), the MLflow pyfunc
    and a Spark partition each run their chunks through it, so they refuse, mask
    and score alike.

    Parameters
    ----------
    model : ScreeningModel
    chunk : RawTable or Validation
        Forms as read (validated here), or the validation of such a chunk (done
        ahead, for example in another thread, with the same options).
    per : {"jobcenter"}, optional
        Sort within jobcenters.
    language : {"da", "en"}, default "da"
        Language of reasons and refusals.
    duplicates : RepeatedIds or pandas.Series, optional
        Ids repeated anywhere in the file the chunk is part of (every copy is refused):
        their fingerprints, or the ids themselves as
        :func:`~screening.intake.comparable_case_ids` gives them (a Spark partition's
        share of the ids a Spark aggregation found repeated); without it, ids are
        compared within the chunk.
    with_jobcenter : bool, optional
        Whether the forms have a jobcenter column (the ranked list then has one);
        by default, from the chunk's header.
    reason_factors : bool, default False
        Also give each form's reasons as JSON text (column ``reason_factors`` of
        the run: factor, direction, percentage points, phrase), for case systems.
    times : dict of str to float, optional
        Seconds spent are added to its entries by step: ``validate`` (a raw chunk's),
        then ``encode``, ``model``, ``reasons`` and ``rank`` (:func:`sorted_chunk`).
    repeated_later : callable, optional
        Instead of ``duplicates``, for a raw chunk of a file still being read (its ids
        repeated elsewhere not known yet): the chunk is validated and scored first, then
        this is called (it may wait for the file's first pass) for the row numbers of its
        forms whose ids are repeated in the file; those forms are refused and left out of
        the run (:func:`~screening.intake.refuse_repeated`): the outcome is the same as
        with ``duplicates``.

    Returns
    -------
    ScoredChunk
    """
    if repeated_later is not None and (duplicates is not None or not isinstance(chunk, RawTable)):
        raise ValueError("score_chunk: repeated_later= is for a raw chunk, without duplicates=")
    if isinstance(chunk, RawTable):
        if with_jobcenter is None:
            with_jobcenter = has_jobcenter(list(chunk.frame.columns))
        lap = Lap(times)
        validation = validate_table(chunk, language=language,
                                    duplicate_case_ids=_NO_REPEATS if repeated_later is not None else duplicates)
        lap("validate")
    elif with_jobcenter is None:  # a validation's forms carry every contract column, present in the file or not
        raise ValueError("score_chunk: say with_jobcenter= for a chunk validated ahead")
    else:
        validation = chunk
    run, order, risks = sorted_chunk(model, validation.valid, per=per, language=language,
                                     with_jobcenter=with_jobcenter, reason_factors=reason_factors, times=times)
    rows = validation.valid.index.to_numpy(dtype=np.int64)[order]
    if repeated_later is not None:
        repeated = repeated_later()
        lap.restart()  # waiting is no step
        validation, dropped = refuse_repeated(validation, chunk, repeated, language=language)
        if dropped.any():  # every check and score is the form's own: the others' stay as they are, in order
            keep = ~dropped[order]
            run, rows, risks = run.filter(pa.array(keep)), rows[keep], risks[keep]
        lap("validate")
    return ScoredChunk(validation=validation, run=run, rows=rows, risks=risks)


#: Ids compared with a file-wide list of repeated ones that is empty (not known yet, see ``repeated_later``).
_NO_REPEATS = RepeatedIds.of([])


# ------------------------------------------------------------------------------------ merging
class _Run:
    """A sorted chunk being merged: an IPC file read a batch at a time, or a table in memory.

    ``buffer`` holds the rows read and not yet handed on, in the record batches
    they were read in (no copy: the merge takes from them); ``keys`` their sort
    key columns in one piece (copied once per read), where the merge looks.
    """

    def __init__(self, source: pa.Table | Path, names: list[str]) -> None:
        self._names = names
        if isinstance(source, pa.Table):
            self._reader = None
            self._batches = iter(source.to_batches(max_chunksize=RUN_BATCH_ROWS))
        else:
            self._file = pa.memory_map(str(source), "r")  # batches read without a copy
            self._reader = pa.ipc.open_file(self._file)
            self._batches = (self._reader.get_batch(i) for i in range(self._reader.num_record_batches))
        self.buffer: pa.Table | None = None
        self._keys: pa.Table | None = None

    @property
    def keys(self) -> pa.Table:
        """The held rows' sort key columns, in one piece."""
        if self._keys is None:
            self._keys = self.buffer.select(self._names).combine_chunks()
        return self._keys

    def fill(self, rows: int) -> bool:
        """Hold at least ``rows`` rows (or all that are left); False when the run is used up."""
        held = [] if self.buffer is None or self.buffer.num_rows == 0 else [self.buffer]
        count = sum(table.num_rows for table in held)
        read = []
        while count < rows:
            batch = next(self._batches, None)
            if batch is None:
                break
            read.append(pa.Table.from_batches([batch]))
            count += batch.num_rows
        if read:
            self.buffer, self._keys = pa.concat_tables(held + read), None
        elif not held:
            self.buffer = self._keys = None
        if self.buffer is None and self._reader is not None:
            self._file.close()
        return self.buffer is not None and self.buffer.num_rows > 0

    def hand_on(self, rows: int) -> None:
        """Drop the first ``rows`` held rows (handed on)."""
        self.buffer = self.buffer.slice(rows)
        self._keys = None if self._keys is None else self._keys.slice(rows)


#: Of the rows a run holds while merging, one in this many (and its last) is first compared with the others'.
PROBE_ROWS = 256


def merge_runs(runs: list[pa.Table | Path], keys: list[tuple[str, str, str]]) -> Iterator[pa.Table]:
    """Merge sorted runs into one sorted stream of tables (see the module docstring).

    Each step hands on the held rows up to the frontier, the first in working order
    of the runs' last held rows: every row still unread comes after it. The runs'
    probe rows (one in :data:`PROBE_ROWS`, and the last) are put in order first,
    which finds the frontier and, in each run, the rows that may come before it;
    those alone are then put in order (:func:`_rank.sort_indices`, for which sorted
    runs are cheap to merge). So a step costs about the rows it hands on, also when
    the runs hardly overlap (a file in jobcenter order). Ties keep the runs' order.
    """
    names = [name for name, _, _ in keys]
    per_run = max(RUN_BATCH_ROWS, MERGE_ROWS // max(len(runs), 1))
    active = [run for run in (_Run(source, names) for source in runs) if run.fill(per_run)]
    if len(active) == 1:  # one run: already in order
        run = active[0]
        while True:
            yield run.buffer
            run.buffer = None
            if not run.fill(per_run):
                return
    while active:
        sizes = np.array([run.keys.num_rows for run in active])
        probes = [np.union1d(np.arange(0, size, PROBE_ROWS), [size - 1]) for size in sizes]
        lasts = np.cumsum([len(rows) for rows in probes]) - 1
        run_of_probe = np.repeat(np.arange(len(active)), [len(rows) for rows in probes])
        probe_rows = np.concatenate(probes)
        probe_keys = pa.concat_tables([run.keys.take(pa.array(rows)) for run, rows in zip(active, probes)])
        position = _rank.positions(_rank.sort_indices(probe_keys, keys))
        first_run = int(np.argmin(position[lasts]))  # its last row is the frontier
        # In each run, the rows before its first probe row that comes after the frontier (all rows if none does).
        bound = np.where(position > position[lasts[first_run]], probe_rows, sizes[run_of_probe])
        ends = np.minimum.reduceat(bound, lasts - [len(rows) - 1 for rows in probes])
        candidates = pa.concat_tables([run.keys.slice(0, end) for run, end in zip(active, ends.tolist())])
        order = _rank.sort_indices(candidates, keys)
        frontier = int(ends[: first_run + 1].sum()) - 1  # among the candidates: the first run's last
        taken = order[: int(np.flatnonzero(order == frontier)[0]) + 1]
        candidate_ends = np.cumsum(ends)
        run_of = np.searchsorted(candidate_ends, taken, side="right")
        counts = np.bincount(run_of, minlength=len(active))
        # Taken from the first rows of each run only (a take from all held rows costs more).
        shift = (candidate_ends - ends) - (np.cumsum(counts) - counts)
        heads = pa.concat_tables([run.buffer.slice(0, count) for run, count in zip(active, counts.tolist())])
        yield heads.take(pa.array(taken - shift[run_of]))
        for run, count in zip(active, counts.tolist()):
            run.hand_on(count)
        active = [run for run in active if run.fill(per_run)]


def write_run(table: pa.Table, folder: Path, number: int) -> Path:
    """Write a sorted chunk to an Arrow IPC file in ``folder``."""
    path = folder / f"run-{number:06d}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=RUN_BATCH_ROWS)
    return path


class Ranker:
    """Numbers merged rows in working order: 1, 2, ... overall, or restarting per jobcenter.

    Parameters
    ----------
    per : {"jobcenter"} or None
    capacity : int or None
        Rows ranked at most this are marked ``contact_this_week``.
    """

    def __init__(self, per: str | None, capacity: int | None) -> None:
        self.per = per
        self.capacity = capacity
        self.rows = 0
        self.groups = 0
        self.marked = 0
        self._last_group: tuple = (_NO_GROUP,)
        self._last_rank = 0

    def _group_columns(self, table: pa.Table) -> list[pa.Array]:
        names = ["jobcenter", "queue"] if self.per == "jobcenter" else ["queue"]
        return [table.column(name).combine_chunks() for name in names]

    def __call__(self, table: pa.Table) -> np.ndarray:
        """Ranks of the rows of ``table``, the next rows in working order (restarting per queue and jobcenter)."""
        n = table.num_rows
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        columns = self._group_columns(table)
        rank, starts = _rank.group_ranks(*columns)
        first = tuple(column[0].as_py() for column in columns)
        continues = first == self._last_group
        if continues:  # the first group goes on from the previous rows
            rank[np.cumsum(starts) == 1] += self._last_rank
        if self.per == "jobcenter":  # jobcenters seen so far (the page shows fewer rows of each as they grow)
            _, new_jobcenters = _rank.group_ranks(columns[0])
            self.groups += int(new_jobcenters.sum()) - int(first[0] == self._last_group[0])
        self._last_group = tuple(column[n - 1].as_py() for column in columns)
        self._last_rank = int(rank[-1])
        self.rows += n
        return rank

    def contacts(self, table: pa.Table, rank: np.ndarray) -> np.ndarray | None:
        """Whether each ranked row is marked for contact (None without a capacity); counted in ``marked``.

        Only the early queue takes contact slots.
        """
        early = pc.equal(table.column("queue"), _rank.EARLY).to_numpy(zero_copy_only=False)
        marks = _rank.contact_marks(rank, self.capacity, early)
        if marks is not None:
            self.marked += int(marks.sum())
        return marks


def ranked_slices(runs: list[pa.Table | Path], ranker: Ranker, *, horizons: tuple[int, ...]
                  ) -> Iterator[tuple[pa.Table, np.ndarray, np.ndarray | None]]:
    """The forms of all runs in working order, a slice at a time, with their ranks and contact marks."""
    for merged in merge_runs(runs, _rank.sort_keys(horizons, ranker.per)):
        rank = ranker(merged)
        yield merged, rank, ranker.contacts(merged, rank)


_NO_GROUP = object()


def ranked_table(run: pa.Table, rank: np.ndarray, contact: np.ndarray | None, *, version: str) -> pa.Table:
    """Ranked rows of a sorted run with the ranked list's columns (:data:`RANKED_COLUMNS`), typed.

    ``contact_this_week`` is null throughout without a capacity.
    """
    n = run.num_rows
    columns = {
        "rank": pa.array(np.asarray(rank, dtype=np.int64)),
        **{name: run.column(name) for name in run.column_names if name != "priority" and name != "reasons"},
        "priority": run.column("priority"),
        "contact_this_week": (pa.nulls(n, pa.bool_()) if contact is None
                              else pa.array(np.asarray(contact, dtype=bool))),
        "reasons": run.column("reasons"),
        "model_version": pa.repeat(pa.scalar(version, pa.string()), n),
    }
    return pa.table({name: columns[name] for name in RANKED_COLUMNS if name in columns})


def ranked_frame(run: pa.Table, rank: np.ndarray, contact: np.ndarray | None, *, version: str) -> pd.DataFrame:
    """Ranked rows of a sorted run as the ranked list's DataFrame (text as Arrow strings, contact as boolean)."""
    table = ranked_table(run, rank, contact, version=version)
    return table.to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.bool_(): pd.BooleanDtype()}.get)


# ------------------------------------------------------------------------------------- totals
@dataclass
class Totals:
    """Counts of a run added up chunk by chunk: the summary, the page's histogram, the drift panel."""

    reference: dict[str, Any] = field(default_factory=dict)
    forms: ValidationTotals = field(default_factory=ValidationTotals)
    scored: int = 0
    priority_counts: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    queue_counts: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))
    risk_counts: np.ndarray = field(default_factory=lambda: np.zeros(HISTOGRAM_BINS, dtype=np.int64))
    drift_counts: dict[str, np.ndarray] = field(default_factory=dict)
    contacts: int = 0
    #: The first and last day a valid form was received (ISO dates), None while no form says.
    received: tuple[str, str] | None = None

    def _add_received(self, days: tuple[str, str] | None) -> None:
        if days is not None:
            self.received = days if self.received is None else (min(self.received[0], days[0]),
                                                                 max(self.received[1], days[1]))

    def add_validation(self, validation: Validation) -> None:
        from screening.features import drift_counts

        self.forms.add(validation)
        if "form_received" in validation.valid.columns:
            received = validation.valid["form_received"].dropna()
            if len(received):
                self._add_received((received.min().date().isoformat(), received.max().date().isoformat()))
        if self.reference.get("inputs"):
            for name, counts in drift_counts(self.reference, validation.valid).items():
                self.drift_counts[name] = self.drift_counts.get(name, 0) + counts

    def add_totals(self, other: Totals) -> None:
        """Count in the totals of other chunks of the same run (scored elsewhere: a Spark partition's)."""
        self.forms.add_totals(other.forms)
        self.scored += other.scored
        self.priority_counts += other.priority_counts
        self.queue_counts += other.queue_counts
        self.risk_counts += other.risk_counts
        for name, counts in other.drift_counts.items():
            self.drift_counts[name] = self.drift_counts.get(name, 0) + counts
        self.contacts += other.contacts
        self._add_received(other.received)

    def add_scored(self, chunk: pa.Table) -> None:
        risk = chunk.column("risk").to_numpy(zero_copy_only=False)
        self.scored += len(risk)
        codes = _rank.priority_codes(risk)
        self.priority_counts += np.bincount(codes[codes >= 0], minlength=3)
        early = pc.equal(chunk.column("queue"), _rank.EARLY).to_numpy(zero_copy_only=False)
        self.queue_counts += np.array([early.sum(), (~early).sum()], dtype=np.int64)
        # The page's histogram: the early queue's 13-week risks (the late queue's are about other horizons).
        self.risk_counts += np.histogram(risk[early], bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0]

    def drift(self) -> pd.DataFrame | None:
        from screening.features import stability_of_counts

        if not self.reference.get("inputs"):
            return None
        counts = dict(self.drift_counts)
        for name, spec in self.reference["inputs"].items():  # no valid form at all: empty counts
            if name not in counts:
                bins = len(spec["edges"]) + 2 if spec["kind"] == "numeric" else len(spec["categories"]) + 1
                counts[name] = np.zeros(bins, dtype=np.int64)
        return stability_of_counts(self.reference, counts, absent=self.forms.absent_columns)

    def summary(self, model: Any, drift: pd.DataFrame | None, *, capacity: int | None, per: str | None,
                language: str, seconds: float) -> dict[str, Any]:
        """The run summary (counts and facts, no personal data)."""
        from screening.features import NOT_IN_FILE

        summary = {
            "rows_read": self.forms.rows_read,
            "scored": self.scored,
            "refused": self.forms.refused_rows,
            "refused_by_reason": {f"{column or '(row)'}:{kind}": int(count)
                                  for (column, kind), count in sorted(self.forms.refused_by_reason().items())},
            "blank_rows": self.forms.blank_rows,
            "ignored_columns": list(self.forms.ignored_columns),
            "absent_columns": list(self.forms.absent_columns),
            "notes": {name: int(count) for name, count in sorted(self.forms.notes.items()) if count},
            "priority_counts": {name: int(self.priority_counts[k]) for k, name in enumerate(_rank.PRIORITIES)},
            "queue_counts": {name: int(self.queue_counts[k]) for k, name in enumerate(_rank.QUEUES)},
            "contacts": None if capacity is None else int(self.contacts),
            "capacity": capacity,
            "per": per,
            "language": language,
            "model_version": model.version,
            "model_checksum": model.checksum,
            "model_family": getattr(model.estimator, "family_", None),
            "drift_warnings": [] if drift is None else drift.loc[drift["warning"], "input"].tolist(),
            "inputs_not_in_file": [] if drift is None else drift.loc[drift["level"] == NOT_IN_FILE, "input"].tolist(),
            "forms_received": None if self.received is None else list(self.received),
            "seconds": round(seconds, 3),
        }
        if summary["rows_read"] != summary["scored"] + summary["refused"]:  # the contract's promise
            raise RuntimeError(f"rows read {summary['rows_read']} != scored {summary['scored']} + "
                               f"refused {summary['refused']}")
        return summary


def scratch_folder(near: Path) -> tempfile.TemporaryDirectory:
    """A private temporary folder for runs, beside the output (same disk), else the system's."""
    try:
        return tempfile.TemporaryDirectory(prefix=".screening-runs-", dir=os.fspath(near))
    except OSError:
        return tempfile.TemporaryDirectory(prefix="screening-runs-")
