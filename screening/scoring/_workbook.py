"""The week as an Excel workbook for people: the ranked list and the refused rows, streamed to disk.

``screening score --output week.xlsx`` (and :func:`~screening.scoring.score_file`
with an ``.xlsx`` output) writes, with XlsxWriter:

* sheet ``Rangliste`` ("Ranked list" in English): the ranked list with the headers
  and words of :mod:`._output` (``Rang``, ``Sags-id``, ...; ``høj``, ``ja``, ...),
  risks as numbers shown as percentages, ranks and horizons as numbers, a frozen
  header row, an autofilter and column widths that fit;
* sheet ``Afviste`` ("Refused"): the refused rows (``Række``, ``Sags-id``, ``Felt``,
  ``Værdi``, ``Årsag``).

Cells take their kind from the column's type, so a column the ranked list grows
is written sensibly before anyone adds its header to :data:`._output.HEADERS`.
Every text is written as a string cell (``write_string``, with
``strings_to_formulas`` off): ``=HYPERLINK(...)`` or ``-2`` in a case id is text that
a spreadsheet shows and never runs, so it needs none of the CSV's apostrophes.

Rows are written as the merge hands them on, in XlsxWriter's constant-memory mode:
each row goes to a temporary file as soon as the next one starts, so a week of a
million forms takes no more memory than its CSV. A sheet holds at most
:data:`MAX_SHEET_ROWS` rows (Excel's limit); a bigger week is a
:class:`~screening.intake.FileError` that says to write a CSV. The workbook has no
clock in it (a fixed creation date; XlsxWriter fixes the zip's dates), so the same
week gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.intake import FileError
from screening.scoring._output import header_labels, in_words, is_risk, value_words

#: Rows of a sheet, its header included (Excel's limit).
MAX_SHEET_ROWS = 1_048_576
#: The sheets' names, by language.
SHEET_NAMES: dict[str, dict[str, str]] = {"da": {"ranked": "Rangliste", "refused": "Afviste"},
                                          "en": {"ranked": "Ranked list", "refused": "Refused"}}
#: Width (in characters) of the columns whose content is known; others fit their header.
WIDTHS: dict[str, float] = {
    "rank": 7, "case_id": 16, "jobcenter": 16, "queue": 18, "horizon": 10, "priority": 11,
    "contact_this_week": 11, "reasons": 110, "questions": 50, "model_version": 24,
    "row": 8, "column": 22, "value": 24, "reason": 60,
}
RISK_WIDTH = 10
#: How a risk is shown: a percentage with one decimal (``42,5 %`` in Danish Excel), as on the weekly page; the
#: cell holds the risk itself (four decimals), so sorting, filtering and formulas see the number.
PERCENT_FORMAT = "0.0%"
#: Rows turned into Python values at a time (bounds the memory of a slice of the merge).
_ROWS_AT_A_TIME = 16_384
_CREATED = dt.datetime(2000, 1, 1)  # no clock in the file: the same week gives the same bytes


class WeekWorkbook:
    """The week's workbook, filled as rows arrive and finished by :meth:`close`.

    Parameters
    ----------
    path : str or path-like
        The file to write (``score_file`` gives a temporary path that it moves into place).
    ranked_columns : sequence of str
        The ranked list's columns, in order (those of ``_batch.ranked_table``).
    refused_columns : sequence of str
        The refused rows' columns, in order.
    language : {"da", "en"}, default "da"
        Language of sheet names, headers and words.
    scratch : str or path-like, optional
        Folder for XlsxWriter's temporary files (by default the system's).
    """

    def __init__(self, path: str | os.PathLike[str], *, ranked_columns: Sequence[str],
                 refused_columns: Sequence[str], language: str = "da",
                 scratch: str | os.PathLike[str] | None = None) -> None:
        try:
            import xlsxwriter
        except ImportError:  # pragma: no cover - a dependency of the package
            raise RuntimeError("writing an .xlsx ranked list needs XlsxWriter: pip install xlsxwriter") from None
        options: dict[str, Any] = {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False}
        if scratch is not None:
            options["tmpdir"] = os.fspath(scratch)
        self._book = xlsxwriter.Workbook(os.fspath(path), options)
        self._book.set_properties({"created": _CREATED})
        formats = {"header": self._book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                                    "bg_color": "#EEF1F4", "bottom": 1}),
                   "percent": self._book.add_format({"num_format": PERCENT_FORMAT}),
                   "centred": self._book.add_format({"align": "center"})}
        names = SHEET_NAMES[language]
        self.ranked = _Sheet(self._book, names["ranked"], list(ranked_columns), language, formats)
        self.refused = _Sheet(self._book, names["refused"], list(refused_columns), language, formats)

    def add_ranked(self, table: pa.Table) -> None:
        """Append ranked rows (the next rows in working order, typed as ``_batch.ranked_table`` gives them)."""
        self.ranked.add(table)

    def add_refused(self, refused: pd.DataFrame) -> None:
        """Append refused rows (as the validation gives them, without ``kind``)."""
        self.refused.add(pa.Table.from_pandas(refused, preserve_index=False))

    def check_room(self, ranked_rows: int) -> None:
        """Refuse (FileError) a ranked list longer than a sheet holds, before any of it is written."""
        self.ranked.check_room(ranked_rows)

    def close(self) -> None:
        """Finish both sheets (autofilters over their rows) and write the file."""
        for sheet in (self.ranked, self.refused):
            sheet.finish()
        self._book.close()


class _Sheet:
    """One sheet of the workbook: a header row, then rows appended in order."""

    def __init__(self, book: Any, name: str, columns: list[str], language: str, formats: dict[str, Any]) -> None:
        self.name = name
        self.columns = columns
        self.language = language
        self.rows = 0
        self._formats = formats
        self._sheet = book.add_worksheet(name)
        labels = header_labels(columns, language)
        lines = 1
        for position, (column, label) in enumerate(zip(columns, labels)):
            width = _width(column, label)
            lines = max(lines, len(textwrap.wrap(label, int(width))) or 1)
            self._sheet.set_column(position, position, width)
        self._sheet.set_row(0, 15 * lines + 3)
        for position, label in enumerate(labels):
            self._sheet.write_string(0, position, label, formats["header"])
        self._sheet.freeze_panes(1, 0)
        # Printed: landscape A4, as wide as one page, the header on every page.
        self._sheet.set_landscape()
        self._sheet.set_paper(9)
        self._sheet.fit_to_pages(1, 0)
        self._sheet.repeat_rows(0)

    def check_room(self, rows: int) -> None:
        if self.rows + rows >= MAX_SHEET_ROWS:
            raise FileError("sheet_too_long", maximum=MAX_SHEET_ROWS - 1, sheet=self.name, rows=self.rows + rows)

    def add(self, table: pa.Table) -> None:
        if table.column_names != self.columns:  # pragma: no cover - a defect of ours
            raise RuntimeError(f"sheet {self.name}: columns {table.column_names} instead of {self.columns}")
        self.check_room(table.num_rows)
        write = {"number": self._sheet.write_number, "text": self._sheet.write_string}
        for start in range(0, table.num_rows, _ROWS_AT_A_TIME):
            part = table.slice(start, _ROWS_AT_A_TIME)
            cells = [self._cells(name, part.column(name).combine_chunks()) for name in self.columns]
            writers = [write[kind] for kind, _, _ in cells]
            formats = [cell_format for _, _, cell_format in cells]
            row = self.rows + 1
            for values in zip(*(values for _, values, _ in cells)):
                for position, value in enumerate(values):
                    if value is not None:  # an empty cell
                        writers[position](row, position, value, formats[position])
                row += 1
            self.rows += part.num_rows

    def _cells(self, name: str, values: pa.Array) -> tuple[str, list[Any], Any]:
        """How a column's cells are written: the kind of cell, the values (None: empty), the cell format."""
        words = value_words(self.language)
        kind = values.type
        if pa.types.is_boolean(kind) or name in words:
            spelt = in_words(values, words.get(name, words["contact_this_week"]))
            return "text", spelt.to_pylist(), self._formats["centred"]
        if pa.types.is_integer(kind):
            return "number", values.to_pylist(), self._formats["centred"]
        if pa.types.is_floating(kind):  # NaN as an empty cell, as null is
            values = pc.if_else(pc.is_nan(values), pa.scalar(None, kind), values)
            return "number", values.to_pylist(), self._formats["percent"] if is_risk(name) else None
        if pa.types.is_null(kind):
            return "text", [None] * len(values), None
        text = values.cast(pa.string())
        return "text", pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text).to_pylist(), None

    def finish(self) -> None:
        self._sheet.autofilter(0, 0, self.rows, len(self.columns) - 1)


def _width(column: str, label: str) -> float:
    """A column's width: its content's, and at least the header's longest word, and half the header."""
    content = RISK_WIDTH if is_risk(column) else WIDTHS.get(column, 14)
    longest_word = max((len(word) for word in label.split()), default=0)
    return float(max(content, longest_word + 2, len(label) / 2 + 2))
