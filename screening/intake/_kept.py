"""Chunks of a file kept on disk by the first pass, so that a file of several chunks is read and decoded once.

A kept chunk is an Arrow IPC file: the text cells (columns ``c0``, ``c1``, ...,
the file's header in the schema's metadata, since names may be blank or
repeated), the row numbers, and the malformed records and dialect as JSON in
the metadata. Reading it back maps the file and wraps its buffers: no parsing,
no decoding, no copy of the cells. Only this process's own private scratch
folder holds them, and they are removed once read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from screening.intake._cells import to_text_frame
from screening.intake._table import RawTable

_ROWS = "__row_number__"


def keep_chunk(chunk: RawTable, folder: Path, number: int) -> Path:
    """Write a chunk as read to ``folder`` (an Arrow IPC file named by ``number``); return its path."""
    frame = chunk.frame
    columns = {f"c{i}": pa.array(frame.iloc[:, i], type=pa.large_string(), from_pandas=True)
               for i in range(frame.shape[1])}
    columns[_ROWS] = pa.array(np.asarray(chunk.row_numbers, dtype=np.int64))
    metadata = {"header": json.dumps([str(name) for name in frame.columns]),
                "malformed": json.dumps([list(map(int, record)) for record in chunk.malformed]),
                "dialect": json.dumps(chunk.dialect)}
    table = pa.table(columns).replace_schema_metadata(metadata)
    path = folder / f"chunk-{number:06d}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def kept_chunk(path: Path, *, dialect: dict[str, str] | None = None, remove: bool = True) -> RawTable:
    """A chunk written by :func:`keep_chunk`, as it was read (``dialect``: the file's, final after the first pass).

    With ``remove`` the file is unlinked once mapped (its pages live as long as the chunk).
    """
    with pa.memory_map(str(path), "r") as source:
        table = pa.ipc.open_file(source).read_all()
    if remove:
        path.unlink(missing_ok=True)
    metadata = {key.decode(): value.decode() for key, value in (table.schema.metadata or {}).items()}
    header = json.loads(metadata["header"])
    rows = table.column(_ROWS).to_numpy()
    cells = table.drop_columns([_ROWS])
    return RawTable(frame=to_text_frame(cells, header), row_numbers=rows,
                    malformed=[tuple(record) for record in json.loads(metadata["malformed"])],
                    dialect=dialect if dialect is not None else json.loads(metadata["dialect"]))
