"""What every reader returns: a :class:`RawTable` of text cells, and the one error that stops a run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screening.intake._messages import Language, file_error_text

#: The dtype of every cell of a :class:`RawTable` (text, missing = NaN), and of text columns downstream.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


class FileError(Exception):
    """A problem with the file as a whole: the run stops (exit code 2) and nothing is scored.

    Parameters
    ----------
    kind : str
        What is wrong: a stable code from the catalogue ``_messages.FILE_ERRORS``,
        such as ``"no_such_file"`` or ``"missing_columns"``.
    **params
        The facts the message names (a path, columns, a library's message).

    Attributes
    ----------
    kind : str
    params : dict

    Notes
    -----
    ``str(error)`` is the English line, for library callers and logs;
    :meth:`text` gives it in the language a person reads. Neither ever shows a
    CPR-shaped number, nor runs over one line.
    """

    def __init__(self, kind: str, /, **params: object) -> None:
        self.kind = kind
        self.params = params
        super().__init__(self.text("en"))

    def text(self, language: Language = "da") -> str:
        """The message in ``language`` (``"da"``, the default, or ``"en"``)."""
        return file_error_text(self.kind, language, **self.params)

    def __reduce__(self) -> tuple[object, ...]:  # pickled with its kind and facts, not only its English line
        return _file_error, (self.kind, self.params)

    @classmethod
    def rebuilt(cls, kind: str, params: dict[str, object]) -> FileError:
        """The error again from its ``kind`` and ``params`` (a Spark task sends them to the driver as JSON)."""
        return _file_error(kind, params)


def _file_error(kind: str, params: dict[str, object]) -> FileError:
    return FileError(kind, **params)


@dataclass
class RawTable:
    """A table as read, before any parsing.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record, all cells text (``str`` dtype), missing cells NA.
        Columns carry the file's own header names.
    row_numbers : numpy.ndarray
        For each row of ``frame``, its row in the file as a spreadsheet shows it
        (the header is row 1, the first form row 2).
    malformed : list of tuple
        Records that could not be split into the header's fields:
        ``(row_number, fields_found, fields_expected)``; ``fields_found`` is
        ``UNBALANCED_QUOTE`` (-1) when a quote opened on the row never closes.
    dialect : dict
        What was detected: format, encoding, separator.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    malformed: list[tuple[int, int, int]] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        """Records read, well-formed or not (blank lines are not records)."""
        return len(self.frame) + len(self.malformed)
