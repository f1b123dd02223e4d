"""The ``screening`` command: thin, it parses arguments and calls the library.

Exit codes: 0 the file was processed (refused rows are not an error), 2 a file-level
or usage error (one line on stderr, no traceback), 1 a defect of ours.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.intake import Language

EXIT_OK = 0
EXIT_DEFECT = 1
EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in how the command was called; reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        raise UserError(f"{message} (see 'screening {self.prog.split()[-1]} --help')")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _at_least_one(value: str) -> int:
    number = _positive(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _build_parser() -> argparse.ArgumentParser:
    from screening.intake import HORIZONS, LANGUAGES, MAIN_HORIZON

    parser = _Parser(prog="screening", description="Early screening of sick-listed workers at risk of long absence.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    simulate = commands.add_parser("simulate", help="write a simulated cohort of intake forms")
    simulate.add_argument("--rows", type=_positive, required=True, help="number of forms")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--output", required=True, help="file to write: .csv, .xlsx or .parquet")
    simulate.add_argument("--training", action="store_true", help="add the outcome columns (absence_weeks, spell_ended)")
    simulate.add_argument(
        "--dialect", choices=["standard", "danish_excel"], default="standard",
        help="CSV dialect: standard (UTF-8, comma) or danish_excel (Windows-1252, semicolon, decimal comma)",
    )
    simulate.add_argument("--clean", action="store_true", help="canonical spellings only (no messy variety)")
    simulate.add_argument("--invalid-share", type=float, default=0.0,
                          help="share of forms given a defect the validator refuses (default 0)")
    simulate.add_argument("--truth", help="also write each form's true risk (case_id, risk_8 .. risk_52) to this CSV")

    validate = commands.add_parser("validate", help="check a file of intake forms against the contract")
    validate.add_argument("--input", required=True, help="CSV, .xlsx or Parquet file")
    validate.add_argument("--rejects", help="write refused rows (row, case_id, column, value, reason) to this CSV")
    validate.add_argument("--training", action="store_true", help="also check the training outcome columns")
    validate.add_argument("--language", choices=list(LANGUAGES), default="da",
                          help="language of reasons, the summary and file errors (default da)")
    validate.add_argument("--chunk-rows", dest="chunk_rows", type=_at_least_one, default=None,
                          help="forms read at a time (default 1,000,000): sets the memory used, never the outcome")
    _add_dialect_options(validate)

    train = commands.add_parser("train", help="train, evaluate and save a risk model; track it in MLflow")
    train.add_argument("--data", required=True, help="training forms with absence_weeks and spell_ended")
    train.add_argument("--model-dir", required=True, help="where to write the model directory")
    train.add_argument("--horizon", type=int, default=MAIN_HORIZON, choices=list(HORIZONS),
                       help=f"headline horizon (default {MAIN_HORIZON})")
    train.add_argument("--family", choices=["auto", "additive", "boosted"], default="auto",
                       help="model family; auto picks by censored log score on the newest forms")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--capacity", type=_positive, default=10, help="calls per week per jobcenter, for precision at capacity")
    train.add_argument("--register", metavar="NAME", help="register the model under NAME (first version becomes champion)")
    train.add_argument("--promote", action="store_true", help="make this version champion even if there is one")
    train.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")

    score = commands.add_parser("score", help="rank the week's forms with reasons; refused rows, page, audit line")
    score.add_argument("--model", required=True,
                       help="model directory, or an MLflow URI such as models:/screening@champion")
    score.add_argument("--input", required=True, help="the week's forms: CSV, .xlsx or Parquet")
    score.add_argument("--output", required=True,
                       help="the ranked list to write: NAME.xlsx gives an Excel workbook (sheets Rangliste and "
                            "Afviste), any other name a CSV in --dialect")
    score.add_argument("--rejects", help="refused rows to write (CSV; default: OUTPUT_refused.csv beside the output)")
    score.add_argument("--report", help="also write the weekly page (self-contained HTML) to this file")
    score.add_argument("--capacity", type=_positive,
                       help="mark the first K forms (per jobcenter with --per) for contact this week")
    score.add_argument("--per", choices=["jobcenter"], help="rank within each jobcenter")
    score.add_argument("--language", choices=list(LANGUAGES), default="da",
                       help="language of reasons, refusals, the page, the summary and file errors (default da)")
    score.add_argument("--audit-log", dest="audit_log",
                       help="append the run's audit line here (default: $SCREENING_AUDIT_LOG, else "
                            "screening-audit.jsonl beside the output)")
    _add_dialect_options(score)
    score.add_argument("--chunk-rows", dest="chunk_rows", type=_at_least_one, default=None,
                       help="forms read and scored at a time (default 250,000): sets the memory used, "
                            "never the output")
    score.add_argument("--dialect", choices=["standard", "danish_excel"], default="standard",
                       help="CSV files written: standard (UTF-8, comma, decimal point; for case systems) or "
                            "danish_excel (UTF-8 with BOM, semicolon, decimal comma, CRLF, headers in --language; "
                            "for Danish Excel)")

    evaluate = commands.add_parser("evaluate", help="measure a model on forms with known outcomes")
    evaluate.add_argument("--model", required=True, help="model directory or MLflow URI (models:/NAME@champion)")
    evaluate.add_argument("--data", required=True, help="forms with absence_weeks and spell_ended")
    evaluate.add_argument("--horizon", type=int, default=MAIN_HORIZON, choices=list(HORIZONS))
    evaluate.add_argument("--capacity", type=_positive, default=10, help="calls per week per jobcenter")
    evaluate.add_argument("--truth", help="simulated true risks (from 'simulate --truth') to compare with")
    evaluate.add_argument("--output", help="folder for the evaluation tables and plots")
    return parser


def _add_dialect_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx", "parquet"], help="override the detected format")
    parser.add_argument("--separator", help="override the detected CSV field separator")
    parser.add_argument("--encoding", help="override the detected CSV encoding, e.g. cp1252")


def _run_simulate(args: argparse.Namespace) -> int:
    from screening.synthetic import simulate_cohort, write_forms
    from screening._io import write_csv

    started = time.perf_counter()
    if not 0 <= args.invalid_share <= 1:
        raise UserError("--invalid-share must be between 0 and 1")
    cohort = simulate_cohort(args.rows, seed=args.seed, training=args.training, messy=not args.clean,
                             invalid_share=args.invalid_share)
    output = Path(args.output)
    if output.suffix.casefold() not in (".csv", ".xlsx", ".parquet", ".txt"):
        raise UserError(f"--output {output.name}: use a .csv, .xlsx or .parquet file name")
    write_forms(cohort.forms, output, dialect=args.dialect)
    if args.truth:
        write_csv(cohort.true_risk, args.truth)
    elapsed = time.perf_counter() - started
    print(f"wrote {len(cohort.forms):,} simulated forms to {output} ({elapsed:.1f} s)")
    if args.training:
        ended = cohort.latent["spell_ended"] if "spell_ended" in cohort.latent else None
        if ended is not None:
            print(f"spells still going on at extraction (censored): {int((~ended.astype(bool)).sum()):,}")
    return EXIT_OK


def _run_validate(args: argparse.Namespace) -> int:
    import contextlib

    from screening._io import atomic_path, neutralise_formulas
    from screening.intake import VALIDATE_CHUNK_ROWS, ChunkedTable, ValidationTotals, validate_in_chunks

    started = time.perf_counter()
    table = ChunkedTable(args.input, chunk_rows=args.chunk_rows or VALIDATE_CHUNK_ROWS, file_format=args.file_format,
                         separator=args.separator, encoding=args.encoding)
    totals = ValidationTotals()
    with contextlib.ExitStack() as stack:  # the refused rows appear whole, or not at all
        handle = (stack.enter_context(stack.enter_context(atomic_path(args.rejects)).open(
            "w", encoding="utf-8", newline="")) if args.rejects else None)
        for number, validation in enumerate(validate_in_chunks(table, training=args.training,
                                                               language=args.language)):
            totals.add(validation)
            if handle is not None:
                neutralise_formulas(validation.refused.drop(columns="kind")).to_csv(
                    handle, header=number == 0, index=False, lineterminator="\n")
    totals.dialect = dict(table.dialect)  # the encoding is known once the whole file was read
    elapsed = time.perf_counter() - started
    print(format_validation_summary(totals, elapsed=elapsed, rejects=args.rejects, language=args.language))
    return EXIT_OK


#: The words of the ``validate`` and ``score`` summaries. English keeps the column and note names as codes;
#: Danish says them in words (a column by its contract label). Reason kinds stay codes in both.
_SUMMARY: dict[str, dict[str, str]] = {
    "da": {
        "read": "læst:", "forms": "skemaer", "valid": "gyldige:", "scored": "scoret:", "refused": "afvist:",
        "whole_row": "(hele rækken)", "blank_rows": "tomme rækker sprunget over: {count}",
        "ignored_columns": "ukendte kolonner sprunget over: {columns}", "note": "bemærk: {note}: {count}",
        "rejects_written": "afviste rækker skrevet til {path}", "time": "tid:",
        "priority": "prioritet:", "high": "høj", "medium": "mellem", "low": "lav",
        "contact": "kontakt:", "contact_line": "{count} markeret til kontakt denne uge (kapacitet {capacity}{per})",
        "per_jobcenter": " pr. jobcenter", "drift": "drift:",
        "drift_line": "ugens skemaer adskiller sig fra træningsdata i {names} mere, end {forms} skemaer kan forklare: "
                      "se listen efter med ekstra omhu",
        "model": "model:",
        # dialect, files written, steps timed and notes
        "format": "format", "encoding": "tegnsæt", "separator": "skilletegn", "reader": "læser", "sheet": "ark",
        "output": "liste", "rejects": "afviste", "page": "side", "audit": "revision", "workbook": "regneark",
        "load_and_first_read": "model og første læsning", "validate_and_score": "validering og scoring",
        "merge_and_write": "fletning og skrivning",
        "diagnosis_group_taken_from_code": "diagnosegruppen taget fra diagnosekoden i stedet for den angivne",
    },
    "en": {
        "read": "read:", "forms": "forms", "valid": "valid:", "scored": "scored:", "refused": "refused:",
        "whole_row": "(whole row)", "blank_rows": "blank rows skipped: {count}",
        "ignored_columns": "ignored columns: {columns}", "note": "note: {note}: {count}",
        "rejects_written": "refused rows written to {path}", "time": "time:",
        "priority": "priority:", "high": "high", "medium": "medium", "low": "low",
        "contact": "contact:", "contact_line": "{count} marked for contact this week (capacity {capacity}{per})",
        "per_jobcenter": " per jobcenter", "drift": "drift:",
        "drift_line": "this week's forms differ from the training data in {names} by more than {forms} forms explain: "
                      "read the list with extra care",
        "model": "model:",
    },
}


class _Words:
    """The summary's words and numbers in one language (an English word where Danish has none: a code)."""

    def __init__(self, language: Language) -> None:
        from screening.intake import format_number, load_contract

        self.language = language
        self.words = _SUMMARY[language]
        self._number = format_number
        self._fields = load_contract(training=True).fields

    def __getitem__(self, key: str) -> str:
        return self.words.get(key, key)

    def count(self, value: int) -> str:
        return self._number(value, self.language, grouping=True)

    def number(self, value: float) -> str:
        return self._number(value, self.language)

    def seconds(self, value: float, decimals: int) -> str:
        return self._number(value, self.language, decimals=decimals)

    def column(self, name: str) -> str:
        """A column as the summary names it: its code in English, its label and code in Danish."""
        if not name:
            return self["whole_row"]
        if self.language == "en" or name not in self._fields:
            return name
        return f"{self._fields[name].label_in(self.language)} ({name})"

    def dialect(self, dialect: dict[str, str]) -> str:
        return ", ".join(f"{self[key]} {value!r}" for key, value in dialect.items())

    def step(self, name: str) -> str:
        return self.words.get(name, name.replace("_", " "))


def format_validation_summary(result: object, *, elapsed: float, rejects: str | None = None,
                              language: Language = "da") -> str:
    """The run summary printed after validation (no personal data: counts and column names only).

    Parameters
    ----------
    result : Validation or ValidationTotals
        What validation found.
    elapsed : float
        Seconds taken.
    rejects : str, optional
        Where the refused rows were written.
    language : {"da", "en"}, default "da"
        Danish (numbers with a decimal comma, columns by their labels) or English.

    Returns
    -------
    str
    """
    w = _Words(language)
    lines = [
        f"{w['read']:<10}{w.count(result.rows_read)} {w['forms']} ({w.dialect(result.dialect)})",
        f"{w['valid']:<10}{w.count(result.valid_rows)}",
        f"{w['refused']:<10}{w.count(result.refused_rows)}",
    ]
    for (column, kind), count in sorted(result.refused_by_reason().items(), key=lambda item: -item[1]):
        lines.append(f"  {w.count(count):>9}  {w.column(column)}: {kind}")
    if result.blank_rows:
        lines.append(w["blank_rows"].format(count=w.count(result.blank_rows)))
    if result.ignored_columns:
        lines.append(w["ignored_columns"].format(columns=", ".join(result.ignored_columns)))
    for note, count in result.notes.items():
        if count:
            lines.append(w["note"].format(note=w[note], count=w.count(count)))
    if rejects:
        lines.append(w["rejects_written"].format(path=rejects))
    lines.append(f"{w['time']:<10}{w.seconds(elapsed, 2)} s")
    return "\n".join(lines)


def _run_train(args: argparse.Namespace) -> int:
    from screening.registry import train_model

    try:
        run = train_model(args.data, model_dir=args.model_dir, horizon=args.horizon, family=args.family,
                          seed=args.seed, capacity=args.capacity, track=not args.no_tracking,
                          register=args.register, promote=args.promote)
    except ValueError as error:
        raise UserError(str(error)) from None
    data, summary, metrics = run.data, run.metadata["training_summary"], run.evaluation.metrics
    print(f"data:      {data['rows_read']:,} forms read, {data['rows_valid']:,} valid, {data['rows_refused']:,} refused")
    print(f"censored:  {data['censored']:,} spells still going on at extraction "
          f"({data['censored_before_horizon']:,} before week {args.horizon}); used as weeks at risk without a return")
    print(f"split:     {data['train_forms']:,} older forms to fit and calibrate, {data['test_forms']:,} newest held out")
    print(f"model:     {summary['family']} (selection scores: {summary.get('selection', {}).get('scores', {})})")
    print(run.evaluation.comparison[[c for c in ("auc", "brier", "log_loss", "ece", "calibration_slope",
                                                  "calibration_intercept", "precision_at_capacity")
                                     if c in run.evaluation.comparison]].round(4).to_string())
    print(f"saved:     {run.model_dir} (version {run.metadata['version']}, card: {run.model_dir / 'model_card.md'})")
    if run.tracking:
        print(f"mlflow:    run {run.tracking['run_id']} in {__import__('screening.registry', fromlist=['x']).tracking_uri()}")
        if run.tracking.get("registered_name"):
            alias = " -> champion" if run.tracking["aliases"] else f" (champion stays version {run.tracking['previous_champion']})"
            print(f"registry:  {run.tracking['registered_name']} version {run.tracking['registered_version']}{alias}")
    print(f"time:      {run.seconds:.1f} s; test AUC {metrics.get('auc', float('nan')):.3f}, ECE {metrics.get('ece', float('nan')):.4f}")
    return EXIT_OK


def _run_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from screening.intake import validate_file
    from screening.models import evaluate
    from screening.scoring import load_model

    try:  # the same resolution of directories and MLflow URIs as `score`
        loaded = load_model(args.model, single_forms=False)
    except LookupError as error:
        raise UserError(str(error)) from None
    forms = validate_file(args.data, training=True, language="en").valid
    truth = None
    if args.truth:
        truth_table = pd.read_csv(args.truth, dtype={"case_id": "str"}).set_index("case_id")
        truth = truth_table.reindex(forms["case_id"].to_numpy())[f"risk_{args.horizon}"].to_numpy()
    result = evaluate(loaded.estimator, forms, horizon=args.horizon, true_risk=truth, capacity=args.capacity)
    print(f"model {loaded.version} on {len(forms):,} forms, horizon {args.horizon} weeks")
    for key, value in result.metrics.items():
        print(f"  {key:<24} {value:.4f}" if isinstance(value, float) else f"  {key:<24} {value}")
    if args.output:
        from screening.registry import evaluation_figures

        folder = Path(args.output)
        folder.mkdir(parents=True, exist_ok=True)
        result.comparison.to_csv(folder / "comparison.csv")
        result.subgroups.to_csv(folder / "subgroups.csv")
        result.reliability.to_csv(folder / "reliability.csv")
        for name, content in evaluation_figures(result).items():
            (folder / Path(name).name).write_bytes(content)
        print(f"tables and plots written to {folder}")
    return EXIT_OK


def _run_score(args: argparse.Namespace) -> int:
    from screening.scoring import score_file

    try:
        done = score_file(args.input, model=args.model, output=args.output, rejects=args.rejects, report=args.report,
                          capacity=args.capacity, per=args.per, language=args.language, audit_log=args.audit_log,
                          file_format=args.file_format, separator=args.separator, encoding=args.encoding,
                          chunk_rows=args.chunk_rows, dialect=args.dialect)
    except ValueError as error:
        raise UserError(str(error)) from None
    print(format_score_summary(done.summary, dialect=done.dialect, written=done.written, seconds=done.seconds,
                               language=args.language))
    return EXIT_OK


def format_score_summary(summary: dict[str, Any], *, dialect: dict[str, str], written: dict[str, Path | None],
                         seconds: float, language: Language = "da") -> str:
    """The short summary the command prints (counts, names and the model: no personal data).

    Parameters
    ----------
    summary : dict
        The run's summary (:attr:`screening.scoring.FileScore.summary`).
    dialect : dict
        How the input was read.
    written : dict of str to Path or None
        The files written, by kind.
    seconds : float
        Time taken.
    language : {"da", "en"}, default "da"
        Danish (numbers with a decimal comma, columns by their labels) or English.

    Returns
    -------
    str
    """
    w = _Words(language)
    lines = [
        f"{w['read']:<11}{w.count(summary['rows_read'])} {w['forms']} ({w.dialect(dialect)})",
        f"{w['scored']:<11}{w.count(summary['scored'])}",
        f"{w['refused']:<11}{w.count(summary['refused'])}",
    ]
    for reason, count in sorted(summary["refused_by_reason"].items(), key=lambda item: (-item[1], item[0])):
        column, kind = reason.split(":", 1)
        lines.append(f"  {w.count(count):>9}  {w.column(column)}: {kind}")
    if summary.get("blank_rows"):
        lines.append(w["blank_rows"].format(count=w.count(summary["blank_rows"])))
    if summary.get("ignored_columns"):
        lines.append(w["ignored_columns"].format(columns=", ".join(summary["ignored_columns"])))
    counts = summary["priority_counts"]
    lines.append(f"{w['priority']:<11}" + " · ".join(f"{w[name]} {w.count(counts[name])}"
                                                      for name in ("high", "medium", "low")))
    if summary.get("capacity") is not None:
        per = w["per_jobcenter"] if summary.get("per") == "jobcenter" else ""
        lines.append(f"{w['contact']:<11}" + w["contact_line"].format(
            count=w.count(summary["contacts"]), capacity=w.count(summary["capacity"]), per=per))
    warnings = summary.get("drift_warnings") or []
    if warnings:
        lines.append(f"{w['drift']:<11}" + w["drift_line"].format(
            forms=w.count(summary["scored"]), names=", ".join(w.column(name) for name in warnings)))
    family = summary.get("model_family")
    lines.append(f"{w['model']:<11}{summary['model_version']} ({family + ', ' if family else ''}"
                 f"sha256 {str(summary['model_checksum'])[:12]})")
    for kind, path in written.items():
        if path is not None:
            lines.append(f"{w[kind] + ':':<10} {path}")
    steps = [f"{w.step(step)} {w.seconds(value, 1)}" for step, value in (summary.get("seconds_by_step") or {}).items()]
    lines.append(f"{w['time']:<11}{w.seconds(seconds, 2)} s" + (f" ({', '.join(steps)})" if steps else ""))
    return "\n".join(lines)


#: The word before a one-line error, per language.
_ERROR_WORD = {"da": "fejl", "en": "error"}

_COMMANDS = {"simulate": _run_simulate, "validate": _run_validate, "train": _run_train, "evaluate": _run_evaluate,
             "score": _run_score}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from screening.intake import FileError
    from screening.registry import ModelFileError

    language = "en"  # usage errors are argparse's, in English; so are the analysts' commands
    try:
        args = _build_parser().parse_args(argv)
        language = getattr(args, "language", language)
        return _COMMANDS[args.command](args)
    except FileError as error:  # in the language of the command (validate and score: Danish unless --language en)
        print(f"screening: {_ERROR_WORD[language]}: {error.text(language)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (UserError, ModelFileError) as error:
        print(f"screening: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("screening: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a defect of ours: say so in one line unless debugging
        if os.environ.get("SCREENING_DEBUG"):
            raise
        from screening.intake import library_message  # no CPR-shaped number, even from a defect

        print(f"screening: internal error ({type(error).__name__}): {library_message(error)}. "
              "Run again with SCREENING_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_DEFECT


if __name__ == "__main__":
    sys.exit(main())
