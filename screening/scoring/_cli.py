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
        return load_model(model)
    except (ModelFileError, LookupError, ValueError) as error:
        raise FileError(f"model {model}: {error}") from None


def run_score(args: argparse.Namespace) -> int:
    """Run the weekly batch as ``screening score`` was asked to; returns the exit code."""
    from screening._io import atomic_path, neutralise_formulas
    from screening.intake import read_table, validate_table
    from screening._io import file_sha256
    from screening.scoring._audit import append_audit, audit_path, audit_record
    from screening.scoring._output import write_ranked_to
    from screening.scoring._page import render_page

    started = time.perf_counter()
    input_path, output = Path(args.input), Path(args.output)
    rejects = Path(args.rejects) if args.rejects else default_rejects(output)
    report = Path(args.report) if args.report else None
    _check_paths(input_path, {"output": output, "rejects": rejects, "report": report})
    model = _load(args.model)
    clock = time.perf_counter()
    raw = read_table(input_path, file_format=args.file_format, separator=args.separator, encoding=args.encoding)
    validation = validate_table(raw, language=args.language)
    read_seconds = time.perf_counter() - clock
    with_jobcenter = any(str(name).strip().casefold() == "jobcenter" for name in raw.frame.columns)
    dialect = dict(raw.dialect)
    del raw  # the text cells: a large part of the memory of a big file, no longer needed
    _release_memory()
    if args.per == "jobcenter" and not with_jobcenter:
        raise FileError("--per jobcenter: the file has no jobcenter column")
    result = model.score_validation(validation, capacity=args.capacity, per=args.per, language=args.language,
                                    with_jobcenter=with_jobcenter, started=started)
    result.summary["seconds_by_step"] = {"read_and_validate": round(read_seconds, 2),
                                         **result.summary.get("seconds_by_step", {})}
    clock = time.perf_counter()
    page = None
    if report is not None:
        card = model.card_path
        card_href = _relative_href(card, report) if card is not None else None
        page = render_page(result, language=args.language, card_href=card_href, input_name=input_path.name,
                           output_name=output.name, rejects_name=rejects.name)
    log = audit_path(output, args.audit_log)
    options = {"capacity": args.capacity, "per": args.per, "language": args.language,
               "format": args.file_format, "separator": args.separator, "encoding": args.encoding,
               "model_source": "uri" if ":/" in args.model and not Path(args.model).exists() else "directory"}
    try:
        with contextlib.ExitStack() as stack:  # every file or none: each moves into place as the stack closes
            with_temporary = {"output": stack.enter_context(atomic_path(output)),
                              "rejects": stack.enter_context(atomic_path(rejects))}
            with with_temporary["output"].open("wb") as handle:
                write_ranked_to(result.ranked, handle)
            neutralise_formulas(result.refused.drop(columns="kind")).to_csv(
                with_temporary["rejects"], index=False, lineterminator="\n")
            if report is not None:
                stack.enter_context(atomic_path(report)).write_text(page, encoding="utf-8")
            record = audit_record(
                result.summary, input_path=input_path, input_sha256=file_sha256(input_path), dialect=dialect,
                options=options, files={"output": output, "rejects": rejects, "report": report},
                seconds=time.perf_counter() - started,
            )
            append_audit(log, record)
        result.summary["seconds_by_step"]["write"] = round(time.perf_counter() - clock, 2)
    except OSError as error:
        raise FileError(f"cannot write {getattr(error, 'filename', None) or 'an output file'}: "
                        f"{error.strerror or error}") from None
    print(format_score_summary(result.summary, dialect=dialect, written={
        "output": output, "rejects": rejects, "page": report, "audit": log,
    }, seconds=time.perf_counter() - started))
    return 0


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
