"""Output files: whole or not at all, never interleaved, harmless in a spreadsheet."""

from __future__ import annotations

import multiprocessing
import sys

import pandas as pd
import pytest

from screening._io import atomic_path, neutralise_formulas, write_csv


def test_a_crash_mid_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "ranked.csv"
    write_csv(pd.DataFrame({"case_id": ["old"]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="power cut"):
        with atomic_path(target) as temporary:
            temporary.write_text("case_id\nhalf-writ")
            raise RuntimeError("power cut")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ranked.csv"]  # no temporary left behind


def test_a_crash_before_the_first_write_leaves_no_file(tmp_path):
    target = tmp_path / "ranked.csv"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target):
            raise KeyboardInterrupt
    assert not target.exists() and not list(tmp_path.iterdir())


def test_a_written_file_gets_the_permissions_of_any_new_file(tmp_path):
    """A user's report: the ranked list was mode 0600 (the temporary file's), so a colleague on a shared drive
    could not open it. It is now as `open` makes a file: 0666 less the process's umask."""
    import os
    import stat
    import subprocess

    script = ("import os, sys\nos.umask(int(sys.argv[2], 8))\nfrom screening._io import write_csv\n"
              "import pandas as pd\nwrite_csv(pd.DataFrame({'case_id': ['A']}), sys.argv[1])\n")
    for umask, mode in (("022", 0o644), ("002", 0o664), ("077", 0o600)):
        target = tmp_path / f"ranked-{umask}.csv"
        subprocess.run([sys.executable, "-c", script, str(target), umask], check=True)
        assert stat.S_IMODE(os.stat(target).st_mode) == mode, umask


def _writer(args: tuple[str, str, int]) -> None:
    path, label, rows = args
    write_csv(pd.DataFrame({"case_id": [f"{label}-{i}" for i in range(rows)], "writer": label}), path)


def test_two_writers_at_once_never_interleave(tmp_path):
    target = tmp_path / "ranked.csv"
    jobs = [(str(target), label, 50_000) for label in ("A", "B")] * 3
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_writer, jobs)
    written = pd.read_csv(target)
    assert len(written) == 50_000 and written["writer"].nunique() == 1
    assert written["case_id"].str.startswith(written["writer"].iloc[0]).all()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_starts_are_neutralised(value):
    out = neutralise_formulas(pd.DataFrame({"text": [value, "plain"]}))
    assert out["text"].tolist() == ["'" + value, "plain"]


def test_numbers_are_left_alone():
    frame = pd.DataFrame({"risk": [-0.5, 0.25]})
    pd.testing.assert_frame_equal(neutralise_formulas(frame), frame)


#: Page faults of a 20 MB array made again after one was freed (NumPy asked for 4 KB pages: faults count pages).
_SECOND_ARRAY_FAULTS = """
import resource
import numpy as np
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(2):
    before = faults()
    block = np.ones(20 * 2**17)
    made = faults() - before
    del block
print(made)
"""


def second_array_faults(first: str = "") -> int:
    """In a fresh Python: run ``first``, then the page faults of a 20 MB array made after the same was freed."""
    import os
    import subprocess

    done = subprocess.run([sys.executable, "-c", first + _SECOND_ARRAY_FAULTS], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NUMPY_MADVISE_HUGEPAGE": "0"})
    if done.returncode == 3:
        pytest.skip("not glibc: the allocator is left as it is")
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_a_batch_process_reuses_the_memory_it_frees():
    """glibc hands a freed block of 20 MB back to the system and the next one faults in every page anew
    (5,120 of them); after keep_freed_memory the heap keeps it and the next array reuses its pages."""
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's allocator is set on Linux only")
    kept = second_array_faults("from screening._io import keep_freed_memory\nif not keep_freed_memory(): exit(3)\n")
    assert kept < 200
    assert second_array_faults() > 2000  # the allocator as it comes: the pages are new again
