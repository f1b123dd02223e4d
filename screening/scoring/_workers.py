"""A big file's chunks validated and scored in worker processes, one per core, handed back in file order.

:func:`score_file` reads a file of several chunks twice (:mod:`screening.intake`'s
two passes). In the second pass this process only reads: each chunk goes to a
worker process, which runs the one primitive, :func:`~screening.scoring.score_chunk`
(validation with the file's repeated ids, scoring, reasons, the sort), writes
the sorted run to an Arrow IPC file and sends back what the run's summary and
the refused-rows file need: its counts (:class:`~screening.scoring.Totals`) and
its refused rows. The merge is then the same as for runs scored in this process,
so the output does not depend on how many workers there are (the order is total).

The workers are forked once the model is loaded: they share its memory and start
in milliseconds, nothing is pickled but the chunks and what comes back. Where
``fork`` is not the platform's way (macOS, Windows) or one core is all there is,
the chunks are scored in this process. Each worker limits its BLAS and OpenMP
pools to one thread, so two workers on two cores do not fight over them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from screening.intake import DEFAULT_CHUNK_ROWS, FileError, RawTable, RepeatedIds
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


def chunk_rows_for(workers: int) -> int:
    """Forms per chunk when not told: :data:`~screening.intake.DEFAULT_CHUNK_ROWS` in this process alone; with
    workers, shared among them and this process (each worker holds a chunk being scored, this process the next
    ones being read), so memory stays about the same: measured on 1M forms with 2 workers, 125,000 forms a chunk
    peaked at 1.6-1.75 GB over all processes, 83,000 and 100,000 at 1.4 GB (``benchmarks/bench_suite.py``)."""
    return DEFAULT_CHUNK_ROWS if workers <= 1 else max(DEFAULT_CHUNK_ROWS // (workers + 1), 10_000)


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
    """

    model: Any
    per: str | None
    language: str
    with_jobcenter: bool
    duplicates: RepeatedIds | None
    folder: Path


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


def score_one_chunk(job: ChunkJob, number: int, chunk: Any, *, to_disk: bool) -> ChunkDone:
    """Score one chunk (a :class:`~screening.intake.RawTable`, or its validation done ahead) and count it."""
    times: dict[str, float] = {}
    scored = _batch.score_chunk(job.model, chunk, per=job.per, language=job.language, duplicates=job.duplicates,
                                with_jobcenter=job.with_jobcenter, times=times)
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
    _JOB = job
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one BLAS/OpenMP thread per worker: the workers are the parallelism
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _score_in_worker(number: int, chunk: RawTable) -> ChunkDone:
    assert _JOB is not None, "a worker's job is set when it starts"
    return score_one_chunk(_JOB, number, chunk, to_disk=True)


def scored_in_workers(chunks: Iterable[RawTable], job: ChunkJob, *, workers: int,
                      times: dict[str, float] | None = None) -> Iterator[ChunkDone]:
    """Each chunk scored in one of ``workers`` forked processes, in file order; chunks are read here meanwhile.

    At most ``workers + 1`` chunks are read ahead of the one handed back, so memory
    stays bounded by the chunk size whatever the file's. Seconds spent reading
    here are added to ``times["read"]``; each chunk's own steps come with it.

    Raises
    ------
    FileError
        A worker process died (``worker_died``: most often the machine ran out of memory).
    """
    source = iter(chunks)
    pending: deque[Future[ChunkDone]] = deque()
    gc.collect()
    pa.default_memory_pool().release_unused()  # what the first pass left behind is not copied into every worker
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(job,)) as pool:
        try:
            number = 0
            while True:
                while len(pending) < workers + 1:
                    clock = time.perf_counter()
                    chunk = next(source, None)
                    if times is not None:
                        times["read"] = times.get("read", 0.0) + time.perf_counter() - clock
                    if chunk is None:
                        break
                    pending.append(pool.submit(_score_in_worker, number, chunk))
                    number += 1
                    del chunk
                if not pending:
                    return
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise FileError("worker_died", workers=workers) from None
        finally:
            for future in pending:
                future.cancel()
