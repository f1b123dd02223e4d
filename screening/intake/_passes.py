"""Validating a file of any size: two passes over its chunks, judged as the whole file would be.

The first pass (:func:`first_pass`) checks the header and finds the ``case_id``
values repeated anywhere in the file, kept as 16-byte fingerprints
(:mod:`._ids`); the second validates each chunk with that list
(:func:`validated_ahead`), the next chunk read and validated in a thread while
the current one is used. A file of one chunk is read once. The pass can also tell
each chunk as soon as it is kept, and the rows of each chunk whose ids repeat, so
that a chunk is validated while the pass goes on and completed afterwards
(:func:`~screening.intake.refuse_repeated`).
:class:`ValidationTotals` adds up what the chunks' validations say of the file.

Both passes can add the seconds they spend to a ``times`` dict, by step:
``read`` (reading and decoding chunks), ``ids`` (the first pass's fingerprints of
repeated ids) and ``validate``. A few clock readings per chunk, never per form.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from screening._io import interrupt_after, interrupt_left_to_parent
from screening.intake._ids import RepeatedIds, fingerprints
from screening.intake._kept import keep_chunk
from screening.intake._messages import Language
from screening.intake._read import ChunkedTable
from screening.intake._table import FileError, RawTable
from screening.intake._validate import Validation, case_ids_with_rows, validate_table


@dataclass
class FirstPass:
    """What the first read of a file found.

    Attributes
    ----------
    chunk : RawTable or None
        The file's only chunk, kept so that a file of one chunk is read once.
    duplicates : RepeatedIds or None
        With more than one chunk: the ids repeated anywhere in the file.
    sha256 : str or None
        SHA-256 of the file's bytes (CSV), to notice a file changed before the second pass.
    kept : list of pathlib.Path or None
        With more than one chunk and ``keep_in``: every chunk as read, in order, kept on disk
        (read them back with :func:`kept_chunk`: the second pass need not read the file again).
    repeated_rows : list of numpy.ndarray or None
        With more than one chunk: for each chunk, the row numbers of its forms whose id is
        repeated in the file (the rows to give :func:`~screening.intake.refuse_repeated`, for a
        chunk validated before the pass ended).
    """

    chunk: RawTable | None
    duplicates: RepeatedIds | None
    sha256: str | None
    kept: list[Path] | None = None
    repeated_rows: list[np.ndarray] | None = None


def first_pass(table: ChunkedTable, *, training: bool = False, times: dict[str, float] | None = None,
               keep_in: Path | None = None, on_kept: Callable[[int, Path], None] | None = None) -> FirstPass:
    """Read the file once: check its header and find ``case_id`` values repeated anywhere in it.

    Ids are kept as 16-byte fingerprints (``_ids``), not as text, so that this
    pass stays small for any number of forms.

    Parameters
    ----------
    table : ChunkedTable
    training : bool, default False
        Compare ids as validation with the training outcome columns does.
    times : dict of str to float, optional
        Seconds spent are added to its ``read`` (reading and decoding) and ``ids`` (fingerprints) entries.
    keep_in : pathlib.Path, optional
        A private folder where every chunk is also kept as read (Arrow IPC, :mod:`._kept`; about
        the file's size), so that a file of several chunks is read and decoded once. Keeping
        counts as ``read``.
    on_kept : callable, optional
        Called with each chunk's number and path as soon as it is kept, so that its work can
        start while the pass goes on. A chunk number seen before means the file is being
        read again from its start (the line-aware reader took over): the chunks kept before
        are void, and the new ones are kept under other names.

    Raises
    ------
    FileError
        A problem with the file or its header.
    """
    on_ids = 0.0  # seconds in ``visit``: the rest of the pass is reading

    def ids_of(chunk: RawTable) -> tuple[np.ndarray, np.ndarray]:
        """The fingerprints of the chunk's ids, and the row number of each."""
        nonlocal on_ids
        clock = time.perf_counter()
        ids, rows = case_ids_with_rows(chunk, training=training)
        found = fingerprints(ids), rows[ids.notna().to_numpy()]
        on_ids += time.perf_counter() - clock
        return found

    kept: list[Path] = []
    folder = keep_in

    def visit(number: int, chunk: RawTable) -> RawTable | tuple[np.ndarray, np.ndarray]:
        nonlocal folder
        if keep_in is not None:
            if number < len(kept):  # the file read again from its start (the line-aware reader took over)
                del kept[number:]
                folder = Path(tempfile.mkdtemp(prefix="reread-", dir=keep_in))  # the void chunks' names stay void
            kept.append(keep_chunk(chunk, folder, number))
            if on_kept is not None:
                on_kept(number, kept[-1])
        # The first chunk is kept whole (a file of one chunk is not read twice); the others give their ids.
        return chunk if number == 0 else ids_of(chunk)

    clock = time.perf_counter()
    results = table.map_chunks(visit)
    _add_time(times, "read", time.perf_counter() - clock - on_ids)
    if len(results) == 1:
        _add_time(times, "ids", on_ids)
        for path in kept:
            path.unlink(missing_ok=True)
        return FirstPass(chunk=results[0], duplicates=None, sha256=table.sha256)
    results[0] = ids_of(results[0])
    clock = time.perf_counter()
    duplicates = RepeatedIds.of(prints for prints, _ in results)
    repeated_rows = [rows[duplicates.contains(prints)] for prints, rows in results]
    _add_time(times, "ids", on_ids + time.perf_counter() - clock)
    return FirstPass(chunk=None, duplicates=duplicates, sha256=table.sha256,
                     kept=kept if keep_in is not None else None, repeated_rows=repeated_rows)


@contextlib.contextmanager
def first_pass_forked(table: ChunkedTable, *, keep_in: Path, training: bool = False,
                      times: dict[str, float] | None = None) -> Iterator[ForkedPass]:
    """:func:`first_pass` in a forked process (Linux) while the ``with`` block does other work.

    The block gets a :class:`ForkedPass`: called, it waits for the pass and returns its
    :class:`FirstPass` (the file's only chunk included, sent back through a pipe: it never
    touches the disk), having settled ``table`` as the pass left it (dialect, reader,
    checksum) and added the pass's seconds to ``times``; it raises what the pass raised (a
    :class:`FileError` for a bad file). Its :meth:`~ForkedPass.kept` gives each chunk as
    soon as it is kept, for work that need not wait for the whole pass. Reading is mostly
    Arrow and NumPy, loading a model mostly importing Python modules: in one process the
    two take turns at the GIL, in two they run on two cores (a million forms scored
    0.4-0.5 s sooner, measured side by side). Leaving the block before the pass is done
    ends the process.

    Raises
    ------
    FileError
        From the pass, or ``first_pass_died`` when its process stopped without an answer
        (most often: the machine ran out of memory).
    """
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_first_pass_child, args=(table, keep_in, training, sending),
                              name="screening-first-pass", daemon=True)
    with interrupt_after():
        process.start()
    sending.close()
    passing = ForkedPass(table, receiving, times)
    try:
        yield passing
    finally:
        if not passing.done:
            process.terminate()
        process.join()
        receiving.close()


class ForkedPass:
    """The first pass running in its own process (:func:`first_pass_forked`): its chunks as they are kept, and its
    outcome."""

    def __init__(self, table: ChunkedTable, receiving: Any, times: dict[str, float] | None) -> None:
        self._table, self._receiving, self._times = table, receiving, times
        self._outcome: FirstPass | None = None
        self._error: BaseException | None = None
        self._announced: list[tuple[int, Path]] = []  # kept chunks received while waiting for something else

    @property
    def done(self) -> bool:
        """Whether the pass has answered (its outcome or its error)."""
        return self._outcome is not None or self._error is not None

    def _receive(self) -> tuple[int, Path] | None:
        """The next chunk kept, or None once the pass has ended (its outcome kept, its error raised)."""
        try:
            message = self._receiving.recv()
        except EOFError:
            raise FileError("first_pass_died") from None
        if message[0] == "kept":
            return message[1], message[2]
        if message[0] == "error":
            self._error = message[1]
            raise self._error
        _, first, settled, seconds = message
        self._table._settle(settled)
        for step, value in seconds.items():
            _add_time(self._times, step, value)
        self._outcome = first
        return None

    def kept(self) -> Iterator[tuple[int, Path]]:
        """Each chunk's number and path as soon as it is kept; over when the pass is. A number seen before: the
        file is being read again from its start, and the chunks kept before are void (see :func:`first_pass`)."""
        while self._announced:
            yield self._announced.pop(0)
        while not self.done:
            announced = self._receive()
            if announced is None:
                return
            yield announced

    def __call__(self) -> FirstPass:
        """Wait for the pass; its outcome (what it raised, raised here)."""
        while not self.done:
            announced = self._receive()
            if announced is not None:
                self._announced.append(announced)
        if self._error is not None:
            raise self._error
        return self._outcome


def _first_pass_child(table: ChunkedTable, keep_in: Path, training: bool, sending) -> None:  # noqa: ANN001
    """The forked process of :func:`first_pass_forked`: each chunk kept, then the outcome or error, sent back.

    Ctrl-C is the parent's: leaving :func:`first_pass_forked`'s block ends this process.
    """
    interrupt_left_to_parent()
    times: dict[str, float] = {}
    try:
        first = first_pass(table, training=training, times=times, keep_in=keep_in,
                           on_kept=lambda number, path: sending.send(("kept", number, path)))
        message = ("done", first, table._settled(), times)
    except BaseException as error:  # raised in the parent; Ctrl-C there ends this process anyway
        message = ("error", error)
    try:
        sending.send(message)
    except Exception:  # an error that cannot be pickled: its type and line instead
        sending.send(("error", RuntimeError(f"{type(message[1]).__name__}: {message[1]}")))
    finally:
        sending.close()


def validated_ahead(chunks: Iterable[RawTable], *, duplicates: RepeatedIds | None, training: bool = False,
                    language: Language = "da", times: dict[str, float] | None = None) -> Iterator[Validation]:
    """Validations of the chunks in order, the next read and validated in a thread while this one is used.

    Reading (Arrow) and scoring (NumPy) release the GIL for most of their work, so
    on two cores they overlap; one chunk more is held in memory. With ``times``,
    the seconds the thread spends are added to its ``read`` and ``validate``
    entries (only that thread writes them while the validations are used).
    """
    source = iter(chunks)

    def next_validation() -> Validation | None:
        clock = time.perf_counter()
        chunk = next(source, None)
        read = time.perf_counter()
        _add_time(times, "read", read - clock)
        if chunk is None:
            return None
        validation = validate_table(chunk, training=training, language=language, duplicate_case_ids=duplicates)
        _add_time(times, "validate", time.perf_counter() - read)
        return validation

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-read") as pool:
        ahead = pool.submit(next_validation)
        while (validation := ahead.result()) is not None:
            ahead = pool.submit(next_validation)
            yield validation
            del validation


def _add_time(times: dict[str, float] | None, step: str, seconds: float) -> None:
    if times is not None:
        times[step] = times.get(step, 0.0) + seconds


def validate_in_chunks(table: ChunkedTable, *, training: bool = False, language: Language = "da"
                       ) -> Iterator[Validation]:
    """Both passes over a file: each chunk's :class:`Validation`, as validating the whole file would judge it.

    Raises
    ------
    FileError
        A problem with the file, or it changed between the passes.
    """
    first = first_pass(table, training=training)
    chunks: Iterable[RawTable] = [first.chunk] if first.chunk is not None else table
    first.chunk = None
    yield from validated_ahead(chunks, duplicates=first.duplicates, training=training, language=language)
    if first.duplicates is not None and table.sha256 != first.sha256:
        raise FileError("changed_while_read", name=table.path.name)


@dataclass
class ValidationTotals:
    """A file's validation summed over its chunks: what :class:`Validation` says of a whole file, without the forms.

    Attributes
    ----------
    rows_read, valid_rows, refused_rows, blank_rows : int
    ignored_columns, absent_columns : list of str
    dialect : dict
    notes : collections.Counter
    """

    rows_read: int = 0
    valid_rows: int = 0
    refused_rows: int = 0
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)
    notes: Counter = field(default_factory=Counter)
    absent_columns: list[str] = field(default_factory=list)
    _by_reason: Counter = field(default_factory=Counter)

    def add(self, validation: Validation) -> None:
        """Count one chunk's validation in."""
        first = self.rows_read == 0 and not self.dialect
        self.rows_read += int(validation.rows_read)
        self.valid_rows += len(validation.valid)
        self.refused_rows += int(validation.refused_rows)
        self.blank_rows += int(validation.blank_rows)
        self._by_reason.update(validation.refused_by_reason())
        self.notes.update(validation.notes)
        if first:
            self.ignored_columns = list(validation.ignored_columns)
            self.absent_columns = list(validation.absent_columns)
            self.dialect = dict(validation.dialect)

    def add_totals(self, other: ValidationTotals) -> None:
        """Count in the totals of other chunks of the same input (a Spark partition's, for example)."""
        first = self.rows_read == 0 and not self.dialect
        self.rows_read += other.rows_read
        self.valid_rows += other.valid_rows
        self.refused_rows += other.refused_rows
        self.blank_rows += other.blank_rows
        self._by_reason.update(other._by_reason)
        self.notes.update(other.notes)
        if first:
            self.ignored_columns = list(other.ignored_columns)
            self.absent_columns = list(other.absent_columns)
            self.dialect = dict(other.dialect)

    def refused_by_reason(self) -> dict[tuple[str, str], int]:
        """Forms refused per (column, reason kind), over the whole file."""
        return dict(self._by_reason)
