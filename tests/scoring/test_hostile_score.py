"""Every hostile file of ``tests/intake/test_hostile.py`` through ``screening score``, read in small chunks.

The same promises as for ``validate``: the documented exit code, no traceback, every form
scored or refused, no CPR number in full anywhere, no written cell that starts a formula;
and on the weekly page, text from the file is escaped (no markup of the sender's runs).
A chunk of two forms puts every file through the streaming path (two passes, sorted runs,
the merge), which must give the same outcome as reading it whole.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from screening.cli import main
from screening.scoring import load_model
from tests.intake.test_hostile import CASES, CPR_DIGITS, assert_no_formula_cells, everything_written

INJECTED = re.compile(r"<(?!/?(?:html|head|meta|title|style|body|header|h1|h2|p|section|table|thead|tbody|tr|th|"
                      r"td|span|br|label|select|option|svg|rect|line|text|footer|a|script)\b)[a-zA-Z]")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_score_handles_hostile_input(case, model_dir, tmp_path, capsys):
    source = case.build(tmp_path)
    out = tmp_path / "out"
    output, page = out / "ranked.csv", out / "page.html"
    code = main(["score", "--model", str(model_dir), "--input", str(source), "--output", str(output),
                 "--report", str(page), "--chunk-rows", "2", "--language", "en",
                 "--audit-log", str(tmp_path.parent / f"{tmp_path.name}-audit.jsonl")])  # hashes hold digit runs
    printed, err = capsys.readouterr()
    assert code == case.exit_code, err
    assert "Traceback" not in printed + err
    if code == 2:
        assert err.startswith("screening: error:") and err.count("\n") == 1
        assert case.message in err
        assert not out.exists() or not any(out.iterdir())
    else:
        read = int(re.search(r"read:\s+([\d,]+)", printed).group(1).replace(",", ""))
        scored = int(re.search(r"scored:\s+([\d,]+)", printed).group(1).replace(",", ""))
        refused = int(re.search(r"refused:\s+([\d,]+)", printed).group(1).replace(",", ""))
        assert read == scored + refused
        ranked = pd.read_csv(output, dtype=str, keep_default_na=False)
        rejects = pd.read_csv(out / "ranked_refused.csv", dtype=str, keep_default_na=False)
        assert len(ranked) == scored and rejects["row"].nunique() == refused
        assert ranked["rank"].tolist() == [str(k) for k in range(1, scored + 1)]
        if case.valid is not None:
            assert (scored, refused) == (case.valid, case.refused)
        html = page.read_text("utf-8")
        assert html.count("<script") == 2  # the summary's JSON and the page's own script, nothing else
        content = html[: html.rfind("<script>")]  # the page's own script compares numbers with "<"
        assert not INJECTED.search(content), "markup from the file reached the page unescaped"
        assert [path.name for path in out.iterdir() if path.name.startswith(".")] == []
    # The page and the summary line name the model by its SHA-256 (in full and its first 12 characters),
    # whose hex digits can run ten in a row (a model whose checksum began 9152188204 failed CI): not a CPR number.
    checksum = load_model(model_dir, single_forms=False).checksum
    shown = (printed + err + everything_written(tmp_path)).replace(checksum, "<sha256>")
    leaked = CPR_DIGITS.findall(shown.replace(checksum[:12], "<sha256>"))
    assert not leaked, f"CPR-shaped number echoed: {leaked[:3]}"
    assert_no_formula_cells(out if out.exists() else tmp_path)
