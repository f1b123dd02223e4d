"""The ``screening`` command: thin, it parses arguments and calls the library.

Exit codes: 0 the file was processed (refused rows are not an error), 2 a file-level
or usage error (one line on stderr, no traceback), 1 a defect of ours. ``monitor``
answers like ``diff``: 0 no period flagged, 1 at least one flagged, 2 anything else
(a defect of ours too, so that 1 always means "flagged").
"""

from __future__ import annotations

import argparse
import gc
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
#: What a shell reports for a command stopped by SIGPIPE (128 + 13): the reader of its output went away.
EXIT_BROKEN_PIPE = 141


class UserError(Exception):
    """A mistake in how the command was called; reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        words = self.prog.split()  # "screening", or "screening <command>" for a subcommand's parser
        raise UserError(f"{message} (see '{' '.join(words[:2])} --help')")


def _commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name."""
    return next(action.choices for action in parser._actions if isinstance(action, argparse._SubParsersAction))


def _misspelt_options(commands: dict[str, argparse.ArgumentParser], argv: Sequence[str] | None) -> str | None:
    """For a command line with options its command does not know: one line naming them, each with the option
    it most likely meant; None if every option is known."""
    import difflib

    words = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in words if word in commands), None)
    if command is None:
        return None
    known = [name for action in commands[command]._actions for name in action.option_strings]
    options = [word.split("=", 1)[0] for word in words if word.startswith("--")]
    unknown = [option for option in options if option not in known]
    if not unknown:
        return None
    named = []
    for option in unknown:
        close = difflib.get_close_matches(option, known, n=1, cutoff=0.75)
        named.append(f"{option} (did you mean {close[0]}?)" if close else option)
    return f"unrecognized arguments: {', '.join(named)} (see 'screening {command} --help')"


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

    from importlib.metadata import version  # the installed package's (the cli imports no later stage)

    parser = _Parser(prog="screening", description="Early screening of sick-listed workers at risk of long absence.")
    parser.add_argument("--version", action="version", version=f"screening {version('screening')}")
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
    simulate.add_argument("--truth", help="also write each form's true risk (case_id, risk_8 .. risk_52) and the "
                          "form-level optimum of the answers it gives (optimal_risk_8 .. optimal_risk_52) to this CSV")
    simulate.add_argument("--family", choices=["frailty", "aft"], default="frailty",
                          help="generative model: frailty (Weibull hazards with a hidden frailty, default) or aft "
                               "(log-logistic accelerated failure time, nothing hidden)")
    simulate.add_argument("--window-days", type=_at_least_one, default=730,
                          help="forms arrive over this many days up to the extraction date (default 730)")

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
                       help="model family; auto picks by out-of-fold censored log score")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--capacity", type=_positive, default=10, help="calls per week per jobcenter, for precision at capacity")
    train.add_argument("--register", metavar="NAME", help="register the model under NAME (first version becomes champion)")
    train.add_argument("--promote", action="store_true",
                       help="make this version champion if the promotion guard lets it (on the newest forms, the "
                            "95%% interval of its difference to the champion within the margins)")
    train.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")

    score = commands.add_parser("score", help="rank the week's forms with reasons; refused rows, page, audit line")
    score.add_argument("--model", required=True,
                       help="model directory, or an MLflow URI such as models:/screening-risk@champion")
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
                       help="forms read and scored at a time (default 250,000 per worker, 500,000 shared among more than "
                            "two): "
                            "sets the memory used, never the output")
    score.add_argument("--workers", type=_at_least_one, default=None,
                       help="processes scoring a file of several chunks, a chunk each at a time (default: one per "
                            "core, at most 4, on Linux; 1: all in this process): sets the speed and memory used, "
                            "never the output")
    score.add_argument("--dialect", choices=["standard", "danish_excel"], default="standard",
                       help="CSV files written: standard (UTF-8, comma, decimal point; for case systems) or "
                            "danish_excel (UTF-8 with BOM, semicolon, decimal comma, CRLF, headers in --language; "
                            "for Danish Excel)")

    serve = commands.add_parser(
        "serve", help="serve a registered model over HTTP for case systems (mlflow models serve, set up to start)")
    serve.add_argument("--model", default="models:/screening-risk@champion",
                       help="model URI (default models:/screening-risk@champion) in the store MLFLOW_TRACKING_URI "
                            "names, else the project's mlruns/")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=_at_least_one, default=5000, help="port (default 5000)")
    serve.add_argument("--workers", type=_at_least_one, default=None, help="server processes (MLflow's default)")

    spark = commands.add_parser(
        "spark-score", help="score a file or folder of forms with Apache Spark (needs the spark extra and Java 17)",
        description="The weekly batch on Spark: the same validation, scoring and ranking as 'score'. Runs in a "
                    "local Spark, or on a cluster under spark-submit (see the README).")
    spark.add_argument("--model", required=True,
                       help="model directory, or an MLflow URI such as models:/screening-risk@champion")
    spark.add_argument("--input", required=True,
                       help="a forms file (CSV in any dialect, .xlsx, Parquet) or a folder of them with one header")
    spark.add_argument("--output", required=True,
                       help="folder to write ranked/ and refused/ (Parquet) and summary.json in")
    spark.add_argument("--capacity", type=_positive,
                       help="mark the first K forms (per jobcenter with --per) for contact this week")
    spark.add_argument("--per", choices=["jobcenter"], help="rank within each jobcenter")
    spark.add_argument("--language", choices=list(LANGUAGES), default="da",
                       help="language of reasons, refusals, the summary and file errors (default da)")
    _add_dialect_options(spark)
    spark.add_argument("--partitions", type=_at_least_one,
                       help="spread the forms over N partitions before scoring (default: Spark's parallelism)")
    spark.add_argument("--chunk-rows", dest="chunk_rows", type=_at_least_one, default=None,
                       help="forms a task reads and scores at a time (default 250,000): sets the memory used, "
                            "never the output")
    spark.add_argument("--master", help="Spark master of a new session (default local[*]; spark-submit sets its own)")
    spark.add_argument("--driver-memory", dest="driver_memory",
                       help="memory of a new local session's driver, e.g. 4g (under spark-submit: its --driver-memory)")

    evaluate = commands.add_parser("evaluate", help="measure a model on forms with known outcomes")
    evaluate.add_argument("--model", required=True, help="model directory or MLflow URI (models:/NAME@champion)")
    evaluate.add_argument("--data", required=True, help="forms with absence_weeks and spell_ended")
    evaluate.add_argument("--horizon", type=int, default=MAIN_HORIZON, choices=list(HORIZONS))
    evaluate.add_argument("--capacity", type=_positive, default=10, help="calls per week per jobcenter")
    evaluate.add_argument("--truth", help="simulated true risks (from 'simulate --truth') to compare with")
    evaluate.add_argument("--output", help="folder for the evaluation tables and plots")

    watch = commands.add_parser(
        "monitor", help="realised performance per period as outcomes arrive; exit 1 when a period is flagged",
        description="Scores every form of an extract with outcomes with the model that was (or is) in use and "
                    "measures it per period of form receipt. A period is flagged when the 95%% interval of its "
                    "mean risk minus observed rate lies wholly beyond the tolerance. Exit status: 0 no period "
                    "flagged, 1 at least one flagged (retrain advised), 2 anything else (a file or usage error, "
                    "nothing to evaluate, or a defect).")
    watch.add_argument("--model", required=True,
                       help="model directory or MLflow URI (models:/screening-risk@champion, models:/NAME/VERSION)")
    watch.add_argument("--data", required=True,
                       help="the extract: forms with absence_weeks and spell_ended (CSV, .xlsx or Parquet)")
    watch.add_argument("--by", choices=["month", "quarter"], default="month", help="period of form receipt")
    watch.add_argument("--report", help="write the page for those who oversee the tool (self-contained HTML)")
    watch.add_argument("--horizon", type=int, default=MAIN_HORIZON, choices=list(HORIZONS),
                       help=f"weeks of the outcome (default {MAIN_HORIZON})")
    watch.add_argument("--tolerance", type=_tolerance, default=0.03,
                       help="how far mean risk and observed rate may be apart, as a share (default 0.03 = 3 "
                            "percentage points)")
    watch.add_argument("--capacity", type=_positive, default=10, help="calls per week per jobcenter (default 10)")
    watch.add_argument("--min-group", dest="min_group", type=_at_least_one, default=100,
                       help="effective forms below which a subgroup is shown without figures (default 100)")
    watch.add_argument("--bootstrap", type=_at_least_one, default=200,
                       help="bootstrap replicates behind the intervals (default 200)")
    watch.add_argument("--language", choices=list(LANGUAGES), default="da",
                       help="language of the page and the summary (default da)")
    watch.add_argument("--no-tracking", action="store_true", help="do not log the monitoring run to MLflow")
    return parser


def _tolerance(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError("a share between 0 and 1 (0.03 = 3 percentage points)")
    return number


def _add_dialect_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx", "parquet"], help="override the detected format")
    parser.add_argument("--separator", help="override the detected CSV field separator (one character; a tab as \\t or tab)")
    parser.add_argument("--encoding", help="override the detected CSV encoding, e.g. cp1252")


def _run_simulate(args: argparse.Namespace) -> int:
    import pandas as pd

    from screening.synthetic import simulate_cohort, write_forms
    from screening._io import write_csv

    started = time.perf_counter()
    if not 0 <= args.invalid_share <= 1:
        raise UserError("--invalid-share must be between 0 and 1")
    cohort = simulate_cohort(args.rows, seed=args.seed, training=args.training, messy=not args.clean,
                             invalid_share=args.invalid_share, family=args.family, window_days=args.window_days)
    output = Path(args.output)
    if output.suffix.casefold() not in (".csv", ".xlsx", ".parquet", ".txt"):
        raise UserError(f"--output {output.name}: use a .csv, .xlsx or .parquet file name")
    write_forms(cohort.forms, output, dialect=args.dialect)
    if args.truth:  # the optimum of the answers shown costs 5-10 s per 50,000 messy forms: only when asked
        optimum = cohort.optimal_risk.drop(columns="case_id").add_prefix("optimal_")
        write_csv(pd.concat([cohort.true_risk, optimum], axis=1), args.truth)
    elapsed = time.perf_counter() - started
    print(f"wrote {len(cohort.forms):,} simulated forms to {output} ({elapsed:.1f} s)")
    if args.training:
        ended = cohort.latent["spell_ended"] if "spell_ended" in cohort.latent else None
        if ended is not None:
            print(f"spells still going on at extraction (censored): {int((~ended.astype(bool)).sum()):,}")
    return EXIT_OK


def _run_validate(args: argparse.Namespace) -> int:
    import contextlib

    from screening._io import atomic_path, keep_freed_memory, neutralise_formulas
    from screening.intake import VALIDATE_CHUNK_ROWS, ChunkedTable, ValidationTotals, validate_in_chunks

    started = time.perf_counter()
    keep_freed_memory()
    made = _new_folders(args.rejects)
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
    for folder in made:
        print(_NEW_FOLDER[args.language].format(path=folder))
    return EXIT_OK


#: The words of the ``validate`` and ``score`` summaries. English keeps the column and note names as codes;
#: Danish says them in words (a column by its contract label). Reason kinds are a few words and their code in both.
_SUMMARY: dict[str, dict[str, str]] = {
    "da": {
        "read": "læst:", "forms": "skemaer", "form": "skema", "valid": "gyldige:", "scored": "scoret:", "refused": "afvist:",
        "blank_rows": "tomme rækker sprunget over: {count}",
        "ignored_columns": "ukendte kolonner sprunget over: {columns}",
        "not_in_file": "modellens spørgsmål, filen ikke har (regnet som ubesvarede): {names}", "note": "bemærk: {note}: {count}",
        "rejects_written": "afviste rækker skrevet til {path}", "time": "tid:",
        "priority": "prioritet:", "high": "høj", "medium": "mellem", "low": "lav",
        "contact": "kontakt:", "contact_line": "{count} markeret til kontakt denne uge (kapacitet {capacity}{per})",
        "per_jobcenter": " pr. jobcenter", "drift": "drift:",
        "drift_line": "ugens skemaer adskiller sig fra træningsdata i {names} mere, end {forms} skemaer kan forklare: "
                      "se listen efter med ekstra omhu",
        "model": "model:",
        # dialect, files written and notes
        "format": "format", "encoding": "tegnsæt", "separator": "skilletegn", "reader": "læser", "sheet": "ark",
        "other_sheets": "andre ark, ikke læst:",
        "output": "liste", "rejects": "afviste", "page": "side", "audit": "revision", "workbook": "regneark",
        "diagnosis_group_taken_from_code": "diagnosegruppen taget fra diagnosekoden i stedet for den angivne",
        "cpr_outside_contract": "skemaer med et CPR-lignende nummer i en kolonne uden for kontrakten (sprunget over, "
                                "skrevet ingen steder): filen er ikke pseudonymiseret, ret det hos afsenderen",
    },
    "en": {
        "read": "read:", "forms": "forms", "form": "form", "valid": "valid:", "scored": "scored:", "refused": "refused:",
        "blank_rows": "blank rows skipped: {count}",
        "ignored_columns": "ignored columns: {columns}",
        "not_in_file": "the model's questions the file does not have (taken as unanswered): {names}", "note": "note: {note}: {count}",
        "rejects_written": "refused rows written to {path}", "time": "time:",
        "priority": "priority:", "high": "high", "medium": "medium", "low": "low",
        "contact": "contact:", "contact_line": "{count} marked for contact this week (capacity {capacity}{per})",
        "per_jobcenter": " per jobcenter", "drift": "drift:",
        "drift_line": "this week's forms differ from the training data in {names} by more than {forms} forms explain: "
                      "read the list with extra care",
        "model": "model:", "other_sheets": "other sheets, not read:",
        "cpr_outside_contract": "forms with a CPR-shaped number in a column outside the contract (ignored, written "
                                "nowhere): the file is not pseudonymised, have the sender fix it",
    },
}


#: The steps timed (``seconds_by_step``: ``score``'s, see ``screening.scoring._file.STEPS``, and ``spark-score``'s),
#: apart from the summary's other words ("read" and "model" are also lines of the summary).
_STEP_WORDS: dict[str, dict[str, str]] = {
    "da": {
        "start_up": "opstart", "model_load": "indlæsning af model", "read": "læsning",
        "ids": "gentagne sags-id'er", "validate": "validering", "encode": "kodning", "model": "model",
        "reasons": "begrundelser", "rank": "rangering", "write": "skrivning",
        "validate_and_score": "validering og scoring",
    },
    "en": {
        "start_up": "start-up", "model_load": "model load", "read": "read", "ids": "repeated case ids",
        "validate": "validate", "encode": "encode", "model": "model", "reasons": "reasons", "rank": "rank",
        "write": "write", "validate_and_score": "validate and score",
    },
}


class _Words:
    """The summary's words and numbers in one language (an English word where Danish has none: a code)."""

    def __init__(self, language: Language) -> None:
        from screening.intake import format_number

        self.language = language
        self.words = _SUMMARY[language]
        self._number = format_number

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
        from screening.intake import field_label

        return field_label(name, self.language, with_name=True)

    def forms(self, count: int) -> str:
        """"skema" or "skemaer" ("form" or "forms") as ``count`` asks."""
        return self["form"] if count == 1 else self["forms"]

    def reason(self, kind: str) -> str:
        """A refusal's kind in a few words and its code (``findes flere gange (duplicate_case_id)``)."""
        from screening.intake import reason_label

        return reason_label(kind, self.language)

    def dialect(self, dialect: dict[str, str]) -> str:
        return ", ".join(f"{self[key]} {value!r}" for key, value in dialect.items())

    def step(self, name: str) -> str:
        return _STEP_WORDS[self.language].get(name, name.replace("_", " "))


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
        f"{w['read']:<10}{w.count(result.rows_read)} {w.forms(result.rows_read)} ({w.dialect(result.dialect)})",
        f"{w['valid']:<10}{w.count(result.valid_rows)}",
        f"{w['refused']:<10}{w.count(result.refused_rows)}",
    ]
    for (column, kind), count in sorted(result.refused_by_reason().items(), key=lambda item: -item[1]):
        lines.append(f"  {w.count(count):>9}  {w.column(column)}: {w.reason(kind)}")
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
    print(f"split:     {data['train_forms']:,} older forms to fit and calibrate, {data['test_forms']:,} newest held out"
          + (f" (from {data['test_period_starts']}; {data['train_spells_censored_at_test_start']:,} training spells "
             "censored there)" if data.get("test_period_starts") else ""))
    scores = summary.get("selection", {}).get("scores", {})
    chosen_by = ("chosen by out-of-fold censored log score, lower is better: "
                 + ", ".join(f"{name} {score:.4f}" for name, score in scores.items())) if scores else "as asked"
    print(f"model:     {summary['family']} ({chosen_by})")
    print(run.evaluation.comparison[[c for c in ("auc", "brier", "log_loss", "ece", "calibration_slope",
                                                  "calibration_intercept", "precision_at_capacity")
                                     if c in run.evaluation.comparison]].round(4).to_string())
    print(f"saved:     {run.model_dir} (version {run.metadata['version']}, card: {run.model_dir / 'model_card.md'})")
    if run.tracking:
        print(f"mlflow:    run {run.tracking['run_id']} in {__import__('screening.registry', fromlist=['x']).tracking_uri()}")
        if run.tracking.get("registered_name"):
            alias = " -> champion" if run.tracking["aliases"] else f" (champion stays version {run.tracking['previous_champion']})"
            print(f"registry:  {run.tracking['registered_name']} version {run.tracking['registered_version']}{alias}")
    for h, figures in run.metadata["evaluation"]["by_horizon"].items():
        if "not_evaluable" in figures:
            print(f"{h:>2} weeks:  not measured: {figures['not_evaluable']}")
            continue
        print(f"{h:>2} weeks:  " + _with_interval(figures, "auc", "AUC") + "  " + _with_interval(figures, "ece", "ECE")
              + "  " + _with_interval(figures, "calibration_intercept", "intercept")
              + f"  ({figures['effective_sample_size']:,.0f} effective forms)")
    if run.tracking.get("guard"):
        print(f"guard:     {run.tracking['guard']}")
    print(f"time:      {run.seconds:.1f} s; test AUC {metrics.get('auc', float('nan')):.3f}, ECE {metrics.get('ece', float('nan')):.4f}")
    return EXIT_OK


def _with_interval(figures: dict[str, Any], metric: str, label: str) -> str:
    low, high = figures["intervals"].get(metric, (float("nan"), float("nan")))
    return f"{label} {figures['metrics'][metric]:.3f} [{low:.3f}, {high:.3f}]"


def _run_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from screening.intake import validate_file
    from screening.models import NotEvaluableError, evaluate
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
    try:
        result = evaluate(loaded.estimator, forms, horizon=args.horizon, true_risk=truth, capacity=args.capacity)
    except NotEvaluableError as error:
        raise UserError(str(error)) from None
    notes = result.notes
    print(f"model {loaded.version} on {len(forms):,} forms, horizon {args.horizon} weeks: "
          f"{notes['forms_scored']:,} forms can show the outcome ({notes['effective_sample_size']:,.0f} effective)"
          + (f"; {notes['forms_follow_up_too_short']:,} left out, their follow-up ends before week {args.horizon} "
             f"(extracted {notes['extraction_date']})" if notes.get("forms_follow_up_too_short") else ""))
    for warning in notes.get("warnings", []):
        print(f"  warning: {warning}")
    print(f"  {'metric':<24} {'estimate':>8}   95% interval")
    for key, value in result.metrics.items():
        low, high = result.interval(key)
        print(f"  {key:<24} {value:8.4f}   [{low:.4f}, {high:.4f}]")
    if args.output:
        from screening.registry import evaluation_figures

        folder = Path(args.output)
        folder.mkdir(parents=True, exist_ok=True)
        result.comparison.to_csv(folder / "comparison.csv")
        result.intervals.to_csv(folder / "intervals.csv")
        result.subgroups.to_csv(folder / "subgroups.csv")
        result.reliability.to_csv(folder / "reliability.csv")
        for name, content in evaluation_figures(result).items():
            (folder / Path(name).name).write_bytes(content)
        print(f"tables and plots written to {folder}")
    return EXIT_OK


def _run_serve(args: argparse.Namespace) -> int:
    from screening.registry import serve_command

    try:
        argv, env = serve_command(args.model, host=args.host, port=args.port, workers=args.workers)
    except LookupError as error:
        raise UserError(str(error)) from None
    print(f"serving {args.model} (store {env['MLFLOW_TRACKING_URI']}) on http://{args.host}:{args.port}/invocations",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)  # MLflow's server takes over this process (Ctrl-C stops it)
    return EXIT_OK  # pragma: no cover - execve does not return


def _new_folders(*paths: str | None) -> list[str]:
    """The folders of these output files that do not exist yet (made by the run: said, in case one is misspelt)."""
    found: list[str] = []
    for path in paths:
        folder = Path(path).parent if path else None
        if folder is None or folder.exists():
            continue
        while not folder.parent.exists() and folder.parent != folder:
            folder = folder.parent  # the first folder of the path that is missing
        if str(folder) not in found:
            found.append(str(folder))
    return found


_NEW_FOLDER = {"da": "ny mappe:  {path} (fandtes ikke, er oprettet)", "en": "new folder: {path} (did not exist, made)"}


def _run_score(args: argparse.Namespace) -> int:
    from screening._io import keep_freed_memory
    from screening.scoring import score_file

    keep_freed_memory()  # before the model loads and the workers fork: they inherit it

    made = _new_folders(args.output, args.rejects, args.report, args.audit_log)
    try:
        done = score_file(args.input, model=args.model, output=args.output, rejects=args.rejects, report=args.report,
                          capacity=args.capacity, per=args.per, language=args.language, audit_log=args.audit_log,
                          file_format=args.file_format, separator=args.separator, encoding=args.encoding,
                          chunk_rows=args.chunk_rows, dialect=args.dialect, start_up=True,
                          workers=args.workers)
    except ValueError as error:
        raise UserError(str(error)) from None
    print(format_score_summary(done.summary, dialect=done.dialect, written=done.written, seconds=done.seconds,
                               language=args.language))
    for folder in made:
        print(_NEW_FOLDER[args.language].format(path=folder))
    return EXIT_OK


def _run_spark_score(args: argparse.Namespace) -> int:
    try:
        from screening.spark import SparkTaskError, score_files, session
    except ImportError as error:  # the one line that says which extra to install
        raise UserError(str(error)) from None
    config = {"spark.driver.memory": args.driver_memory} if args.driver_memory else {}
    spark = session(master=args.master, app_name="screening spark-score", config=config)
    try:
        done = score_files(args.input, model=args.model, output=args.output, capacity=args.capacity, per=args.per,
                           language=args.language, file_format=args.file_format, separator=args.separator,
                           encoding=args.encoding, partitions=args.partitions, chunk_rows=args.chunk_rows, spark=spark)
    except (ValueError, LookupError) as error:
        raise UserError(str(error)) from None
    except SparkTaskError as error:  # already one line, CPR-safe
        print(f"screening: {_ERROR_WORD[args.language]}: {error}", file=sys.stderr)
        return EXIT_DEFECT
    written = {kind: Path(path) for kind, path in done.written.items() if kind != "summary"}
    print(format_score_summary(done.summary, dialect=done.dialect, written=written, seconds=done.seconds,
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
        f"{w['read']:<11}{w.count(summary['rows_read'])} {w.forms(summary['rows_read'])} ({w.dialect(dialect)})",
        f"{w['scored']:<11}{w.count(summary['scored'])}",
        f"{w['refused']:<11}{w.count(summary['refused'])}",
    ]
    for reason, count in sorted(summary["refused_by_reason"].items(), key=lambda item: (-item[1], item[0])):
        column, kind = reason.split(":", 1)
        lines.append(f"  {w.count(count):>9}  {w.column(column)}: {w.reason(kind)}")
    if summary.get("blank_rows"):
        lines.append(w["blank_rows"].format(count=w.count(summary["blank_rows"])))
    if summary.get("ignored_columns"):
        lines.append(w["ignored_columns"].format(columns=", ".join(summary["ignored_columns"])))
    for note, count in (summary.get("notes") or {}).items():
        lines.append(w["note"].format(note=w[note], count=w.count(count)))
    counts = summary["priority_counts"]
    lines.append(f"{w['priority']:<11}" + " · ".join(f"{w[name]} {w.count(counts[name])}"
                                                      for name in ("high", "medium", "low")))
    if summary.get("capacity") is not None:
        per = w["per_jobcenter"] if summary.get("per") == "jobcenter" else ""
        lines.append(f"{w['contact']:<11}" + w["contact_line"].format(
            count=w.count(summary["contacts"]), capacity=w.count(summary["capacity"]), per=per))
    if summary.get("inputs_not_in_file"):
        lines.append(w["not_in_file"].format(names=", ".join(w.column(name) for name in summary["inputs_not_in_file"])))
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


def _run_monitor(args: argparse.Namespace) -> int:
    from screening.monitoring import format_monitoring_summary, monitor, write_monitoring_page

    try:
        result = monitor(args.model, args.data, by=args.by, horizon=args.horizon, tolerance=args.tolerance,
                         capacity=args.capacity, min_group=args.min_group, n_boot=args.bootstrap,
                         track=not args.no_tracking)
    except (ValueError, LookupError) as error:
        raise UserError(str(error)) from None
    page = write_monitoring_page(result, args.report, language=args.language) if args.report else None
    print(format_monitoring_summary(result, language=args.language, page=page))
    return result.exit_code  # 0 nothing flagged, 1 a period flagged (as diff: a scheduler can act on it)


#: The word before a one-line error, per language.
_ERROR_WORD = {"da": "fejl", "en": "error"}

_COMMANDS = {"simulate": _run_simulate, "validate": _run_validate, "train": _run_train, "evaluate": _run_evaluate,
             "score": _run_score, "serve": _run_serve,
             "spark-score": _run_spark_score, "monitor": _run_monitor}
#: Commands whose exit status 1 means something (monitor: a period flagged): a defect of ours exits 2 there.
_STATUS_COMMANDS = frozenset({"monitor"})


def _interrupted() -> int:
    """Ctrl-C: one line, and the exit code a shell gives a program Ctrl-C ended."""
    print("screening: interrupted", file=sys.stderr)
    return 130


def _caused_by_ctrl_c(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind ``error``: one landing in an extension module's
    initialisation comes out as ``ImportError: initialization failed`` (pybind11) raised from it."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from screening.intake import FileError
    from screening.registry import ModelFileError

    language = "en"  # usage errors are argparse's, in English; so are the analysts' commands
    command = None
    try:
        parser = _build_parser()
        try:
            args, unknown = parser.parse_known_args(argv)
        except UserError as error:  # "required: --output" for a misspelt --ouput: name the misspelling first
            raise UserError(_misspelt_options(_commands_of(parser), argv) or str(error)) from None
        if unknown:  # named with the command they were given to (argparse names the top-level parser)
            raise UserError(f"unrecognized arguments: {' '.join(unknown)} (see 'screening {args.command} --help')")
        language = getattr(args, "language", language)
        command = args.command
        code = _COMMANDS[args.command](args)
        sys.stdout.flush()  # here, where a reader gone away (a broken pipe) is caught, not as Python exits
        return code
    except FileError as error:  # in the language of the command (validate and score: Danish unless --language en)
        print(f"screening: {_ERROR_WORD[language]}: {error.text(language)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (UserError, ModelFileError) as error:
        print(f"screening: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:  # the reader of the summary went away (``| head``): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nor a last complaint as Python flushes stdout at exit
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a defect of ours: say so in one line unless debugging
        if _caused_by_ctrl_c(error):
            return _interrupted()
        if os.environ.get("SCREENING_DEBUG"):
            raise
        from screening.intake import library_message  # no CPR-shaped number, even from a defect

        print(f"screening: internal error ({type(error).__name__}): {library_message(error)}. "
              "Run again with SCREENING_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_USER_ERROR if command in _STATUS_COMMANDS else EXIT_DEFECT


def run() -> int:
    """The ``screening`` program: :func:`main` on the command line's arguments, then a quick exit.

    Objects left at the end (modules, a model, a run's caches: millions of them
    after a big file) are frozen out of the garbage collection the interpreter
    does as it exits: that collection frees nothing a process about to end
    needs, and took about 0.4 s after a million forms. Files are closed by then.
    Ctrl-C while :func:`main` still imports what the command needs is one line too.
    """
    try:
        code = main()
    except KeyboardInterrupt:
        return _interrupted()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())
