"""The audit log: one JSON line per batch run, appended, with no personal data.

What a line holds: when the run ended (UTC), the command, the model's version and
checksum, the SHA-256 and size of the input file, how it was read, the counts
(read, scored, refused per column and reason kind, priorities, contacts), the
drift warnings, the options, the names (not the folders) of the files written,
and the time taken. Never a case id, a value from a form, or a jobcenter name
(per-jobcenter counts would name who was screened where in small places).

Where: ``--audit-log PATH``, else the ``SCREENING_AUDIT_LOG`` environment
variable, else ``screening-audit.jsonl`` beside the output. A line is written
with one ``write`` on a file opened for appending, so lines of runs that end at
the same time do not interleave.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

AUDIT_FILE_NAME = "screening-audit.jsonl"
AUDIT_ENVIRONMENT = "SCREENING_AUDIT_LOG"
#: Summary keys copied into the audit line (all counts or facts about the model).
SUMMARY_KEYS = ("rows_read", "scored", "refused", "refused_by_reason", "blank_rows", "priority_counts",
                "contacts", "model_version", "model_checksum", "model_family", "drift_warnings", "inputs_not_in_file")


def audit_path(output: str | os.PathLike[str], configured: str | os.PathLike[str] | None = None) -> Path:
    """Where the audit line goes (see the module docstring)."""
    if configured:
        return Path(configured)
    if os.environ.get(AUDIT_ENVIRONMENT):
        return Path(os.environ[AUDIT_ENVIRONMENT])
    return Path(output).resolve().parent / AUDIT_FILE_NAME


def audit_record(
    summary: dict[str, Any],
    *,
    input_path: str | os.PathLike[str],
    input_sha256: str,
    dialect: dict[str, str],
    options: dict[str, Any],
    files: dict[str, str | os.PathLike[str] | None],
    seconds: float,
) -> dict[str, Any]:
    """The audit line of a run, as a dict (see the module docstring for what it holds)."""
    record: dict[str, Any] = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "score",
        "input": {"sha256": input_sha256, "bytes": Path(input_path).stat().st_size,
                  "format": dialect.get("format"), "encoding": dialect.get("encoding"),
                  "separator": dialect.get("separator")},
    }
    record.update({key: summary.get(key) for key in SUMMARY_KEYS})
    record["options"] = options
    record["files"] = {kind: Path(path).name for kind, path in files.items() if path}
    record["seconds"] = round(seconds, 2)
    return record


def append_audit(path: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Append one JSON line to the audit log (creating it and its folder if needed)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode("utf-8")
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return target
