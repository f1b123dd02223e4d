"""Batch speed on a suite of files: ``screening score`` against a plain script and the pyarrow floor, per file.

The files, each made once under ``benchmarks/data/`` (gitignored) with ``--rows`` forms:

- ``standard``: the project's simulator, standard CSV (UTF-8, comma), 1 % of forms with a defect;
- ``danish_excel``: the same simulator in the Danish Excel dialect (Windows-1252, semicolon, decimal comma);
- ``high_cardinality``: simulated forms rewritten with long ids (``S3-0000001``), weekly hours with a
  decimal (``37.25``), and diagnosis codes drawn from the whole WHO ICD-10 list in every accepted
  spelling (``M54.5``, ``M545``, ``DM545``, lower case, padded);
- ``refused_5pct``: the simulator with 5 % of forms given a defect the validator refuses;
- ``optional_blank``: every column the contract does not require left blank (the contract's
  ``required_columns`` and one column of each ``required_one_of`` group are kept).

For each file, interleaved so that a busy moment on a shared machine hits all three alike, median of
``--repeat`` runs each (wall time and peak memory from ``/usr/bin/time -v``):

1. ``screening score`` with ``--report``, ``--capacity 10 --per jobcenter`` (as the README's benchmark);
2. a plain pandas + scikit-learn script: ``read_csv``, a fitted LogisticRegression pipeline saved
   beforehand, ``predict_proba``, sort, ``to_csv``; no validation, no reasons;
3. the pyarrow floor: ``pyarrow.csv`` reads the file and writes the same rows;
4. the pyarrow floor with the output's bytes: ``pyarrow.csv`` reads the file and writes the ranked list
   ``screening score`` wrote for it (14 columns with the reasons in Danish: 2.4 times the bytes of the
   standard file, 6.4 times those of the file with every optional column blank), taken from an Arrow
   file memory-mapped (made, untimed, from one run of the command before the timed ones). What the
   job cannot do without: read this input and write this output, in compiled code on every core.
   Arrow quotes every text cell (its writer has no "only where needed" for text), so it writes about
   10 % more bytes than the command (``floor_output_written_mb`` beside ``output_mb``): this floor is a
   little slower than a strict one would be, and its ratio a little kinder.

Peak memory is GNU time's (the largest single process); for ``screening score`` the larger of that and
the peak of the whole process tree's proportional set size (with its worker processes; pages they share
counted once), sampled every 20 ms in one more run of its own, not timed: the sampling costs about 20 ms
of CPU per sample and slowed the command it measured by 15-25 %.

The per-step profile is the command's own, read from the line it appends to its audit log (machine
readable, no personal data): ``seconds_by_step`` (``screening.scoring._file.STEPS``: start-up, model load,
read, repeated ids, validate, encode, model, reasons, rank, write) and ``seconds``, the wall time of the
scoring itself, its start-up included; ``wall`` is the whole command's, as measured here, and
``outside_steps`` is what neither covers (exit, moving the files into place). Steps in other threads and processes overlap the rest (the
model loads during the first read; the chunks are validated and scored in worker processes, one per core,
while the main process reads the next ones), so the steps can add up to more than the wall time. The
profile kept is that of the median run.

    python benchmarks/bench_suite.py [--rows 1000000] [--repeat 3] [--files standard,danish_excel,...]

Results go to ``benchmarks/results/suite.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import DATA, PYTHON, machine, measure, simulated_csv
from bench_scoring import PLAIN_PIPELINE, trained_model

FILES = ("standard", "danish_excel", "high_cardinality", "refused_5pct", "optional_blank")

ARROW_READ_WRITE = """
import sys, pyarrow.csv as c
read = c.ReadOptions(encoding=sys.argv[3])
parse = c.ParseOptions(delimiter=sys.argv[4])
table = c.read_csv(sys.argv[1], read_options=read, parse_options=parse)
c.write_csv(table, sys.argv[2])
"""

#: Read the input as the floor does, then write the ranked list (arguments: input, output, encoding, sep, ranked.arrow).
ARROW_READ_WRITE_OUTPUT = """
import sys, pyarrow as pa, pyarrow.csv as c
read = c.ReadOptions(encoding=sys.argv[3])
parse = c.ParseOptions(delimiter=sys.argv[4])
table = c.read_csv(sys.argv[1], read_options=read, parse_options=parse)
ranked = pa.ipc.open_file(pa.memory_map(sys.argv[5])).read_all()
c.write_csv(ranked, sys.argv[2], write_options=c.WriteOptions(quoting_style="needed"))
"""

#: The plain pandas + scikit-learn script of bench_scoring.py (arguments: model, input, output, encoding, sep).
PLAIN_SCRIPT = PLAIN_PIPELINE

#: How each file is read by the plain script and the floor: encoding and separator.
READ_AS = {"danish_excel": ("cp1252", ";")}


def high_cardinality_csv(rows: int, seed: int = 3) -> Path:
    """Simulated forms with long ids, decimal weekly hours and ICD-10 codes in every spelling."""
    path = DATA / f"suite_high_cardinality_{rows}_{seed}.csv"
    if path.exists():
        return path
    import numpy as np
    import pandas as pd

    from screening.intake._icd10 import all_codes

    source = simulated_csv(rows, seed=seed, invalid_share=0.0)
    forms = pd.read_csv(source, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    forms["case_id"] = [f"S3-{i:07d}" for i in range(1, rows + 1)]
    hours = forms["weekly_hours"] != ""
    decimal = np.round(rng.uniform(1.0, 80.0, rows), 2)
    forms.loc[hours, "weekly_hours"] = [f"{value:.2f}".rstrip("0").rstrip(".") for value in decimal[hours.to_numpy()]]
    codes = np.array(all_codes())
    drawn = codes[rng.integers(0, len(codes), rows)]
    plain = np.char.replace(drawn, ".", "")
    spellings = [drawn, plain, np.char.add("D", plain), np.char.lower(drawn), np.char.add(" ", np.char.add(drawn, " ")),
                 np.char.lower(np.char.add("D", plain))]
    choice = rng.integers(0, len(spellings), rows)
    spelled = np.choose(choice, spellings)
    has_code = forms["diagnosis_code"] != ""
    forms.loc[has_code, "diagnosis_code"] = spelled[has_code.to_numpy()]
    forms.loc[has_code, "diagnosis_group"] = ""  # the group comes from the code, so a drawn code never contradicts it
    forms.to_csv(path, index=False)
    return path


def optional_blank_csv(rows: int, seed: int = 4) -> Path:
    """Simulated forms with every column the contract does not require left blank (none refused for that)."""
    path = DATA / f"suite_optional_blank_{rows}_{seed}.csv"
    if path.exists():
        return path
    import pandas as pd

    from screening.intake import load_contract

    contract = load_contract()
    kept = set(contract.required_columns) | {group[0] for group in contract.required_one_of.values()}
    source = simulated_csv(rows, seed=seed, invalid_share=0.0)
    forms = pd.read_csv(source, dtype=str, keep_default_na=False)
    for group in contract.required_one_of.values():  # where the kept column is blank, a value drawn from the others
        column = forms[group[0]]
        given = column[column != ""]
        blank = column == ""
        forms.loc[blank, group[0]] = given.sample(int(blank.sum()), replace=True, random_state=seed).to_numpy()
    for name in forms.columns:
        if name not in kept:
            forms[name] = ""
    forms.to_csv(path, index=False)
    return path


def suite_files(rows: int, names: list[str]) -> dict[str, Path]:
    makers = {
        "standard": lambda: simulated_csv(rows, dialect="standard"),
        "danish_excel": lambda: simulated_csv(rows, dialect="danish_excel"),
        "high_cardinality": lambda: high_cardinality_csv(rows),
        "refused_5pct": lambda: simulated_csv(rows, invalid_share=0.05),
        "optional_blank": lambda: optional_blank_csv(rows),
    }
    return {name: makers[name]() for name in names}


def own_profile(audit_log: Path) -> dict[str, float] | None:
    """The per-step profile of the last run, from the audit line it appended (None without one)."""
    try:
        record = json.loads(audit_log.read_text("utf-8").splitlines()[-1])
    except (OSError, IndexError, ValueError):
        return None
    steps = record.get("seconds_by_step")
    if not steps:
        return None
    from screening.scoring._file import STEPS

    return {"seconds": record["seconds"], **{step: steps.get(step, 0.0) for step in STEPS},
            "workers": record.get("options", {}).get("workers")}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {"seconds": round(statistics.median(run["seconds"] for run in runs), 2),
            "cpu_seconds": round(statistics.median(run.get("cpu_seconds", float("nan")) for run in runs), 2),
            "peak_mb": round(max(max(run["peak_mb"], run.get("peak_tree_mb", 0.0)) for run in runs)),
            "peak_largest_process_mb": round(max(run["peak_mb"] for run in runs)),
            "all_seconds": [round(run["seconds"], 2) for run in runs]}


def load_average() -> list[float] | None:
    try:
        return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def bench_file(name: str, path: Path, model_dir: Path, peer: Path, repeat: int) -> dict[str, object]:
    out = DATA / "suite_out" / name
    out.mkdir(parents=True, exist_ok=True)
    encoding, separator = READ_AS.get(name, ("utf8", ","))
    score = [PYTHON, "-m", "screening", "score", "--model", str(model_dir), "--input", str(path),
             "--output", str(out / "ranked.csv"), "--report", str(out / "week.html"),
             "--capacity", "10", "--per", "jobcenter", "--audit-log", str(out / "audit.jsonl")]
    plain = [PYTHON, "-c", PLAIN_SCRIPT, str(peer), str(path), str(out / "plain.csv"), encoding, separator]
    floor = [PYTHON, "-c", ARROW_READ_WRITE, str(path), str(out / "arrow.csv"), encoding, separator]
    subprocess.run(score, check=True, stdout=subprocess.DEVNULL)  # untimed: the ranked list the next floor writes
    ranked = _ranked_as_arrow(out / "ranked.csv", out / "ranked.arrow")
    floor_output = [PYTHON, "-c", ARROW_READ_WRITE_OUTPUT, str(path), str(out / "arrow_output.csv"), encoding,
                    separator, str(ranked)]
    runs: dict[str, list[dict[str, float]]] = {"screening_score": [], "plain_pandas_sklearn": [],
                                               "pyarrow_read_write": [], "pyarrow_read_write_output": []}
    profiles = []
    load_before = load_average()
    for _ in range(repeat):  # interleaved
        runs["pyarrow_read_write"].append(measure(floor))
        measured = measure(score)
        runs["screening_score"].append(measured)
        profile = own_profile(out / "audit.jsonl")
        if profile is not None:
            profile["wall"] = round(measured["seconds"], 2)
            profile["outside_steps"] = round(measured["seconds"] - profile["seconds"], 2)
            profiles.append(profile)
        runs["plain_pandas_sklearn"].append(measure(plain))
        runs["pyarrow_read_write_output"].append(measure(floor_output))
    # Memory over all processes in a run of its own: sampling it slows the command (see measure).
    memory = measure(score, tree=True)
    result: dict[str, object] = {key: median_of(value) for key, value in runs.items()}
    result["screening_score"]["peak_mb"] = round(max(memory["peak_mb"], memory["peak_tree_mb"]))
    result["screening_score"]["memory_run_seconds"] = round(memory["seconds"], 2)
    scored = result["screening_score"]["seconds"]
    result.update({
        "file": path.name, "file_mb": round(path.stat().st_size / 2**20, 1),
        "ratio_to_plain": round(scored / result["plain_pandas_sklearn"]["seconds"], 2),
        "ratio_to_pyarrow": round(scored / result["pyarrow_read_write"]["seconds"], 1),
        "ratio_to_pyarrow_output": round(scored / result["pyarrow_read_write_output"]["seconds"], 1),
        "output_mb": round((out / "ranked.csv").stat().st_size / 2**20, 1),
        "floor_output_written_mb": round((out / "arrow_output.csv").stat().st_size / 2**20, 1),
        "rows_scored": sum(1 for _ in (out / "ranked.csv").open("rb")) - 1,
        "load_average_before_after": [load_before, load_average()],
    })
    if profiles:  # the profile of the median run
        middle = sorted(profiles, key=lambda p: p["wall"])[len(profiles) // 2]
        result["profile_seconds"] = middle
    else:
        result["profile_seconds"] = "not available: the audit line holds no step timings"
    result["profile_note"] = ("seconds_by_step of the command's audit line; model_load overlaps read and ids (the first "
                              "pass runs in a process of its own), "
                              "validate..rank of a file's chunks run in worker processes (--workers, one per core), "
                              "each chunk as soon as the first pass has kept it, so the "
                              "steps can add up to more than the wall time; seconds: the scoring's own wall time, its "
                              "start-up included, wall: the command's, outside_steps: wall - seconds (the interpreter's "
                              "start before its clock, exit, files moved into place)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", default=",".join(FILES), help="comma-separated, of: " + ", ".join(FILES))
    parser.add_argument("--train-rows", type=int, default=30_000)
    args = parser.parse_args()
    names = [name.strip() for name in args.files.split(",") if name.strip()]
    unknown = sorted(set(names) - set(FILES))
    if unknown:
        parser.error(f"unknown file(s): {', '.join(unknown)}")

    model_dir, peer = trained_model("additive", args.train_rows)
    files = suite_files(args.rows, names)
    results: dict[str, object] = {"machine": machine(), "rows": args.rows, "repeat": args.repeat,
                                  "model": {"family": "additive", "train_rows": args.train_rows},
                                  "command": "python benchmarks/bench_suite.py " + " ".join(sys.argv[1:]),
                                  "code": _code_version(), "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                  "goals": {"ratio_to_plain": "<= 0.5", "ratio_to_pyarrow": "<= 5 (stretch 3)",
                                            "peak_mb": "< 1536 at 1M rows"},
                                  "files": {}}
    for name, path in files.items():
        result = bench_file(name, path, model_dir, peer, args.repeat)
        results["files"][name] = result
        profile = result["profile_seconds"]
        scored = result["screening_score"]
        print(f"{name:<17} score {scored['seconds']:>6} s (CPU {scored['cpu_seconds']:>5} s) {scored['peak_mb']:>5} MB"
              f" | plain {result['plain_pandas_sklearn']['seconds']:>6} s"
              f" (CPU {result['plain_pandas_sklearn']['cpu_seconds']:>5} s)"
              f" | pyarrow {result['pyarrow_read_write']['seconds']:>5} s"
              f" | pyarrow with the output {result['pyarrow_read_write_output']['seconds']:>5} s"
              f" | x plain {result['ratio_to_plain']:>5} | x floor {result['ratio_to_pyarrow']:>5}"
              f" | x floor with the output {result['ratio_to_pyarrow_output']:>5}"
              f" | steps {profile}", flush=True)
        save_suite(results)
    print(f"wrote {save_suite(results)}")


def _ranked_as_arrow(ranked_csv: Path, arrow: Path) -> Path:
    """The ranked list as an Arrow IPC file, every column as the text written (for the floor with the output)."""
    import pyarrow as pa
    import pyarrow.csv as c

    header = ranked_csv.open("r", encoding="utf-8-sig").readline().rstrip("\r\n")
    separator = ";" if header.count(";") > header.count(",") else ","
    names = header.split(separator)
    table = c.read_csv(ranked_csv, parse_options=c.ParseOptions(delimiter=separator),
                       convert_options=c.ConvertOptions(column_types={name: pa.string() for name in names},
                                                        strings_can_be_null=False))
    with pa.OSFile(str(arrow), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return arrow


def _code_version() -> str:
    """The commit measured (``git describe --always --dirty``), or ``unknown`` outside a checkout."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save_suite(results: dict[str, object]) -> Path:
    import json

    from _common import RESULTS

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "suite.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()
