"""Writing output files safely (whole or not at all, harmless when opened in a spreadsheet), Ctrl-C kept
from being lost while a process forks, and how many threads one process gives a big table."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import sys
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


#: glibc's ``mallopt`` parameters (malloc.h) and what a batch command sets them to (see :func:`keep_freed_memory`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_FROM = 32 * 2**20  # glibc's largest
_TRIM_FROM = 256 * 2**20


def keep_freed_memory() -> bool:
    """Let this process (and those it forks) reuse the memory it frees, instead of the system handing it out anew.

    glibc's malloc gives a block from 128 KB on its own pages from the system and gives them back when it is
    freed, raising that bound only as it sees such blocks freed; and it returns the top of its heap as soon as
    128 KB of it are free. A batch allocates and frees arrays of tens of MB for every chunk (NumPy's and
    pandas' columns of 250,000 forms), so each fresh process paid again for every new page (a worker's first
    chunk: ~70,000 page faults against 2,000–12,000 on later ones). Here blocks up to 32 MB come from the
    heap, and the heap keeps up to 256 MB freed: the next chunk reuses it. Arrow's memory (its own allocator)
    is not touched. Measured on the 1M-form file (A/B, interleaved, median of 7, 2 cores): 4.76 → 4.41 s wall,
    7.87 → 7.33 s CPU. Peak memory: the same high-water mark, held to the end of each process.

    For the commands that read a file (``score``, ``validate``), not for a process that imports
    :mod:`screening` (a case system's own allocator settings are its own).

    Returns
    -------
    bool
        Whether the C library took the settings (glibc on Linux; elsewhere nothing is changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_FROM))


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


def _process_umask() -> int:
    """The process's file mode creation mask (read once, at import: setting it to read it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Permissions of a file this package writes: as ``open`` gives a new file (``0o666`` less the umask).
_FILE_MODE = 0o666 & ~_process_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only when the block succeeds.

    A crash mid-write leaves the previous file (or none), never a partial one; two
    writers each write their own temporary file, so their contents never interleave.
    The file gets the permissions any new file of the process gets (its umask), not the
    temporary file's private ``0600``: a colleague who may read the folder may read the list.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _FILE_MODE)
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
