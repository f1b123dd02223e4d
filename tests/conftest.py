"""Shared helpers: small forms files written in the dialects jobcenters export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

#: Libraries scoring must not import: each costs start-up a batch never uses.
HEAVY_LIBRARIES = frozenset({"sklearn", "skops", "scipy", "mlflow"})


def heavy_imports_of(script: str) -> list[str]:
    """Run ``script`` in a fresh interpreter (it must succeed) and name the :data:`HEAVY_LIBRARIES` it imported."""
    listing = ("\nimport json, sys\n"
               f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY_LIBRARIES)!r}))))\n")
    run = subprocess.run([sys.executable, "-c", script + listing], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


HEADER = [
    "case_id", "jobcenter", "form_received", "sick_leave_start", "sick_weeks", "age", "sex",
    "diagnosis_code", "diagnosis_group", "physical_load", "weekly_hours", "employment_status",
    "partial_sick_leave", "employer_contact", "prior_sick_weeks_12m", "work_ability",
    "expected_return", "treatment",
]


def form(**values: object) -> dict[str, str]:
    """A valid form as text cells, with the given fields replaced (None = blank)."""
    base = {
        "case_id": "C-1", "jobcenter": "Aarhus", "form_received": "2026-11-16",
        "sick_leave_start": "2026-10-19", "sick_weeks": "4", "age": "45", "sex": "F",
        "diagnosis_code": "M54.5", "diagnosis_group": "", "physical_load": "4",
        "weekly_hours": "37", "employment_status": "employed", "partial_sick_leave": "nej",
        "employer_contact": "ja", "prior_sick_weeks_12m": "0", "work_ability": "5",
        "expected_return": "4_to_8_weeks", "treatment": "gp",
    }
    base.update({key: "" if value is None else str(value) for key, value in values.items()})
    return base


def write_csv_text(path: Path, rows: list[dict[str, str]], *, sep: str = ",", encoding: str = "utf-8",
                   newline: str = "\n", header: list[str] | None = None) -> Path:
    header = header or list(rows[0]) if rows else (header or HEADER)

    def quote(cell: str) -> str:
        if any(ch in cell for ch in (sep, '"', "\n", "\r")):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    lines = [sep.join(quote(name) for name in header)]
    lines += [sep.join(quote(row.get(name, "")) for name in header) for row in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


@pytest.fixture
def forms_file(tmp_path: Path):
    """Write rows of text cells to a CSV and return its path."""
    counter = iter(range(10_000))

    def make(rows: list[dict[str, str]], **options: object) -> Path:
        return write_csv_text(tmp_path / f"forms{next(counter)}.csv", rows, **options)

    return make


def frame_of(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype="str")


# Hypothesis profiles: the default keeps the suite quick; "fuzz" is the long run the
# README documents (HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_properties.py).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("fuzz", max_examples=5_000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
if __import__("os").environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(__import__("os").environ["HYPOTHESIS_PROFILE"])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A fresh embedded MLflow store for the tests of one module (``MLFLOW_TRACKING_URI`` points at it)."""
    root = tmp_path_factory.mktemp("mlruns")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patcher = pytest.MonkeyPatch()
    patcher.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    patcher.undo()
