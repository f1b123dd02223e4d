"""The line-aware CSV reader, for the rare file Arrow cannot split: every record numbered exactly.

A stray quote must not swallow the forms after it, and an empty line is a row of
the spreadsheet (the forms after it keep their true row numbers). Lines come from
any iterable, so a file is read line by line, never whole.
"""

from __future__ import annotations

import collections
import csv
import io
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pandas as pd

from screening.intake._cells import to_text_frame

#: ``fields_found`` of a malformed record whose quote never closes.
UNBALANCED_QUOTE = -1
#: ``fields_found`` of a blank line: no record, but a row of the file as a spreadsheet shows it.
BLANK_LINE = -2
#: How many physical lines a quoted value may span before an open quote is judged unbalanced.
MAX_LINES_PER_RECORD = 50


def _split_record(text: str, separator: str) -> list[list[str]]:
    if len(text) > csv.field_size_limit():
        # The csv module refuses a field over its limit (128 KB by default) as if it were malformed; a long
        # cell is for the validator to refuse (``too_long``), so the limit is raised to the record (never lowered).
        csv.field_size_limit(len(text))
    try:
        return [record for record in csv.reader(io.StringIO(text, newline=""), delimiter=separator) if record]
    except csv.Error:
        return []


def records(lines: Iterable[str], separator: str, width: int) -> Iterator[tuple[list[str] | None, int]]:
    """Yield ``(fields or None, fields_found)`` per record, resilient to unbalanced quotes.

    A line whose quotes are balanced is one record. A line with an open quote is
    joined with the following lines until the quotes balance (a value spanning
    lines); if that does not give exactly one record of the header's width within
    ``MAX_LINES_PER_RECORD`` lines, the line alone is malformed and reading goes on
    at the next line, so one stray quote never swallows the forms after it.
    A blank line yields ``(None, BLANK_LINE)``.
    """
    source = iter(lines)
    ahead: collections.deque[str] = collections.deque()

    def next_line() -> str | None:
        if ahead:
            return ahead.popleft()
        return next(source, None)

    while (line := next_line()) is not None:
        if not line.strip():  # not a record, but a row in a spreadsheet: it counts for the rows after it
            yield None, BLANK_LINE
            continue
        if line.count('"') % 2 == 0:
            fields = _split_record(line, separator)
            found = fields[0] if len(fields) == 1 else None
            yield (found if found is not None and len(found) == width else None), (len(found) if found else 0)
            continue
        while len(ahead) < MAX_LINES_PER_RECORD and (more := next(source, None)) is not None:
            ahead.append(more)
        joined = line
        for used, extra in enumerate(ahead, start=1):
            joined += "\n" + extra
            if joined.count('"') % 2 == 0:
                fields = _split_record(joined, separator)
                if len(fields) == 1 and len(fields[0]) == width:
                    for _ in range(used):
                        ahead.popleft()
                    yield fields[0], width
                    break
                yield None, UNBALANCED_QUOTE
                break
        else:
            yield None, UNBALANCED_QUOTE


def records_frame(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    """Records split by the line-aware reader as a text frame (an empty cell is missing)."""
    columns = list(zip(*rows)) if rows else [()] * len(header)
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    table = pa.table({name: pc.if_else(pc.equal(col, ""), None, col)
                      for name, col in zip(table.column_names, table.columns)})
    return to_text_frame(table, header)
