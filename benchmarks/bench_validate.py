"""How long `screening validate` takes on a 1,000,000-row simulated CSV, and its peak memory.

Goal (issue 2): under 5 s and under 2 GB on the project's 2-core machine. Measured as
the whole command a user runs (start-up, read, validate, summary), on a file where 1 %
of forms carry a defect to refuse, median of three runs, beside pyarrow alone reading the same file as a yardstick taken in the same run.

    python benchmarks/bench_validate.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics

from _common import PYTHON, measure, save, simulated_csv

ARROW_READ = (
    "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1], read_options=c.ReadOptions(encoding=sys.argv[3]),"
    " parse_options=c.ParseOptions(delimiter=sys.argv[2]))"
)
DIALECTS = {"standard": (",", "utf-8"), "danish_excel": (";", "cp1252")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for dialect, (separator, encoding) in DIALECTS.items():
        path = simulated_csv(args.rows, dialect=dialect)
        runs = [measure([PYTHON, "-m", "screening", "validate", "--input", str(path)]) for _ in range(args.repeat)]
        arrow = [measure([PYTHON, "-c", ARROW_READ, str(path), separator, encoding]) for _ in range(args.repeat)]
        seconds = statistics.median(run["seconds"] for run in runs)
        arrow_seconds = statistics.median(run["seconds"] for run in arrow)
        results[dialect] = {
            "rows": args.rows,
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "validate_seconds": round(seconds, 2),
            "validate_peak_mb": round(max(run["peak_mb"] for run in runs)),
            "pyarrow_read_seconds": round(arrow_seconds, 2),
            "ratio_to_pyarrow_read": round(seconds / arrow_seconds, 1),
        }
        print(f"{dialect:>13}: validate {seconds:.2f} s, peak {results[dialect]['validate_peak_mb']} MB "
              f"(pyarrow read alone {arrow_seconds:.2f} s)")
    print(f"wrote {save('validate', results)}")


if __name__ == "__main__":
    main()
