"""The registered model through MLflow's own tools answers as the batch does: same risks, same refusals, no CPR.

The pyfunc runs the batch's primitive (``score_chunk``), so a form is refused, masked,
scored and explained alike by ``screening score``, the Python pyfunc, ``mlflow models
predict`` (CSV, and JSON with numbers) and ``mlflow models serve`` (started by
``screening serve`` as the README says, answered over HTTP in strict JSON).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.synthetic import simulate_cohort, write_forms
from tests.conftest import HEADER

CPR = "010190-1234"
HORIZONS = (8, 13, 22, 52)
ANSWER = ("case_id", "status", "risk_8", "risk_13", "risk_22", "risk_52", "queue", "horizon", "priority", "reasons",
          "reason_factors", "questions", "refusal", "refusal_reasons", "model_version")


@pytest.fixture(scope="module")
def registered(store, tmp_path_factory):
    from screening.registry import train_model

    folder = tmp_path_factory.mktemp("train")
    data = folder / "train.csv"
    write_forms(simulate_cohort(2_500, seed=21, training=True).forms, data)
    return train_model(data, model_dir=folder / "model", family="additive", register="risk")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Simulated forms, some broken, and three whose case_id is a CPR number (refused, and never shown in full)."""
    forms = simulate_cohort(60, seed=22, invalid_share=0.1).forms
    forms.loc[3, "case_id"] = CPR
    forms.loc[7, "case_id"] = "0101901234"
    forms.loc[11, "case_id"] = "010190 1234"  # typed with a space
    path = tmp_path_factory.mktemp("week") / "week.csv"
    write_forms(forms, path)
    return forms, path


@pytest.fixture(scope="module")
def library(registered, week):
    """What the library says of the week: exact risks of the valid forms, and the ranked list (Danish, English)."""
    from screening.intake import validate_file
    from screening.scoring import load_model

    forms, path = week
    model = load_model(registered.model_dir, single_forms=False)
    valid = validate_file(path).valid
    exact = model.estimator.predict_risk(valid)
    exact.index = valid["case_id"].to_numpy()
    english = model.score(forms, language="en").ranked.set_index("case_id")
    return exact, model.score(forms).ranked.set_index("case_id"), validate_file(path), english


def strict_json(text: str) -> object:
    """JSON as a strict parser (JavaScript's JSON.parse) reads it: NaN and Infinity are refused."""
    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant} in the answer")

    return json.loads(text, parse_constant=refuse)


def assert_answers_as_the_library(answer: pd.DataFrame, forms: pd.DataFrame, library, *, language: str = "da") -> None:
    exact, ranked, validation, english = library
    ranked = english if language == "en" else ranked
    assert answer.columns.tolist() == list(ANSWER)
    assert len(answer) == len(forms)
    shown = answer["case_id"].astype(object).where(answer["case_id"].notna(), None).tolist()
    assert not any(CPR in str(value) or "0101901234" in str(value) or "010190 1234" in str(value)
                   for value in shown), shown
    assert shown[3] == shown[7] == shown[11] == "******-****"
    scored = answer[answer["status"] == "scored"]
    assert len(scored) == len(validation.valid) == len(ranked)
    ids = scored["case_id"].to_numpy()
    rows = ranked.loc[ids]
    for h in HORIZONS:
        column = f"risk_{h}"
        np.testing.assert_allclose(scored[column].to_numpy(dtype=float), exact.loc[ids, column].to_numpy(),
                                   rtol=0, atol=1e-9)
        written = (np.where(rows["queue"] == "early", rows["risk"].to_numpy(dtype=float), 1.0) if h == 13
                   else rows[column].to_numpy(dtype=float))  # the ranked list's risk is 13 weeks in the early queue
        assert np.abs(scored[column].to_numpy(dtype=float) - written).max() <= 0.5e-4 + 1e-12  # 4 decimals
    # What the batch shows the consultant, row for row: queue, horizon, priority, reasons, questions.
    for name in ("queue", "priority", "reasons", "questions"):
        assert scored[name].tolist() == rows[name].tolist(), name
    assert [None if h is None or h != h else int(h) for h in scored["horizon"]] == [
        None if pd.isna(h) else int(h) for h in rows["horizon"]]
    assert scored["reasons"].str.len().gt(0).mean() > 0.8  # most forms have a reason
    contract = set(HEADER)
    for text, factors in zip(scored["reasons"], scored["reason_factors"]):
        listed = strict_json(factors)
        assert "; ".join(f"{'↑' if item['direction'] == 'up' else '↓'} {item['text']}" for item in listed) == text
        assert all(item["factor"] in contract and (item["points"] > 0) == (item["direction"] == "up")
                   and abs(item["points"]) >= 2.0 for item in listed), listed
    assert scored["refusal"].isna().all() and scored["refusal_reasons"].isna().all()
    refused = answer[answer["status"] == "refused"]
    assert len(refused) == validation.refused_rows and refused["refusal"].str.len().gt(0).all()
    assert refused[[f"risk_{h}" for h in HORIZONS] + ["priority", "reasons", "reason_factors"]].isna().all().all()
    for text, reasons in zip(refused["refusal"], refused["refusal_reasons"]):
        listed = strict_json(reasons)
        assert listed and all(item["reason"] in text and item["kind"] for item in listed)
    assert not any(CPR in text for text in refused["refusal"])


def test_the_python_pyfunc_answers_as_the_library(registered, week, library):
    import mlflow

    forms, _ = week
    model = mlflow.pyfunc.load_model("models:/risk@champion")
    assert_answers_as_the_library(model.predict(forms), forms, library)
    assert_answers_as_the_library(model.predict(forms, params={"language": "en"}), forms, library, language="en")


def test_the_signature_declares_no_input_columns_so_the_forms_reach_our_validation(registered):
    """MLflow would enforce an input schema before our code runs: drop a misspelt column, refuse a request
    without a required one with the request's data in its message. The forms come as sent; the answer and the
    ``language`` parameter are declared."""
    import mlflow

    info = mlflow.models.get_model_info("models:/risk@champion")
    assert info.signature.inputs is None
    assert [column["name"] for column in info.signature.outputs.to_dict()] == list(ANSWER)
    assert info.signature.params.to_dict() == [{"name": "language", "type": "string", "default": "da", "shape": None}]


def typed_records(forms: pd.DataFrame) -> list[dict]:
    """The forms as a case system sends JSON: numbers as numbers, yes/no as booleans, blanks as null.

    ``case_id`` stays text (an id is text; as a number it would lose its leading zeros).
    """
    records = []
    for row in forms.to_dict("records"):
        typed: dict[str, object] = {}
        for key, value in row.items():
            if value is None or value != value:
                typed[key] = None
            elif key != "case_id" and re.fullmatch(r"-?\d{1,6}", value):
                typed[key] = int(value)
            elif key != "case_id" and re.fullmatch(r"-?\d{1,6}\.\d{1,6}", value):
                typed[key] = float(value)
            elif value in ("true", "false"):
                typed[key] = value == "true"
            else:
                typed[key] = value
        records.append(typed)
    kinds = {type(value) for record in records for value in record.values()}
    assert {int, float, bool, str, type(None)} <= kinds, kinds
    return records


def predict_with_mlflow(source: Path, content_type: str, store: str, output: Path) -> pd.DataFrame:
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "predict", "-m", "models:/risk@champion", "-i", str(source),
         "-t", content_type, "-o", str(output), "--env-manager", "local"],
        capture_output=True, text=True, env={**os.environ, "MLFLOW_TRACKING_URI": store},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.DataFrame(strict_json(output.read_text())["predictions"])


@pytest.mark.slow
def test_mlflow_models_predict_takes_json_records_with_numbers(registered, week, library, tmp_path, store):
    forms, _ = week
    source = tmp_path / "input.json"
    source.write_text(json.dumps({"dataframe_records": typed_records(forms)}))
    answer = predict_with_mlflow(source, "json", store, tmp_path / "out.json")
    assert_answers_as_the_library(answer, forms, library)


@pytest.mark.slow
def test_mlflow_models_predict_takes_a_csv(registered, week, library, tmp_path, store):
    """MLflow reads the CSV with pandas, so numeric columns arrive as float64 (40.0, NaN): they answer as text."""
    forms, path = week
    answer = predict_with_mlflow(path, "csv", store, tmp_path / "out.json")
    assert_answers_as_the_library(answer, forms, library)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(registered, store, tmp_path_factory):
    """`screening serve`, started as the README says, from another folder and with the venv *not* on PATH."""
    port = free_port()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    environment = {**os.environ, "MLFLOW_TRACKING_URI": store, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "screening"), "serve", "--model", "models:/risk@champion",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=elsewhere, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment,
        start_new_session=True,  # MLflow's server runs uvicorn as a child: stop the whole group
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start: {process.stderr.read()[-2000:]}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", elsewhere
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        process.stderr.close()


def post(url: str, body: dict | str) -> str:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/invocations", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read().decode("utf-8")


@pytest.mark.slow
def test_mlflow_models_serve_answers_as_the_library_in_strict_json(server, week, library):
    forms, _ = week
    url, elsewhere = server
    body = post(url, {"dataframe_records": typed_records(forms)})
    assert CPR not in body and "0101901234" not in body
    answer = pd.DataFrame(strict_json(body)["predictions"])
    assert_answers_as_the_library(answer, forms, library)
    english = post(url, {"dataframe_split": {"columns": list(forms.columns),
                                             "data": forms.astype(object).where(forms.notna(), None).values.tolist()},
                         "params": {"language": "en"}})
    assert_answers_as_the_library(pd.DataFrame(strict_json(english)["predictions"]), forms, library, language="en")
    assert not any(elsewhere.iterdir())  # nothing written where the server was started (no mlflow.db)


def readme_example() -> tuple[str, list[dict]]:
    """The curl request of the README's case-systems section, and the answer it documents."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = text.split("<!-- serve-example -->")[1]
    request = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    answer = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    body = re.search(r"-d '(.*?)'", request, re.S).group(1)
    assert "curl" in request and "/invocations" in request
    return body, strict_json(answer)["predictions"]


@pytest.mark.slow
def test_the_readme_curl_example_gets_the_answer_it_documents(server):
    """The README's request, sent as it stands (with curl when there is one), gets an answer of the documented shape."""
    url, _ = server
    body, documented = readme_example()
    if shutil.which("curl"):
        done = subprocess.run(["curl", "-s", "-f", f"{url}/invocations", "-H", "Content-Type: application/json",
                               "-d", body], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        text = done.stdout
    else:  # pragma: no cover - curl is in every Debian image we use
        text = post(url, body)
    answer = strict_json(text)["predictions"]
    assert [list(row) for row in answer] == [list(row) for row in documented] == [list(ANSWER)] * len(documented)
    for got, shown in zip(answer, documented):
        # Risks, priority and reasons are the model's (the README's come from the demo's model); the rest is not.
        assert {key: got[key] for key in ("case_id", "status", "refusal", "refusal_reasons")} == {
            key: shown[key] for key in ("case_id", "status", "refusal", "refusal_reasons")}
        assert all((got[key] is None) == (shown[key] is None) for key in ANSWER)


# ------------------------------------------------- requests that cannot be scored as sent
def misspelt_forms() -> pd.DataFrame:
    """Two forms with ``work_ability`` spelt ``work_abilty`` (the second's left blank), one case_id a CPR number."""
    good = {"case_id": "W1", "jobcenter": "Aarhus", "sick_weeks": 2.5, "age": 29, "physical_load": "stillesiddende",
            "expected_return": "within_4_weeks"}
    return pd.DataFrame([{**good, "work_abilty": 1}, {**good, "case_id": CPR, "work_abilty": None}])


@pytest.mark.parametrize("language", ["da", "en"])
def test_a_misspelt_field_refuses_the_forms_as_score_one_refuses_the_form(registered, language):
    """The pyfunc's rows (``score_rows``) refuse a column the contract does not know with the library's reasons."""
    from screening.intake import RefusedFormError
    from screening.scoring import load_model
    from screening.scoring._pyfunc import score_rows

    model = load_model(registered.model_dir)
    forms = misspelt_forms()
    answer = score_rows(model, forms, language=language)
    assert answer["status"].tolist() == ["refused", "refused"]
    assert answer["case_id"].tolist() == ["W1", "******-****"]
    for position, form in enumerate(forms.to_dict("records")):
        with pytest.raises(RefusedFormError) as refused:
            model.score_one(form, language=language)
        assert strict_json(answer["refusal_reasons"][position]) == refused.value.reasons
    assert answer["refusal"][0] == f"work_abilty: {refused.value.reasons[0]['reason']}"
    assert ("mente du work_ability?" if language == "da" else "did you mean work_ability?") in answer["refusal"][0]
    assert answer[[f"risk_{h}" for h in HORIZONS]].isna().all().all()
    assert CPR not in answer.to_json()
    # Asked to pass over unknown columns, it scores as the correctly spelt form without the answer.
    passed_over = score_rows(model, forms.iloc[:1], language=language, ignore_unknown=True)
    without = score_rows(model, forms.iloc[:1].drop(columns="work_abilty"), language=language)
    assert passed_over["status"].tolist() == ["scored"] and passed_over.equals(without)


def test_the_registered_pyfunc_refuses_a_misspelt_field(registered):
    import mlflow

    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(misspelt_forms())
    assert answer["status"].tolist() == ["refused", "refused"]


@pytest.mark.parametrize("language", ["de", "EN", CPR])
def test_the_python_pyfunc_refuses_a_language_it_does_not_write_in_one_line(registered, week, language):
    import mlflow

    forms, _ = week
    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(forms, params={"language": language})
    shown = "******-****" if language == CPR else language
    assert answer["status"].eq("refused").all() and len(answer) == len(forms)
    assert set(answer["refusal"]) == {f"params.language: ukendt sprog '{shown}'; tilladte værdier: da, en"}
    assert all(strict_json(text) == [{"column": "params.language", "value": shown, "kind": "unknown_language",
                                      "reason": f"ukendt sprog '{shown}'; tilladte værdier: da, en"}]
               for text in answer["refusal_reasons"])
    assert answer[[f"risk_{h}" for h in HORIZONS]].isna().all().all()
    assert CPR not in answer.to_json(force_ascii=False) and "0101901234" not in answer.to_json(force_ascii=False)


@pytest.mark.parametrize("language", ["da", "en"])
def test_forms_without_weeks_or_start_are_refused_in_one_line_naming_the_columns(registered, language):
    """MLflow's signature marks both optional (either will do), so the batch's file error reaches predict."""
    import mlflow

    forms = pd.DataFrame([{"case_id": CPR, "age": 30, "physical_load": 2},
                          {"case_id": "B2", "age": 41, "physical_load": 3}])
    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(forms, params={"language": language})
    assert answer["status"].tolist() == ["refused", "refused"] and answer["case_id"].tolist() == ["******-****", "B2"]
    refusal = answer["refusal"][0]
    assert "\n" not in refusal and "sick_weeks" in refusal and "sick_leave_start" in refusal
    assert ("mangler" if language == "da" else "missing") in refusal
    assert strict_json(answer["refusal_reasons"][1]) == [{"column": "", "value": "", "reason": refusal,
                                                          "kind": "file_error"}]
    assert CPR not in answer.to_json()


def test_a_request_without_a_required_column_is_answered_refused_and_never_shows_a_cpr_number(registered):
    """MLflow's own check (with an input schema) raised an error holding the request's data, CPR numbers and all."""
    import mlflow

    forms = pd.DataFrame([{"case_id": CPR, "sick_weeks": 3, "physical_load": 2}])  # no age
    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(forms)
    assert answer["status"].tolist() == ["refused"] and answer["case_id"].tolist() == ["******-****"]
    assert "age (alder)" in answer["refusal"][0] and CPR not in answer.to_json()


@pytest.mark.slow
def test_the_server_refuses_a_misspelt_field_and_a_missing_one_without_echoing_the_request(server):
    url, _ = server
    forms = misspelt_forms().astype(object)
    misspelt = post(url, {"dataframe_records": forms.where(forms.notna(), None).to_dict("records")})
    assert [row["status"] for row in strict_json(misspelt)["predictions"]] == ["refused", "refused"]
    assert "mente du work_ability?" in strict_json(misspelt)["predictions"][0]["refusal"]
    missing = post(url, {"dataframe_records": [{"case_id": CPR, "sick_weeks": 3, "physical_load": 2}]})
    assert CPR not in missing and "0101901234" not in missing
    assert strict_json(missing)["predictions"][0]["status"] == "refused"


@pytest.mark.slow
def test_the_server_refuses_a_language_it_does_not_write_in_one_line(server):
    url, _ = server
    body = post(url, {"dataframe_records": [{"case_id": CPR, "age": 30, "sick_weeks": 3, "physical_load": 2}],
                      "params": {"language": "de"}})
    assert CPR not in body
    (row,) = strict_json(body)["predictions"]
    assert row["status"] == "refused" and row["case_id"] == "******-****"
    assert row["refusal"] == "params.language: ukendt sprog 'de'; tilladte værdier: da, en"


def post_error(url: str, body: str) -> tuple[int, str]:
    """Status and body of a request the server answers with an error."""
    request = urllib.request.Request(f"{url}/invocations", data=body.encode(), headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=120)
    return caught.value.code, caught.value.read().decode("utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("body", [
    # a params value of the wrong type: MLflow's answer quoted every form of the request
    json.dumps({"dataframe_records": [{"case_id": CPR, "age": 45}], "params": {"language": 5}}),
    json.dumps({"dataframe_records": [{"case_id": "0101901234", "age": 45}], "params": {"language": ["da"]}}),
    # not JSON: MLflow's answer quoted the whole body
    '{"dataframe_records":[{"case_id":"010190-1234", "age": }]}',
    # one form as scalars under "inputs": MLflow's answer carried a Python stack trace
    json.dumps({"inputs": {"case_id": CPR, "age": 45, "sick_weeks": 3, "physical_load": 2}}),
], ids=["language-number", "language-list", "not-json", "inputs-scalars"])
def test_an_error_answer_does_not_repeat_the_request(server, body):
    """A user's report: `screening serve` answered these with the request in the message, CPR number and all."""
    url, _ = server
    status, answer = post_error(url, body)
    assert status == 400
    error = strict_json(answer)
    assert set(error) == {"error_code", "message"} and error["error_code"] in {"BAD_REQUEST", "INVALID_PARAMETER_VALUE"}
    assert CPR not in answer and "0101901234" not in answer and "case_id" not in error["message"]
    assert "Traceback" not in answer and len(error["message"]) < 1000


def test_an_error_answer_keeps_its_code_and_what_went_wrong():
    from screening.registry._served import quiet_error

    mlflow_answer = json.dumps({
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Failed to predict data '   case_id  age\n0  010190-1234   45'. \nError: Invalid parameters found: "
                   "{('language', 'Failed to validate type and shape for language')}",
        "stack_trace": "Traceback (most recent call last):\n  File ...",
    }).encode()
    assert json.loads(quiet_error(mlflow_answer)) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Invalid parameters found: {('language', 'Failed to validate type and shape for language')}"}
    not_json = json.dumps({"error_code": "BAD_REQUEST", "message": "Ensure that input is a valid JSON formatted "
                           "string. Error: 'JSONDecodeError(...)'\nInput: \n{\"case_id\": \"0101901234\"}\n"})
    quiet = json.loads(quiet_error(not_json.encode()))
    assert quiet["message"].startswith("Ensure that input is a valid JSON formatted string.")
    assert "0101901234" not in quiet["message"] and "Input" not in quiet["message"]
    assert json.loads(quiet_error(b"Request processing time exceeded limit")) == {
        "error_code": "BAD_REQUEST", "message": "Request processing time exceeded limit"}
    assert "010190-1234" not in quiet_error(b'{"message": "ring 010190-1234"}').decode()


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_of_another_separator_read_as_one_column_is_refused_saying_so(registered, tmp_path, separator):
    """``mlflow models predict -t csv`` reads commas only: a Danish Excel file arrives as one column."""
    import mlflow

    path = tmp_path / "week.csv"
    path.write_text(separator.join(["case_id", "sick_weeks", "age", "physical_load"]) + "\n"
                    + separator.join([CPR, "3", "40", "2"]) + "\n" + separator.join(["A2", "5", "50", "3"]) + "\n",
                    encoding="utf-8")
    forms = pd.read_csv(path, dtype=str)  # as MLflow's CSV reader does
    assert len(forms.columns) == 1
    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(forms)
    assert answer["status"].tolist() == ["refused", "refused"]
    shown = "tab" if separator == "\t" else f"'{separator}'"
    assert set(answer["refusal"]) == {f"tabellen kom som én kolonne, hvis navn har {shown} i sig: en CSV med {shown} "
                                      "mellem felterne, læst som en med komma (MLflow læser kun komma); send CSV "
                                      "med komma, eller JSON"}
    assert CPR not in answer.to_json(force_ascii=False)
