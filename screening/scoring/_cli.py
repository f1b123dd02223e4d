"""``screening score``: the weekly batch, from a file of forms to a ranked list, refusals, a page and an audit line.

``screening/cli.py`` wires :func:`add_score_arguments` and :func:`run_score` in as
the ``score`` subcommand. Exit codes follow the rest of the command: 0 when the
file was processed (refused rows are not an error), 2 on a problem with a file
as a whole (the input, the model, an output that cannot be written), reported as
one line by raising :class:`~screening.intake.FileError`. Nothing is written
until everything has been computed, and then every file is moved into place
together, so a failed run leaves no output behind (nor an audit line).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from screening.intake import FileError

LANGUAGES = ("da", "en")


def _capacity(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _chunk_rows(value: str) -> int:
    number = _capacity(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``score`` command's options to an argument parser."""
    parser.add_argument("--model", required=True,
                        help="model directory, or an MLflow URI such as models:/screening@champion")
    parser.add_argument("--input", required=True, help="the week's forms: CSV, .xlsx or Parquet")
    parser.add_argument("--output", required=True, help="the ranked list to write (CSV)")
    parser.add_argument("--rejects", help="refused rows to write (CSV; default: OUTPUT_refused.csv beside the output)")
    parser.add_argument("--report", help="also write the weekly page (self-contained HTML) to this file")
    parser.add_argument("--capacity", type=_capacity,
                        help="mark the first K forms (per jobcenter with --per) for contact this week")
    parser.add_argument("--per", choices=["jobcenter"], help="rank within each jobcenter")
    parser.add_argument("--language", choices=list(LANGUAGES), default="da",
                        help="language of reasons, refusals and the page (default da)")
    parser.add_argument("--audit-log", dest="audit_log",
                        help="append the run's audit line here (default: $SCREENING_AUDIT_LOG, else "
                             "screening-audit.jsonl beside the output)")
    parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx", "parquet"],
                        help="override the detected input format")
    parser.add_argument("--separator", help="override the detected CSV field separator")
    parser.add_argument("--encoding", help="override the detected CSV encoding, e.g. cp1252")
    parser.add_argument("--chunk-rows", dest="chunk_rows", type=_chunk_rows, default=None,
                        help="forms read and scored at a time (default 250,000): sets the memory used, "
                             "never the output")


def default_rejects(output: Path) -> Path:
    """Where refused rows go without ``--rejects``: ``<output stem>_refused.csv`` beside the output."""
    return output.with_name(f"{output.stem}_refused.csv")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_paths(input_path: Path, outputs: dict[str, Path | None]) -> None:
    named = {kind: path for kind, path in outputs.items() if path is not None}
    for kind, path in named.items():
        if _same_file(path, input_path):
            raise FileError(f"--{kind} {path} is the input file; choose another name")
        if path.is_dir():
            raise FileError(f"--{kind} {path} is a folder; give a file name")
    paths = list(named.items())
    for i, (kind, path) in enumerate(paths):
        for other_kind, other in paths[i + 1 :]:
            if _same_file(path, other):
                raise FileError(f"--{kind} and --{other_kind} name the same file ({path})")


def _load(model: str) -> Any:
    from screening.registry._files import ModelFileError
    from screening.scoring._model import load_model

    try:
        return load_model(model, single_forms=False)
    except (ModelFileError, LookupError, ValueError) as error:
        raise FileError(f"model {model}: {error}") from None


def run_score(args: argparse.Namespace) -> int:
    """Run the weekly batch as ``screening score`` was asked to; returns the exit code.

    The file is read a chunk of forms at a time (``--chunk-rows``) in two passes:
    the first checks the header and finds ids repeated anywhere in the file, the
    second validates and scores each chunk into a sorted run; the runs are then
    merged into the ranked list (see ``_batch``). A file of one chunk is read once.
    """
    from screening._io import atomic_path, file_sha256
    from screening.intake._chunks import DEFAULT_CHUNK_ROWS, ChunkedTable, first_pass, validated_ahead
    from screening.scoring import _batch
    from screening.scoring._audit import append_audit, audit_path, audit_record
    from screening.scoring._page import MAX_REFUSED, PageContent, render_page

    started = time.perf_counter()
    input_path, output = Path(args.input), Path(args.output)
    rejects = Path(args.rejects) if args.rejects else default_rejects(output)
    report = Path(args.report) if args.report else None
    _check_paths(input_path, {"output": output, "rejects": rejects, "report": report})
    steps: dict[str, float] = {}
    clock = time.perf_counter()
    # The model loads (mostly importing scikit-learn) while the file is first read (mostly Arrow, off the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-model") as pool:
        loading = pool.submit(_load, args.model)
        try:
            table = ChunkedTable(input_path, chunk_rows=getattr(args, "chunk_rows", None) or DEFAULT_CHUNK_ROWS,
                                 file_format=args.file_format, separator=args.separator, encoding=args.encoding)
            first = first_pass(table)
        finally:
            model = loading.result()  # a model error is reported first, as before the file was read
    steps["load_and_first_read"] = time.perf_counter() - clock
    with_jobcenter = any(str(name).strip().casefold() == "jobcenter" for name in table.header)
    if args.per == "jobcenter" and not with_jobcenter:
        raise FileError("--per jobcenter: the file has no jobcenter column")
    dialect = dict(table.dialect)
    totals = _batch.Totals(reference=model.metadata.get("drift_reference") or {})
    refused_head: list[Any] = []
    refused_lines = 0
    ranker = _batch.Ranker(args.per, args.capacity)
    log = audit_path(output, args.audit_log)
    try:
        with contextlib.ExitStack() as stack:  # every file or none: each moves into place as the stack closes
            temporary = {"output": stack.enter_context(atomic_path(output)),
                         "rejects": stack.enter_context(atomic_path(rejects))}
            if report is not None:
                temporary["report"] = stack.enter_context(atomic_path(report))
            # Sorted runs wait beside the output (its disk, not a memory-backed /tmp); removed first on exit.
            work = Path(stack.enter_context(_batch.scratch_folder(temporary["output"].parent)))
            runs: list[Any] = []
            clock = time.perf_counter()
            chunks = [first.chunk] if first.chunk is not None else table
            first.chunk = None
            with temporary["rejects"].open("w", encoding="utf-8", newline="") as rejects_handle:
                validations = validated_ahead(chunks, language=args.language, duplicates=first.duplicates)
                for number, validation in enumerate(validations):
                    totals.add_validation(validation)
                    refused = validation.refused
                    _write_refused(refused, rejects_handle, header=number == 0)
                    if refused_lines < MAX_REFUSED:
                        refused_head.append(refused.head(MAX_REFUSED - refused_lines))
                    refused_lines += len(refused)
                    run = _batch.sorted_chunk(model, validation.valid, per=args.per, language=args.language,
                                              with_jobcenter=with_jobcenter)
                    del validation
                    totals.add_scored(run)
                    runs.append(run if first.duplicates is None else _batch.write_run(run, work, number))
                    del run
                    _release_memory()
            if first.duplicates is not None and table.sha256 != first.sha256:
                raise FileError(f"{input_path.name} changed while it was being read; run again")
            steps["validate_and_score"] = time.perf_counter() - clock
            clock = time.perf_counter()
            page_head = _PageHead(args.per, version=model.version) if report is not None else None
            with temporary["output"].open("wb") as handle:
                header = _write_merged(runs, handle, model=model, per=args.per,
                                       with_jobcenter=with_jobcenter, ranker=ranker, totals=totals,
                                       page_head=page_head)
            del runs
            steps["merge_and_write"] = time.perf_counter() - clock
            drift = totals.drift()
            summary = totals.summary(model, drift, capacity=args.capacity, per=args.per, language=args.language,
                                     seconds=time.perf_counter() - started)
            summary["seconds_by_step"] = {step: round(value, 2) for step, value in steps.items()}
            if report is not None:
                import pandas as pd

                card = model.card_path
                content = PageContent(
                    summary=summary, drift=drift,
                    ranked_head=page_head.frame() if page_head.parts else header,
                    ranked_rows=totals.scored, groups=ranker.groups,
                    refused_head=pd.concat(refused_head, ignore_index=True), refused_lines=refused_lines,
                    refused_forms=totals.forms.refused_rows, risk_counts=totals.risk_counts,
                )
                page = render_page(content, language=args.language,
                                   card_href=_relative_href(card, report) if card is not None else None,
                                   input_name=input_path.name, output_name=output.name, rejects_name=rejects.name)
                temporary["report"].write_text(page, encoding="utf-8")
            options = {"capacity": args.capacity, "per": args.per, "language": args.language,
                       "format": args.file_format, "separator": args.separator, "encoding": args.encoding,
                       "model_source": "uri" if ":/" in args.model and not Path(args.model).exists() else "directory"}
            record = audit_record(
                summary, input_path=input_path, input_sha256=table.sha256 or file_sha256(input_path),
                dialect=dialect, options=options, files={"output": output, "rejects": rejects, "report": report},
                seconds=time.perf_counter() - started,
            )
            append_audit(log, record)
    except OSError as error:
        raise FileError(f"cannot write {getattr(error, 'filename', None) or 'an output file'}: "
                        f"{error.strerror or error}") from None
    print(format_score_summary(summary, dialect=dialect, written={
        "output": output, "rejects": rejects, "page": report, "audit": log,
    }, seconds=time.perf_counter() - started))
    return 0


def _write_merged(runs: list[Any], handle: Any, *, model: Any, per: str | None, with_jobcenter: bool,
                  ranker: Any, totals: Any, page_head: _PageHead | None) -> Any:
    """Merge the sorted runs into the ranked list's CSV (header first); return the header's empty frame."""
    import numpy as np

    from screening.scoring import _batch, _rank
    from screening.scoring._output import header_line, write_table_lines

    empty = _batch.chunk_schema(model.horizons, with_jobcenter).empty_table()  # what a chunk of no forms gives
    header = _batch.ranked_frame(empty, np.zeros(0, dtype=np.int64), None, version=model.version)
    handle.write(header_line([str(name) for name in header.columns]))
    for merged in _batch.merge_runs(runs, _rank.sort_keys(model.horizons, per)):
        rank = ranker(merged)
        contact = ranker.contacts(rank)
        if contact is not None:
            totals.contacts += int(contact.sum())
        write_table_lines(_batch.ranked_table(merged, rank, contact, version=model.version), handle)
        if page_head is not None:
            page_head.add(merged, rank, contact, groups=ranker.groups)
    return header


class _PageHead:
    """The first ranked rows, as many as the weekly page may show (all of them only for a small week)."""

    def __init__(self, per: str | None, *, version: str) -> None:
        self.per = per
        self.version = version
        self.rows = 0
        self.parts: list[Any] = []

    def add(self, merged: Any, rank: Any, contact: Any, *, groups: int) -> None:
        """Keep what the page may show of the next merged rows (``groups``: jobcenters seen so far)."""
        import numpy as np
        import pyarrow as pa

        from screening.scoring import _batch
        from screening.scoring._page import MAX_ROWS, rows_shown_per_group

        before, self.rows = self.rows, self.rows + merged.num_rows
        limit = rows_shown_per_group(self.rows, groups, self.per)
        if limit is None:
            keep = np.arange(merged.num_rows) < MAX_ROWS - before
        else:  # more jobcenters seen: fewer rows of each fit on the page
            self.parts = [part[part["rank"] <= limit] for part in self.parts]
            keep = rank <= limit
        if keep.any():
            rows = np.flatnonzero(keep)
            self.parts.append(_batch.ranked_frame(merged.take(pa.array(rows)), rank[rows],
                                                  None if contact is None else contact[rows], version=self.version))

    def frame(self) -> Any:
        import pandas as pd

        return pd.concat(self.parts, ignore_index=True)


def _write_refused(refused: Any, handle: Any, *, header: bool) -> None:
    """Append a chunk's refused rows to the rejects file (formulas neutralised, as ``validate`` writes them)."""
    from screening._io import neutralise_formulas

    neutralise_formulas(refused.drop(columns="kind")).to_csv(handle, header=header, index=False, lineterminator="\n")


def _release_memory() -> None:
    """Give memory Arrow no longer uses back to the system, so that the peak of a big run stays low."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _relative_href(target: Path, page: Path) -> str:
    """A link from the page to a local file: relative when possible, else a ``file:`` URL."""
    from urllib.parse import quote

    try:
        relative = os.path.relpath(target.resolve(), page.resolve().parent)
        return quote(relative.replace(os.sep, "/"))
    except ValueError:  # another drive (Windows)
        return target.resolve().as_uri()


def format_score_summary(summary: dict[str, Any], *, dialect: dict[str, str], written: dict[str, Path | None],
                         seconds: float) -> str:
    """The short summary the command prints (counts, names and the model: no personal data)."""
    read_as = ", ".join(f"{key} {value!r}" for key, value in dialect.items())
    lines = [
        f"read:      {summary['rows_read']:,} forms ({read_as})",
        f"scored:    {summary['scored']:,}",
        f"refused:   {summary['refused']:,}",
    ]
    for reason, count in sorted(summary["refused_by_reason"].items(), key=lambda item: (-item[1], item[0])):
        column, kind = reason.split(":", 1)
        lines.append(f"  {count:>9,}  {column}: {kind}")
    if summary.get("blank_rows"):
        lines.append(f"blank rows skipped: {summary['blank_rows']:,}")
    if summary.get("ignored_columns"):
        lines.append(f"ignored columns: {', '.join(summary['ignored_columns'])}")
    counts = summary["priority_counts"]
    lines.append("priority:  " + " · ".join(f"{name} {counts[name]:,}" for name in ("high", "medium", "low")))
    if summary.get("capacity") is not None:
        per = " per jobcenter" if summary.get("per") == "jobcenter" else ""
        lines.append(f"contact:   {summary['contacts']:,} marked for contact this week "
                     f"(capacity {summary['capacity']:,}{per})")
    warnings = summary.get("drift_warnings") or []
    if warnings:
        lines.append(f"drift:     PSI above 0.25 for {', '.join(warnings)}: this week's forms differ from the "
                     "training data")
    family = summary.get("model_family")
    lines.append(f"model:     {summary['model_version']} ({family + ', ' if family else ''}"
                 f"sha256 {str(summary['model_checksum'])[:12]})")
    for kind, path in written.items():
        if path is not None:
            lines.append(f"{kind + ':':<10} {path}")
    steps = [f"{step.replace('_', ' ')} {value:.1f}" for step, value in (summary.get("seconds_by_step") or {}).items()]
    lines.append(f"time:      {seconds:.2f} s" + (f" ({', '.join(steps)})" if steps else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - until cli.py wires `score` in
    """Run ``score`` on its own (``python -m screening.scoring._cli ...``), with the command's error handling."""
    parser = argparse.ArgumentParser(prog="screening score")
    add_score_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_score(args)
    except FileError as error:
        print(f"screening: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
