"""Writing output files safely (whole or not at all, harmless when opened in a spreadsheet), Ctrl-C kept
from being lost while a process forks, and how many threads one process gives a big table."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

#: Threads one process gives a big table's work (NumPy's and Arrow's kernels let go of the GIL): one per core,
#: at most two, unless :func:`one_thread_per_process` said one.
_TABLE_THREADS = {"n": min(2, os.cpu_count() or 1)}


def table_threads() -> int:
    """How many threads this process works a big table with (validation's columns, the model's blocks)."""
    return _TABLE_THREADS["n"]


def one_thread_per_process() -> None:
    """Work every table on this process's one thread: in a worker process, where the processes are the
    parallelism (a worker's second thread only took turns with the other processes on the same two cores:
    about 5 % more CPU a run, measured)."""
    _TABLE_THREADS["n"] = 1


#: A text cell starting with one of these is read as a formula by Excel and LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe (OWASP advice)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            text = column.astype("str")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False)
            if risky.any():
                out[name] = text.where(~risky, "'" + text)
    return out


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only when the block succeeds.

    A crash mid-write leaves the previous file (or none), never a partial one; two
    writers each write their own temporary file, so their contents never interleave.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (input fingerprints, model manifests)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV (UTF-8, comma, LF) atomically, with formulas neutralised."""
    with atomic_path(path) as temporary:
        neutralise_formulas(frame).to_csv(temporary, index=False, lineterminator="\n")


@contextlib.contextmanager
def interrupt_after() -> Iterator[None]:
    """Ctrl-C pressed during the block is raised (``KeyboardInterrupt``) as it ends, not inside it.

    Fork processes in this block: a Ctrl-C that lands while ``os.fork`` runs the
    interpreter's at-fork handlers (``logging``'s) is raised inside one of them, printed
    as "Exception ignored" and lost, and the run went on as if nothing had been pressed.
    A child forked here inherits the holding handler: :func:`interrupt_left_to_parent` in it.
    Only where Ctrl-C raises as usual (the main thread, Python's own handler).
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pressed: list[int] = []
    signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt


def interrupt_left_to_parent() -> None:
    """In a process forked inside :func:`interrupt_after`: Ctrl-C is the parent's to handle, and ignored here.

    A terminal's Ctrl-C reaches every process of the group. A child that raised it
    anywhere (importing, waiting for work, sending a result) would print a traceback
    and could die where its parent does not expect it: a process pool whose worker
    died while the parent cancelled its work never ended (CPython 3.11's
    ``terminate_broken``). The parent, interrupted too, ends its children; work they
    may stop at once runs inside :func:`interruptible`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """In a child of :func:`interrupt_left_to_parent`: Ctrl-C raises ``KeyboardInterrupt`` inside the block
    (a chunk being scored stops at once), and is ignored again after it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
