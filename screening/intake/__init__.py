"""Reading and validating intake forms: ``read_table`` → ``validate_table``, or both with ``validate_file``."""

from __future__ import annotations

import os

from screening.intake._contract import Contract, Field, load_contract
from screening.intake._messages import Language
from screening.intake._read import FileError, Format, RawTable, read_table
from screening.intake._validate import Validation, validate_table


def validate_file(
    path: str | os.PathLike[str],
    *,
    training: bool = False,
    language: Language = "da",
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
) -> Validation:
    """Read a jobcenter file and validate every form in it.

    Parameters
    ----------
    path : str or path-like
        CSV (any Danish dialect), ``.xlsx`` (first sheet) or Parquet.
    training : bool, default False
        Also require the training outcome columns.
    language : {"da", "en"}, default "da"
        Language of the refusal reasons.
    file_format, separator, encoding : optional
        Override what is detected.

    Returns
    -------
    Validation

    Raises
    ------
    FileError
        A problem with the file as a whole; nothing is validated.
    """
    raw = read_table(path, file_format=file_format, separator=separator, encoding=encoding)
    return validate_table(raw, training=training, language=language)


__all__ = [
    "Contract",
    "Field",
    "FileError",
    "RawTable",
    "Validation",
    "load_contract",
    "read_table",
    "validate_file",
    "validate_table",
]
