"""Writing output files safely: whole or not at all, and harmless when opened in a spreadsheet."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

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
