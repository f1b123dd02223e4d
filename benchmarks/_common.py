"""Shared pieces of the benchmarks: simulated input files and measuring a command."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable


def simulated_csv(rows: int, *, seed: int = 1, training: bool = False, dialect: str = "standard",
                  invalid_share: float = 0.01) -> Path:
    """A simulated forms file (by default 1 % of forms with a defect), made once under benchmarks/data/."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"forms_{rows}_{seed}{'_training' if training else ''}_{dialect}_{invalid_share}.csv"
    if not path.exists():
        command = [PYTHON, "-m", "screening", "simulate", "--rows", str(rows), "--seed", str(seed),
                   "--output", str(path), "--dialect", dialect, "--invalid-share", str(invalid_share)]
        command += ["--training"] if training else []
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return path


def measure(command: list[str], *, env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall time and peak memory of a command, via GNU time when present."""
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    done = subprocess.run(timer + command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return {"seconds": seconds, "peak_mb": int(peak.group(1)) / 1024 if peak else float("nan")}


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def save(name: str, result: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path
