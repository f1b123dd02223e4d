"""Reading and validating intake forms: the contract, one reader, one validator in two shapes.

- The contract: :func:`load_contract` (the only column list), :data:`HORIZONS`, :data:`MAIN_HORIZON`.
- One reader: :class:`ChunkedTable` reads CSV (any Danish dialect), ``.xlsx`` or
  Parquet a chunk of forms at a time; :func:`read_table` is its one-chunk case;
  :func:`forms_table` takes a table already in memory; :func:`parquet_frame` turns
  typed columns (Parquet's, a Spark batch's) into the text a CSV holds.
- One validator: :func:`validate_table` judges a table (:func:`validate_in_chunks`
  a file of any size, as the whole file would be judged); :class:`FormValidator`
  judges one form the same way, fast. :func:`comparable_case_ids` gives the ids as
  validation compares them, to find ids repeated across chunks (or Spark partitions);
  :func:`refuse_repeated` completes a chunk's validation made before those were known.
- Privacy: :func:`redact`, :func:`mask_cpr` and :func:`library_message` keep
  CPR-shaped numbers out of everything shown.
- Words: refusal reasons (:func:`reason_text`) and file errors
  (:meth:`FileError.text`) in Danish by default, English on request; fields by
  their contract labels, numbers as the language writes them (:func:`format_number`).
"""

from __future__ import annotations

import os

from screening.intake import _pandera  # noqa: F401  (first: pandera without pandas-on-Spark)
from screening.intake._cells import cell_text, forms_table, parquet_frame, text_frame
from screening.intake._contract import HORIZONS, MAIN_HORIZON, Contract, Field, load_contract
from screening.intake._decode import Format
from screening.intake._form import FormValidator, RefusedFormError, ValidForm
from screening.intake._icd10 import normalise_codes
from screening.intake._ids import RepeatedIds
from screening.intake._messages import (
    LANGUAGES,
    Language,
    field_label,
    format_number,
    reason_label,
    reason_text,
)
from screening.intake._kept import kept_chunk
from screening.intake._passes import (
    FirstPass,
    ForkedPass,
    ValidationTotals,
    first_pass,
    first_pass_forked,
    validate_in_chunks,
    validated_ahead,
)
from screening.intake._privacy import CPR_MASK, CPR_PATTERN, library_message, mask_cpr, redact
from screening.intake._read import DEFAULT_CHUNK_ROWS, VALIDATE_CHUNK_ROWS, ChunkedTable, read_table
from screening.intake._table import TEXT_DTYPE, FileError, RawTable
from screening.intake._validate import (
    REFUSED_COLUMNS,
    Validation,
    comparable_case_ids,
    prepare_validation,
    refuse_repeated,
    validate_table,
)


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
    "CPR_MASK",
    "CPR_PATTERN",
    "DEFAULT_CHUNK_ROWS",
    "HORIZONS",
    "LANGUAGES",
    "MAIN_HORIZON",
    "REFUSED_COLUMNS",
    "TEXT_DTYPE",
    "VALIDATE_CHUNK_ROWS",
    "ChunkedTable",
    "Contract",
    "Field",
    "FileError",
    "FirstPass",
    "ForkedPass",
    "FormValidator",
    "Format",
    "Language",
    "RawTable",
    "RefusedFormError",
    "RepeatedIds",
    "ValidForm",
    "Validation",
    "ValidationTotals",
    "cell_text",
    "comparable_case_ids",
    "first_pass",
    "first_pass_forked",
    "kept_chunk",
    "field_label",
    "format_number",
    "forms_table",
    "library_message",
    "load_contract",
    "mask_cpr",
    "normalise_codes",
    "parquet_frame",
    "prepare_validation",
    "read_table",
    "reason_label",
    "reason_text",
    "redact",
    "refuse_repeated",
    "text_frame",
    "validate_file",
    "validate_in_chunks",
    "validate_table",
    "validated_ahead",
]
