"""PySpark comes with the `spark` extra and only `screening.spark` imports it; the rest of the package never pays for it.

These tests need no Java.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_spark_extra_brings_pyspark_4():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["optional-dependencies"]["spark"] == ["pyspark==4.*"]
    assert not any("pyspark" in requirement for requirement in project["dependencies"])
    assert "spark" in (ROOT / "scripts" / "setup.sh").read_text("utf-8").split('-e ".[', 1)[1].split("]", 1)[0]


def test_only_screening_spark_imports_pyspark():
    outside = []
    for path in sorted((ROOT / "screening").rglob("*.py")):
        if (ROOT / "screening" / "spark") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            outside += [f"{path.relative_to(ROOT)}:{node.lineno}" for name in names if name.split(".")[0] in
                        ("pyspark", "py4j")]
    assert not outside, outside


def test_the_package_and_its_commands_load_no_pyspark_and_say_nothing_about_it():
    """pandera imports pandas-on-Spark whenever PySpark is installed (0.3 s and a warning on every command):
    screening.intake keeps it out."""
    code = ("import sys, screening, screening.spark; from screening.intake import validate_table; "
            "from screening.scoring import load_model; import screening.cli; "
            "print(sorted(name for name in sys.modules if name.split('.')[0] in ('pyspark', 'py4j')))")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "PySpark" not in done.stderr and "pandas" not in done.stderr, done.stderr
