"""A big file's chunks are scored while its first pass still reads it: the output is the output of scoring after it.

The workers validate and score each chunk as soon as the pass keeps it, without the
file's repeated ids, and refuse those forms once the pass tells them
(``score_chunk``'s ``repeated_later``). A pass that begins the file again voids what was
scored; a pass that fails lets the waiting workers go and the run ends with its one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.cli import main
from screening.intake import ChunkedTable, first_pass, kept_chunk
from screening.scoring import _batch, _workers
from screening.synthetic import simulate_cohort, write_forms

pytestmark = pytest.mark.skipif(not _workers.can_fork(), reason="worker processes are forked on Linux only")


def _week_with_repeats(seed: int, family: str) -> pd.DataFrame:
    forms = simulate_cohort(300, seed=seed, messy=True, family=family).forms
    forms.loc[290, "case_id"] = forms.loc[1, "case_id"]  # chunks apart
    forms.loc[8, "case_id"] = forms.loc[7, "case_id"]  # side by side
    forms.loc[150, "case_id"] = forms.loc[120, "case_id"]
    return forms


@pytest.mark.parametrize("seed, family", [(11, "frailty"), (12, "aft")])
def test_a_chunk_scored_before_its_repeated_ids_are_known_is_scored_as_with_them(model, tmp_path, seed, family):
    path = tmp_path / "week.csv"
    write_forms(_week_with_repeats(seed, family), path)
    table = ChunkedTable(path, chunk_rows=100)
    first = first_pass(table, keep_in=tmp_path)
    refused_as_repeated = 0
    for number, kept in enumerate(first.kept):
        chunk = kept_chunk(kept, dialect=table.dialect, remove=False)
        expected = _batch.score_chunk(model, chunk, per="jobcenter", duplicates=first.duplicates)
        asked: list[int] = []

        def rows_later(number: int = number) -> np.ndarray:
            asked.append(number)
            return first.repeated_rows[number]

        later = _batch.score_chunk(model, chunk, per="jobcenter", repeated_later=rows_later)
        assert asked == [number]  # asked once, after scoring
        assert later.run.equals(expected.run)
        np.testing.assert_array_equal(later.rows, expected.rows)
        # The exact risks agree to the last bits or so: NumPy sums a block of forms in an order that depends on how
        # many there are (as any two chunk sizes do); what is written, to 4 decimals, is the same (the run above).
        np.testing.assert_allclose(later.risks, expected.risks, rtol=1e-12, atol=0)
        pd.testing.assert_frame_equal(later.validation.refused, expected.validation.refused, check_exact=True)
        refused_as_repeated += int((later.validation.refused["kind"] == "duplicate_case_id").sum())
    assert refused_as_repeated >= 6  # every copy of the three repeated ids


def test_repeated_later_is_for_a_raw_chunk_without_duplicates(model, tmp_path):
    path = tmp_path / "week.csv"
    write_forms(_week_with_repeats(1, "frailty").head(20), path)
    chunk = ChunkedTable(path, chunk_rows=None).map_chunks(lambda number, chunk: chunk)[0]
    first = first_pass(ChunkedTable(path, chunk_rows=None))
    with pytest.raises(ValueError, match="repeated_later"):
        _batch.score_chunk(model, chunk, duplicates=pd.Series(["x"]), repeated_later=lambda: np.zeros(0, np.int64))
    assert first.chunk is not None


def _outputs(capsys, model_dir: Path, path: Path, folder: Path, *options: str) -> dict[str, bytes]:
    folder.mkdir()
    out = folder / "ranked.csv"
    code = main(["score", "--model", str(model_dir), "--input", str(path), "--output", str(out), "--capacity", "3",
                 "--per", "jobcenter", "--report", str(folder / "page.html"),
                 "--audit-log", str(folder / "audit.jsonl"), *options])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return {name: (folder / name).read_bytes() for name in ("ranked.csv", "ranked_refused.csv", "page.html")}


def test_a_pass_that_reads_the_file_again_after_chunks_were_scored_changes_no_byte(capsys, model_dir, tmp_path,
                                                                                   monkeypatch):
    """Arrow meets an unclosed quote after chunks were kept and sent to the workers: the line-aware reader reads
    the file again, what the workers scored is void, and the outputs are those of one process."""
    import screening.intake._read as read_module

    forms = _week_with_repeats(5, "frailty")
    path = tmp_path / "week.csv"
    write_forms(forms, path)
    lines = path.read_text("utf-8").split("\n")
    lines[200] += ',"an unclosed quote'
    path.write_text("\n".join(lines), "utf-8")
    monkeypatch.setattr(read_module, "ARROW_BLOCK_BYTES", 2048)  # Arrow reads a few forms at a time
    scored_from = tmp_path / "scored_from.txt"
    read_kept = _workers.kept_chunk

    def noted(kept, **options):  # the forked workers inherit this: which chunk files they were given
        with scored_from.open("a") as note:
            note.write(f"{kept.parent.name}\n")
        return read_kept(kept, **options)

    monkeypatch.setattr(_workers, "kept_chunk", noted)
    one = _outputs(capsys, model_dir, path, tmp_path / "one", "--chunk-rows", "40", "--workers", "1")
    two = _outputs(capsys, model_dir, path, tmp_path / "two", "--chunk-rows", "40", "--workers", "2")
    assert two == one
    folders = scored_from.read_text().split()
    assert any(not name.startswith("reread-") for name in folders)  # chunks sent to workers before the reread
    assert any(name.startswith("reread-") for name in folders)  # ... and the file's chunks scored after it
    assert b"\n201,," in one["ranked_refused.csv"]  # the malformed record (line 201) refused, as a row


def test_a_pass_that_fails_while_workers_wait_ends_the_run_with_one_line_and_nothing_written(model_dir, tmp_path):
    """Workers scored the first chunks and wait for the pass's repeated ids; the pass then fails (here: it cannot
    keep a chunk). One line, exit 2, no output, no process left behind, and no waiting for ever."""
    forms = _week_with_repeats(7, "aft")
    path = tmp_path / "week.csv"
    write_forms(forms, path)
    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(f"""
        import multiprocessing, sys
        import screening.intake._passes as passes
        import screening.intake._read as read_module
        from screening.intake import FileError
        from screening.cli import main

        read_module.ARROW_BLOCK_BYTES = 2048
        keep = passes.keep_chunk

        def keep_three(chunk, folder, number):
            if number == 3:
                raise FileError("changed_while_read", name="week.csv")
            return keep(chunk, folder, number)

        passes.keep_chunk = keep_three
        code = main(["score", "--model", {str(model_dir)!r}, "--input", {str(path)!r},
                     "--output", {str(out / "ranked.csv")!r}, "--report", {str(out / "page.html")!r},
                     "--chunk-rows", "40", "--workers", "2", "--audit-log", {str(out / "audit.jsonl")!r}])
        print(json.dumps({{"code": code, "children": len(multiprocessing.active_children())}}))
    """).replace("import multiprocessing, sys", "import json, multiprocessing, sys")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"code": 2, "children": 0}
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "week.csv" in done.stderr
    assert list(out.iterdir()) == []
