"""A big file's chunks validated and scored in worker processes, one per core, handed back in file order.

:func:`score_file` reads a file of several chunks once: the first pass finds the ids
repeated anywhere in it and keeps each chunk on disk as read
(:func:`screening.intake.first_pass`). Each chunk goes to a worker process as soon
as it is kept (:func:`scored_while_kept`, the pass running in a process of its own),
or after the pass (:func:`scored_in_workers`). The worker maps it back
(:func:`screening.intake.kept_chunk`), runs the one primitive,
:func:`~screening.scoring.score_chunk` (validation with the file's repeated ids, or,
while the pass still reads, without them and the forms with repeated ids refused once
the pass tells them: :class:`RepeatedLater`; scoring, reasons, the sort), writes the
sorted run to an Arrow IPC file and sends back what the run's summary and the
refused-rows file need: its counts (:class:`~screening.scoring.Totals`) and its
refused rows. The merge is then the same as for runs scored in this process, so the
output does not depend on how many workers there are (the order is total).

The workers are forked once the model is loaded: they share its memory and start
in milliseconds; only file names and what comes back are pickled. Where
``fork`` is not the platform's way (macOS, Windows) or one core is all there is,
the chunks are scored in this process. Each worker limits its BLAS and OpenMP
pools to one thread, so two workers on two cores do not fight over them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from screening._io import interrupt_after, interrupt_left_to_parent, interruptible, one_thread_per_process
from screening.intake import DEFAULT_CHUNK_ROWS, FileError, FirstPass, RepeatedIds, kept_chunk
from screening.scoring import _batch

#: Workers at most when not told: each holds one chunk (about 0.3 GB at 250,000 forms) while it is scored.
MAX_DEFAULT_WORKERS = 4


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """Worker processes for a file of several chunks: one per usable core (at most :data:`MAX_DEFAULT_WORKERS`),
    or none (1: scored in this process) where processes cannot be forked."""
    if not can_fork():
        return 1
    return min(usable_cores(), MAX_DEFAULT_WORKERS)


#: Forms held by all workers together when the chunk size is not told (each holds the chunk it scores).
FORMS_IN_FLIGHT = 2 * DEFAULT_CHUNK_ROWS


def chunk_rows_for(workers: int) -> int:
    """Forms per chunk when not told: :data:`~screening.intake.DEFAULT_CHUNK_ROWS` for one or two workers,
    :data:`FORMS_IN_FLIGHT` shared among more, so memory stays about the same whatever their number.

    On 1M forms with 2 workers, chunks of 250,000 forms peaked at 1.2-1.3 GB over all
    processes and took about 1 s of CPU less than chunks of 125,000 (fewer fixed costs
    per chunk); ``benchmarks/bench_suite.py`` measures both.
    """
    return max(min(DEFAULT_CHUNK_ROWS, FORMS_IN_FLIGHT // max(workers, 1)), 10_000)


def can_fork() -> bool:
    """Whether worker processes are forked here (Linux: the model is shared, not loaded again)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


@dataclass
class ChunkJob:
    """What every chunk of a run is scored with (a worker inherits it when forked).

    Attributes
    ----------
    model : ScreeningModel
    per : str or None
    language : str
    with_jobcenter : bool
    duplicates : RepeatedIds or None
        The ids repeated anywhere in the file.
    folder : pathlib.Path
        Where sorted runs are written.
    repeated : RepeatedLater or None
        Instead of ``duplicates``, for chunks scored while the first pass still reads the file:
        where each chunk's forms with repeated ids are told once it is done.
    """

    model: Any
    per: str | None
    language: str
    with_jobcenter: bool
    duplicates: RepeatedIds | None
    folder: Path
    repeated: RepeatedLater | None = None


class RepeatedLater:
    """Each chunk's row numbers of forms whose ids repeat in the file, told to workers started before the first pass
    ended: written to a file in ``folder`` when the pass is done, and a flag raised that the workers (forked after
    this is made) wait on."""

    def __init__(self, folder: Path, context: Any) -> None:
        self._path = folder / "repeated-rows.npz"
        self._ready = context.Event()
        self._told: tuple[RepeatedIds, list[np.ndarray]] | None = None  # read once per process

    def publish(self, first: FirstPass) -> None:
        """Tell the pass's repeated ids and every chunk's rows."""
        partial = self._path.with_suffix(".partial.npz")
        np.savez(partial, first.duplicates.repeated, *first.repeated_rows)
        partial.replace(self._path)
        self._ready.set()

    def _read(self) -> tuple[RepeatedIds, list[np.ndarray]] | None:
        if self._told is None and self._path.exists():
            with np.load(self._path) as saved:
                told = [saved[f"arr_{number}"] for number in range(len(saved.files))]
            self._told = RepeatedIds(repeated=told[0]), told[1:]
        return self._told

    def known(self) -> RepeatedIds | None:
        """The file's repeated ids if told already (without waiting), else None."""
        told = self._read() if self._ready.is_set() else None
        return None if told is None else told[0]

    def abandon(self) -> None:
        """Let waiting workers go without rows (the run is over: an error, Ctrl-C, the file read again)."""
        self._ready.set()

    def rows_of(self, number: int) -> np.ndarray:
        """Chunk ``number``'s rows, once told (waits; RuntimeError if abandoned instead)."""
        self._ready.wait()
        told = self._read()
        if told is None:
            raise RuntimeError("the run ended before the file's repeated ids were known")
        return told[1][number]


@dataclass
class ChunkDone:
    """A chunk scored: what the run's files and summary need of it.

    Attributes
    ----------
    number : int
        The chunk's place in the file (from 0).
    totals : Totals
        The chunk's counts.
    refused : pandas.DataFrame
        Its refused rows (the validation's ``refused``).
    run : pyarrow.Table or pathlib.Path
        Its valid forms in working order, or the Arrow IPC file they were written to.
    times : dict of str to float
        Seconds by step spent on it (``validate``, ``encode``, ``model``, ``reasons``, ``rank``).
    """

    number: int
    totals: _batch.Totals
    refused: pd.DataFrame
    run: pa.Table | Path
    times: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Leave the objects made so far (modules, the loaded model) out of every garbage collection until the end.

    Collecting after each chunk then costs milliseconds, not a tenth of a second, and
    a forked worker's collections do not copy the pages of objects it shares.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def score_one_chunk(job: ChunkJob, number: int, chunk: Any, *, to_disk: bool) -> ChunkDone:
    """Score one chunk (a :class:`~screening.intake.RawTable`, or its validation done ahead) and count it."""
    times: dict[str, float] = {}
    duplicates, later = job.duplicates, None
    if job.repeated is not None:  # scored while the first pass reads: unless it is over already, told afterwards
        duplicates = job.repeated.known()
        later = None if duplicates is not None else functools.partial(job.repeated.rows_of, number)
    scored = _batch.score_chunk(job.model, chunk, per=job.per, language=job.language, duplicates=duplicates,
                                with_jobcenter=job.with_jobcenter, times=times, repeated_later=later)
    lap = _batch.Lap(times)
    totals = _batch.Totals(reference=job.model.metadata.get("drift_reference") or {})
    totals.add_validation(scored.validation)
    totals.add_scored(scored.run)
    run = _batch.write_run(scored.run, job.folder, number) if to_disk else scored.run
    lap("rank")  # the summary's counts and the sorted run on disk
    refused = scored.validation.refused
    del scored, chunk
    gc.collect()  # a chunk's frames sit in reference cycles: freed now, not some chunks later
    pa.default_memory_pool().release_unused()  # the peak of a big run stays low
    return ChunkDone(number=number, totals=totals, refused=refused, run=run, times=times)


_JOB: ChunkJob | None = None  # a worker's job: set once, when it starts


def _start_worker(job: ChunkJob) -> None:
    global _JOB
    interrupt_left_to_parent()  # a Ctrl-C between chunks: the main process ends the pool
    _JOB = job
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one BLAS/OpenMP thread per worker: the workers are the parallelism
    one_thread_per_process()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _score_in_worker(number: int, kept: Path, dialect: dict[str, str]) -> ChunkDone:
    assert _JOB is not None, "a worker's job is set when it starts"
    with interruptible():  # Ctrl-C stops the chunk at once (handed back as the task's error)
        clock = time.perf_counter()
        chunk = kept_chunk(kept, dialect=dialect)
        read = time.perf_counter() - clock
        done = score_one_chunk(_JOB, number, chunk, to_disk=True)
    done.times["read"] = read
    return done


def scored_in_workers(kept: list[Path], job: ChunkJob, *, workers: int, dialect: dict[str, str]
                      ) -> Iterator[ChunkDone]:
    """Each chunk kept by the first pass scored in one of ``workers`` forked processes; handed back in file order.

    A worker reads its chunk itself (mapped, :func:`~screening.intake.kept_chunk`):
    nothing but file names and what comes back crosses between processes. Each
    chunk's own steps come with it (``read``: mapping it).

    Raises
    ------
    FileError
        A worker process died (``worker_died``: most often the machine ran out of memory).
    """
    source = iter(enumerate(kept))
    pending: deque[Future[ChunkDone]] = deque()
    pa.default_memory_pool().release_unused()  # what the first pass left behind is not copied into every worker
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(job,)) as pool:
        try:
            with interrupt_after():  # the first submission forks the workers
                first = next(source, None)
                if first is not None:
                    pending.append(pool.submit(_score_in_worker, *first, dialect))
            while True:
                while len(pending) < workers + 1:  # one queued for each worker to go on with
                    item = next(source, None)
                    if item is None:
                        break
                    pending.append(pool.submit(_score_in_worker, *item, dialect))
                if not pending:
                    return
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise FileError("worker_died", workers=workers) from None
        finally:
            for future in pending:
                future.cancel()


def scored_while_kept(kept: Iterator[tuple[int, Path]], finish: Callable[[], FirstPass], job: ChunkJob, *,
                      workers: int, dialect: dict[str, str]) -> Iterator[ChunkDone]:
    """Chunks scored in ``workers`` forked processes as the first pass keeps them, handed back in file order.

    The first pass runs in a process of its own (:func:`~screening.intake.first_pass_forked`):
    ``kept`` gives each chunk as it is kept, ``finish`` waits for the pass. The workers
    validate and score each chunk at once, without the file's repeated ids, then wait for
    the pass to tell them (:class:`RepeatedLater`) and refuse those forms
    (``score_chunk``'s ``repeated_later``): the output is the same as scoring after the
    pass, and the pass's second of reading overlaps the scoring.

    Returns (the generator's value) None, or the pass's :class:`~screening.intake.FirstPass`
    when the pass began the file again (the line-aware reader took over): then nothing was
    handed back, the chunks scored so far are void and the caller scores ``first.kept``.

    Raises
    ------
    FileError
        From the pass, or ``worker_died`` (a worker process died).
    """
    context = multiprocessing.get_context("fork")
    later = RepeatedLater(job.folder, context)
    job = dataclasses.replace(job, duplicates=None, repeated=later)
    pending: deque[Future[ChunkDone]] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(job,)) as pool:
        try:
            reread = False
            for number, path in kept:
                if number != len(pending):  # the file is being read again from its start
                    reread = True
                    continue
                with interrupt_after():  # a submission may fork a worker
                    pending.append(pool.submit(_score_in_worker, number, path, dialect))
            first = finish()
            if reread:  # the workers let go (no run written); the pool waits for them as it closes
                return first
            later.publish(first)
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise FileError("worker_died", workers=workers) from None
        finally:
            later.abandon()
            for future in pending:
                future.cancel()
    return None
