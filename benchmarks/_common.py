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


def measure(command: list[str], *, env: dict[str, str] | None = None, tree: bool = False) -> dict[str, float]:
    """Wall time, CPU time and peak memory of a command: GNU time's (CPU: user and kernel seconds of the
    command and of the processes it waited for, its workers too; memory: the largest single process), and with ``tree``
    (Linux) the peak of the whole process tree's proportional set size (``peak_tree_mb``: the command and its
    worker processes, pages they share counted once), sampled every 20 ms.

    Sampling is not free: the kernel walks every page of a process to give its PSS,
    about 20 ms of CPU per sample of a 1 GB process tree, which slowed a 9 s run by
    1.5-2.4 s on 2 cores. So time a command with ``tree=False`` and measure its
    memory in a run of its own.
    """
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    process = subprocess.Popen(timer + command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak_tree = 0.0
    sampling = tree and Path("/proc/self/smaps_rollup").exists()
    while sampling and process.poll() is None:
        peak_tree = max(peak_tree, _tree_pss_mb(process.pid))
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(command)}\n{stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    peak_mb = int(peak.group(1)) / 1024 if peak else float("nan")
    cpu = [re.search(rf"{kind} time \(seconds\): ([0-9.]+)", stderr) for kind in ("User", "System")]
    cpu_seconds = sum(float(found.group(1)) for found in cpu) if all(cpu) else float("nan")
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb,
            "peak_tree_mb": peak_tree if sampling else float("nan")}


def _tree_pss_mb(root: int) -> float:
    """Proportional set size of a process and all its descendants, in MB (0 for those already gone)."""
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1)) / 1024
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, AttributeError, ValueError):
            continue
    return total


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def save(name: str, result: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path
