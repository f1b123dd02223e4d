"""`screening score`: the files it writes, its summary, exit codes, and nothing left behind on a file-level error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from screening.synthetic import simulate_cohort, write_forms
from tests.conftest import HEADER, form, write_csv_text
from tests.scoring.conftest import MODEL_VERSION


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `screening score ...` through the command line."""
    from screening import cli

    code = cli.main(["score", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def week_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "week.csv"
    write_forms(simulate_cohort(800, seed=8, invalid_share=0.03).forms, path, dialect="danish_excel")
    return path


def test_a_week_end_to_end(model_dir, week_file, tmp_path, capsys):
    output = tmp_path / "out" / "ranked.csv"
    code, out, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(output),
                         "--report", str(tmp_path / "out" / "week.html"), "--capacity", "3", "--per", "jobcenter")
    assert code == 0, err
    ranked = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert ranked.columns.tolist() == ["rank", "case_id", "jobcenter", "queue", "horizon", "risk", "risk_8",
                                       "risk_22", "risk_52", "priority", "contact_this_week", "reasons",
                                       "questions", "model_version"]
    assert ranked["risk"].str.fullmatch(r"[01]\.\d{4}|").all()  # empty: a form with no horizon left
    assert set(ranked["queue"]) <= {"early", "late"} and set(ranked["horizon"]) <= {"13", "22", "52", ""}
    assert set(ranked["contact_this_week"]) == {"yes", "no"} and set(ranked["model_version"]) == {MODEL_VERSION}
    refused = pd.read_csv(tmp_path / "out" / "ranked_refused.csv")  # beside the output by default
    assert refused.columns.tolist() == ["row", "case_id", "column", "value", "reason"]
    assert len(ranked) + refused["row"].nunique() == 800
    assert (tmp_path / "out" / "week.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    for line in ("læst:      800 skemaer", "scoret:    ", "afvist:    ", "prioritet: høj ", " · mellem ", " · lav ",
                 f"model:     {MODEL_VERSION} (additive, sha256", "tid:       "):
        assert line in out, line
    assert re.search(r"^tid:       \d+,\d\d s \(", out, flags=re.MULTILINE)  # a decimal comma
    assert re.search(r"^kontakt:   \d+ markeret til kontakt denne uge \(kapacitet 3 pr\. jobcenter\)$", out,
                     flags=re.MULTILINE)
    scored = int(re.search(r"^scoret:\s+([\d.]+)$", out, flags=re.MULTILINE).group(1).replace(".", ""))
    refused_forms = int(re.search(r"^afvist:\s+([\d.]+)$", out, flags=re.MULTILINE).group(1).replace(".", ""))
    assert (scored, refused_forms) == (len(ranked), refused["row"].nunique())
    for english in ("read:", "scored:", "refused:", "priority:", "forms", "time:"):
        assert english not in out, english
    assert len(out.splitlines()) < 30


def test_a_file_without_some_of_the_models_questions_says_so_and_does_not_call_it_drift(model_dir, tmp_path, capsys):
    """A jobcenter whose form lacks two questions: named in the summary and the page, not "differs from training"."""
    week = simulate_cohort(40, seed=9).forms.drop(columns=["sex", "employment_status"])
    path = tmp_path / "small.csv"
    write_forms(week, path)
    page = tmp_path / "week.html"
    code, out, err = run(capsys, "--model", str(model_dir), "--input", str(path), "--output",
                         str(tmp_path / "ranked.csv"), "--report", str(page))
    assert code == 0, err
    assert ("modellens spørgsmål, filen ikke har (regnet som ubesvarede): beskæftigelse (employment_status), "
            "køn (sex)") in out
    assert "drift:" not in out
    assert page.read_text("utf-8").count("ikke i ugens fil") == 2
    audit = json.loads((tmp_path / "screening-audit.jsonl").read_text("utf-8").splitlines()[-1])
    assert audit["inputs_not_in_file"] == ["employment_status", "sex"] and audit["drift_warnings"] == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_page_says_which_days_the_forms_were_received(model_dir, tmp_path, capsys, workers):
    """Which week a page is about, from the forms (not the clock: the same file gives the same page)."""
    days = ["2026-11-18", "2026-11-16", "20.11.2026", "2026-11-17", "", "2026-11-19"] * 3
    rows = [form(case_id=f"R{k}", form_received=day or None, sick_leave_start=None) for k, day in enumerate(days)]
    rows.append(form(case_id="bad", form_received="2026-11-01", age="300"))  # refused: not counted
    path = write_csv_text(tmp_path / "week.csv", rows)
    page = tmp_path / "week.html"
    code, _, err = run(capsys, "--model", str(model_dir), "--input", str(path), "--output", str(tmp_path / "r.csv"),
                       "--report", str(page), "--chunk-rows", "5", "--workers", workers)
    assert code == 0, err
    assert '<p class="hint" id="week">Fil: week.csv · skemaer modtaget 16.11.2026–20.11.2026</p>' in page.read_text("utf-8")


def test_scoring_the_same_file_twice_writes_the_same_bytes(model_dir, week_file, tmp_path, capsys):
    files = []
    for attempt in ("a", "b"):
        folder = tmp_path / attempt
        code, _, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output",
                           str(folder / "ranked.csv"), "--report", str(folder / "page.html"), "--capacity", "10")
        assert code == 0, err
        files.append([(folder / name).read_bytes() for name in ("ranked.csv", "ranked_refused.csv", "page.html")])
    assert files[0] == files[1]


def test_the_audit_line_holds_counts_and_fingerprints_but_no_personal_data(model_dir, week_file, tmp_path, capsys):
    output = tmp_path / "ranked.csv"
    for _ in range(2):
        assert run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(output))[0] == 0
    lines = (tmp_path / "screening-audit.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 2
    record = json.loads(lines[-1])
    assert record["model_version"] == MODEL_VERSION and len(record["model_checksum"]) == 64
    assert len(record["input"]["sha256"]) == 64 and record["rows_read"] == 800
    assert record["rows_read"] == record["scored"] + record["refused"]
    assert record["files"] == {"output": "ranked.csv", "rejects": "ranked_refused.csv"}
    forms = pd.read_csv(week_file, sep=";", encoding="cp1252", dtype=str)
    for case_id in forms["case_id"].dropna():
        assert case_id not in lines[-1]
    for jobcenter in forms["jobcenter"].dropna().unique():
        assert jobcenter not in lines[-1]
    assert "SIM-" not in lines[-1] and str(tmp_path) not in lines[-1]


def test_the_summary_times_every_step_and_names_it_in_both_languages(model_dir, week_file, tmp_path, capsys):
    from screening.cli import _STEP_WORDS
    from screening.scoring._file import STEPS

    outputs = {}
    for language in ("da", "en"):
        code, out, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output",
                             str(tmp_path / language / "ranked.csv"), "--report", str(tmp_path / language / "p.html"),
                             "--chunk-rows", "300", "--language", language)  # three chunks: both passes, the merge
        assert code == 0, err
        outputs[language] = out
        steps = json.loads((tmp_path / language / "screening-audit.jsonl").read_text("utf-8"))["seconds_by_step"]
        assert list(steps) == sorted(STEPS)  # the audit line's keys are sorted
        assert all(isinstance(value, float) and value >= 0 for value in steps.values()), steps
        assert steps["start_up"] > 0  # the age of this process: the command times its start-up
        time_line = next(line for line in out.splitlines() if line.startswith(("tid:", "time:")))
        named = re.search(r"\((.*)\)$", time_line).group(1).split(", ")
        total = float(re.search(r":\s+([\d.,]+) s", time_line).group(1).replace(",", "."))
        assert total >= steps["start_up"]  # the run's time holds its start-up (it once left it out)
        assert [item.rpartition(" ")[0] for item in named] == [_STEP_WORDS[language][step] for step in STEPS]
    danish, english = (set(_STEP_WORDS[language].values()) for language in ("da", "en"))
    assert len(danish) == len(english) == len(_STEP_WORDS["da"]) and _STEP_WORDS["da"].keys() == _STEP_WORDS["en"].keys()
    assert "opstart" in outputs["da"] and "start-up" in outputs["en"]


def test_the_profile_of_a_loaded_model_leaves_start_up_out_unless_asked(model, week_file, tmp_path):
    from screening.scoring import score_file
    from screening.scoring._file import STEPS

    done = score_file(week_file, model=model, output=tmp_path / "ranked.csv", audit_log=tmp_path / "audit.jsonl")
    steps = done.summary["seconds_by_step"]
    assert list(steps) == list(STEPS) and min(steps.values()) >= 0
    assert steps["start_up"] == 0 and steps["ids"] == 0  # a library call; a file of one chunk
    in_this_thread = ("read", "encode", "model", "reasons", "rank", "write")
    assert sum(steps[step] for step in in_this_thread) <= done.seconds + 0.05 * len(in_this_thread)  # rounding


def test_a_file_of_many_chunks_reports_the_model_error_first_and_leaves_no_thread(week_file, model_dir, tmp_path):
    import threading

    from screening.intake import FileError
    from screening.scoring import score_file

    def reading_threads() -> int:
        return sum(thread.name.startswith("screening-read") for thread in threading.enumerate())

    before = reading_threads()
    with pytest.raises(FileError) as error:  # the model's error first, as before the file was read
        score_file(week_file, model=tmp_path, output=tmp_path / "out" / "ranked.csv", chunk_rows=100)
    assert error.value.kind == "unusable_model" and reading_threads() == before
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(FileError) as error:
        score_file(week_file, model=model_dir, output=tmp_path / "a_file" / "ranked.csv", chunk_rows=100)
    assert error.value.kind == "cannot_write" and reading_threads() == before


def test_the_audit_log_can_be_placed_elsewhere(model_dir, week_file, tmp_path, capsys, monkeypatch):
    log = tmp_path / "logs" / "audit.jsonl"
    assert run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(tmp_path / "a.csv"),
               "--audit-log", str(log))[0] == 0
    monkeypatch.setenv("SCREENING_AUDIT_LOG", str(log))
    assert run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(tmp_path / "b.csv"))[0] == 0
    assert len(log.read_text("utf-8").splitlines()) == 2
    assert not (tmp_path / "screening-audit.jsonl").exists()


def no_outputs(folder: Path) -> bool:
    return not any(folder.iterdir()) if folder.exists() else True


@pytest.mark.parametrize("problem", ["no input", "no age column", "not a model", "per without jobcenter",
                                     "output is input", "binary input", "parquet output",
                                     "pdf page", "misspelt column"])
def test_a_file_level_error_exits_2_in_one_line_and_leaves_nothing(model_dir, tmp_path, capsys, problem):
    source = tmp_path / "in"
    source.mkdir()
    good = write_csv_text(source / "week.csv", [form(case_id="A"), form(case_id="B")])
    model, forms = str(model_dir), str(good)
    extra: list[str] = []
    out = tmp_path / "out"
    out.mkdir()
    output = out / "ranked.csv"
    page = out / "page.html"
    said = {"parquet output": "ikke .parquet", "pdf page": "ikke .pdf",
            "misspelt column": "mente du work_ability, arbejdsevne?"}.get(problem, "")
    if problem == "parquet output":  # was written as CSV under a .parquet name
        output = out / "ranked.parquet"
    elif problem == "pdf page":
        page = out / "page.pdf"
    elif problem == "misspelt column":  # its answers were scored as blank on every form, without a word
        forms = str(write_csv_text(source / "typo.csv", [form()],
                                   header=[h if h != "work_ability" else "work_abilty" for h in HEADER]))
    if problem == "no input":
        forms = str(source / "missing.csv")
    elif problem == "no age column":
        forms = str(write_csv_text(source / "noage.csv", [form()], header=[h for h in HEADER if h != "age"]))
    elif problem == "not a model":
        model = str(source)
    elif problem == "per without jobcenter":
        forms = str(write_csv_text(source / "nojc.csv", [form()], header=[h for h in HEADER if h != "jobcenter"]))
        extra = ["--per", "jobcenter"]
    elif problem == "output is input":
        output = good
    elif problem == "binary input":
        (source / "junk.csv").write_bytes(b"\x00\x01\x02garbage")
        forms = str(source / "junk.csv")
    before = good.read_bytes()
    code, stdout, err = run(capsys, "--model", model, "--input", forms, "--output", str(output),
                            "--report", str(page), *extra)
    assert code == 2
    assert err.startswith("screening: fejl: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert said in err
    assert stdout == ""
    assert no_outputs(out)
    assert good.read_bytes() == before


def test_a_folder_the_run_had_to_make_is_named_in_its_summary(model_dir, tmp_path, capsys):
    """A misspelt folder (``ouput/``) was made and the week's files put there without a word (a user's report);
    folders are still made, as scripts writing to a new folder each week expect, but the summary says so."""
    good = write_csv_text(tmp_path / "week.csv", [form(case_id="A"), form(case_id="B")])
    code, stdout, _ = run(capsys, "--model", str(model_dir), "--input", str(good), "--output",
                          str(tmp_path / "ouput" / "uge48" / "ranked.csv"), "--report", str(tmp_path / "week.html"))
    assert code == 0 and (tmp_path / "ouput" / "uge48" / "ranked.csv").exists()
    assert f"ny mappe:  {tmp_path / 'ouput'} (fandtes ikke, er oprettet)" in stdout.splitlines()
    code, stdout, _ = run(capsys, "--model", str(model_dir), "--input", str(good), "--output",
                          str(tmp_path / "ouput" / "uge48" / "ranked.csv"))
    assert code == 0 and "ny mappe" not in stdout


@pytest.mark.parametrize("argv", [["--capacity", "-1"], ["--capacity", "ten"], ["--per", "team"],
                                  ["--language", "de"]])
def test_bad_options_exit_2(model_dir, tmp_path, capsys, argv):
    good = write_csv_text(tmp_path / "week.csv", [form()])
    code, _, err = run(capsys, "--model", str(model_dir), "--input", str(good), "--output",
                       str(tmp_path / "o.csv"), *argv)
    assert code == 2 and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_spreadsheet_formulas_and_cpr_numbers_never_reach_the_files(model_dir, tmp_path, capsys):
    rows = [form(case_id="-A1", jobcenter="=1+2"), form(case_id="010203-1234"), form(case_id="B", age="@x")]
    source = write_csv_text(tmp_path / "week.csv", rows)
    assert run(capsys, "--model", str(model_dir), "--input", str(source), "--output", str(tmp_path / "r.csv"),
               "--rejects", str(tmp_path / "refused.csv"), "--report", str(tmp_path / "p.html"))[0] == 0
    ranked = (tmp_path / "r.csv").read_text("utf-8")
    assert "\n1,'-A1,'=1+2," in ranked
    written = "".join((tmp_path / name).read_text("utf-8") for name in ("r.csv", "refused.csv", "p.html",
                                                                          "screening-audit.jsonl"))
    assert "010203-1234" not in written and "******-****" in written
    assert "'@x" in (tmp_path / "refused.csv").read_text("utf-8")


def test_english_on_request(model_dir, week_file, tmp_path, capsys):
    assert run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(tmp_path / "r.csv"),
               "--language", "en")[0] == 0
    assert "weeks" in (tmp_path / "r.csv").read_text("utf-8")
    assert "not " in (tmp_path / "r_refused.csv").read_text("utf-8")


SUMMARY = {
    "rows_read": 12345, "scored": 12000, "refused": 345, "blank_rows": 2, "ignored_columns": ["notes"],
    "refused_by_reason": {"age:out_of_range": 300, "sick_weeks:weeks_disagree_with_dates": 40, ":malformed_row": 5},
    "priority_counts": {"high": 1200, "medium": 3400, "low": 7400}, "capacity": 10, "per": "jobcenter",
    "contacts": 80, "drift_warnings": ["age"], "model_family": "additive", "model_version": "v1",
    "model_checksum": "ab" * 32, "seconds_by_step": {"validate_and_score": 1.25},
}


def test_the_score_summary_is_danish_by_default_and_english_on_request(tmp_path):
    from screening.cli import format_score_summary

    written = {"output": tmp_path / "ranked.csv", "page": None}
    danish = format_score_summary(SUMMARY, dialect={"encoding": "cp1252"}, written=written, seconds=3.5)
    english = format_score_summary(SUMMARY, dialect={"encoding": "cp1252"}, written=written, seconds=3.5,
                                   language="en")
    assert danish.splitlines()[:4] == ["læst:      12.345 skemaer (tegnsæt 'cp1252')", "scoret:    12.000",
                                       "afvist:    345", "        300  alder (age): uden for intervallet (out_of_range)"]
    assert "          5  (hele rækken): forkert antal felter (malformed_row)" in danish
    assert "prioritet: høj 1.200 · mellem 3.400 · lav 7.400" in danish
    assert ("drift:     ugens skemaer adskiller sig fra træningsdata i alder (age) mere, end 12.000 skemaer kan forklare: "
            "se listen efter med ekstra omhu") in danish
    assert f"liste:     {tmp_path / 'ranked.csv'}" in danish
    assert danish.endswith("tid:       3,50 s (validering og scoring 1,2)")
    assert english.splitlines()[:4] == ["read:      12,345 forms (encoding 'cp1252')", "scored:    12,000",
                                        "refused:   345", "        300  age: out of range (out_of_range)"]
    assert "priority:  high 1,200 · medium 3,400 · low 7,400" in english
    assert ("drift:     this week's forms differ from the training data in age by more than 12,000 forms explain: "
            "read the list with extra care") in english
    assert english.endswith("time:      3.50 s (validate and score 1.2)")


def test_ctrl_c_is_one_line_and_leaves_no_file_and_no_process(model_dir, tmp_path):
    """Ctrl-C while a file of several chunks is read (its first pass in a process of its own) or scored:
    exit 130, one line, nothing written, no process left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "week.csv"
    write_forms(simulate_cohort(12_000, seed=4).forms, path)
    for wait in (0.0, 0.4, 0.7):  # as soon as the run starts, as the workers start, while they score
        out = tmp_path / f"out-{wait}"
        out.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-m", "screening", "score", "--model", str(model_dir), "--input", str(path),
             "--output", str(out / "ranked.csv"), "--report", str(out / "week.html"), "--chunk-rows", "500",
             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            # as from a terminal: a suite started in the background of a shell (`pytest &`) ignores Ctrl-C, and so
            # would the command it starts (the shell's rule for background jobs, which the command keeps)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while not any(out.iterdir()) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # until the run's scratch folder exists: the file is being read
        time.sleep(wait)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        _, err = process.communicate(timeout=60)
        # 130, or ended by the signal itself once the interpreter is past its handler: a shell says 130 of both.
        assert process.returncode in (130, -signal.SIGINT) and err == "screening: interrupted\n", (wait, err)
        assert list(out.iterdir()) == []
        left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert left == []


def test_a_worker_leaves_ctrl_c_to_the_main_process_except_while_it_scores_a_chunk():
    """A worker that raised Ctrl-C while it started (or waited for a chunk) printed a traceback and broke the
    pool; with the main process cancelling its work at the same time, the run never ended (CPython 3.11)."""
    import subprocess
    import sys

    script = (
        "import os, signal, time\n"
        "from screening._io import interruptible\n"
        "from screening.scoring._workers import _start_worker\n"
        "_start_worker(None)\n"
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.05)\n"
        "print('ignored between chunks')\n"
        "try:\n"
        "    with interruptible():\n"
        "        os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('raised while scoring')\n"
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.05)\n"
        "print('ignored again')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:3] == ["ignored between chunks", "raised while scoring", "ignored again"]
    assert done.returncode == 0 and done.stderr == ""


def test_a_worker_works_its_chunk_on_its_one_thread(model_dir, week_file):
    """In a worker process the processes are the parallelism: validation and the model start no thread of
    their own (a second thread per worker only took turns on the same two cores, ~5 % more CPU a run)."""
    import subprocess
    import sys

    script = (
        "import concurrent.futures\n"
        "from screening.intake import read_table\n"
        "from screening.intake import _validate\n"
        "from screening.scoring import _engine, load_model, score_chunk\n"
        "from screening.scoring._workers import _start_worker\n"
        f"model = load_model({str(model_dir)!r})\n"
        f"raw = read_table({str(week_file)!r})\n"
        "_validate.PARALLEL_ROWS = 0\n"
        "_engine.CHUNK_FORMS = 7\n"
        "assert len(score_chunk(model, raw).run) > 14\n"
        "_start_worker(None)\n"
        "class NoThreads:\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        raise AssertionError('a worker started a thread pool')\n"
        "concurrent.futures.ThreadPoolExecutor = NoThreads\n"
        "_engine.ThreadPoolExecutor = NoThreads\n"
        "print(len(score_chunk(model, raw).run))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 14


def test_a_week_is_scored_without_importing_scikit_learn(model_dir, week_file, tmp_path):
    """The batch loads the additive model's scorer (``scorer.json``): neither scikit-learn, skops nor SciPy
    is imported by the command, whether it scores here or in worker processes; the list is the same."""
    from tests.conftest import heavy_imports_of

    lists = []
    for workers in ("1", "2"):
        out = tmp_path / f"ranked-{workers}.csv"
        script = (
            "from screening.cli import main\n"
            f"code = main(['score', '--model', {str(model_dir)!r}, '--input', {str(week_file)!r}, '--output',"
            f" {str(out)!r}, '--chunk-rows', '400', '--workers', {workers!r}])\n"
            "assert code == 0, code\n"
        )
        assert heavy_imports_of(script) == []
        lists.append(out.read_bytes())
    assert lists[0] == lists[1]


@pytest.mark.parametrize("command", ["score", "validate"])
def test_the_batch_commands_reuse_the_memory_they_free(command, model_dir, week_file, tmp_path):
    """A worker's first chunk paid ~70,000 page faults for memory glibc had handed back to the system (later
    chunks 2,000–12,000): the commands that read a file keep what they free (forked workers inherit it)."""
    import sys

    from tests.test_io import second_array_faults

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's allocator is set on Linux only")
    argv = (["score", "--model", str(model_dir), "--output", str(tmp_path / "ranked.csv")] if command == "score"
            else ["validate"])
    run = (
        "import contextlib, io\n"
        "from screening.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({argv + ['--input', str(week_file)]!r}) == 0\n"
    )
    assert second_array_faults(run) < 200


def test_one_form_is_one_skema(tmp_path):
    from screening.cli import format_score_summary

    one = {**SUMMARY, "rows_read": 1, "scored": 1, "refused": 0, "refused_by_reason": {}}
    written = {"output": tmp_path / "ranked.csv", "page": None}
    assert format_score_summary(one, dialect={}, written=written, seconds=0.1).splitlines()[0] == "læst:      1 skema ()"
    assert format_score_summary(one, dialect={}, written=written, seconds=0.1,
                                language="en").splitlines()[0] == "read:      1 form ()"


@pytest.mark.parametrize("command", ["score", "validate"])
def test_cpr_numbers_in_a_column_outside_the_contract_are_counted_not_shown(command, model_dir, tmp_path, capsys):
    """A user's report: a file with a column `cpr` of CPR numbers was scored without a word (the column is
    ignored and its values go nowhere, but the file was not pseudonymised, as the contract asks)."""
    from screening import cli

    rows = [{**form(case_id=f"K-{i}"), "cpr": cpr, "noter": note} for i, (cpr, note) in
            enumerate([("010190-1234", ""), ("0101901234", "ring 020291-4321 tilbage"), ("", "ingen"), ("", "")])]
    path = write_csv_text(tmp_path / "week.csv", rows)
    output = tmp_path / "ranked.csv"
    argv = ["--model", str(model_dir), "--output", str(output)] if command == "score" else []
    assert cli.main([command, "--input", str(path), *argv]) == 0
    out, err = capsys.readouterr()
    assert "filen er ikke pseudonymiseret" in out and ("ret det hos afsenderen: 2" in out), out
    assert "ukendte kolonner sprunget over: cpr, noter" in out or "cpr, noter" in out
    shown = out + err + (output.read_text("utf-8") if output.exists() else "")
    assert not re.search(r"0101901234|010190-1234|020291-4321", shown)
    clean = write_csv_text(tmp_path / "clean.csv", [{**form(case_id="K-9"), "noter": "ingen"}])
    assert cli.main([command, "--input", str(clean), *argv]) == 0
    assert "pseudonymiseret" not in capsys.readouterr().out
