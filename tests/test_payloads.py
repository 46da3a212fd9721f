"""Request bodies and answers of the scoring servers, and the predict client.

The bodies are checked against the documented shapes and against MLflow's own request
parser; the client against MLflow's real scoring app served on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from support import MODEL, RAW_ROWS, run_in_process

from churn_experiments.deploy import payloads
from churn_experiments.deploy.client import PredictionError, predict, read_rows
from churn_experiments.deploy.payloads import PayloadError

PROJECT = Path(__file__).resolve().parents[1]
ROWS = RAW_ROWS
FIRST_ROW = [34, "No", "Middle Income", 6, "No", "Yes"]


# --- bodies -------------------------------------------------------------------------


def test_dataframe_split_is_mlflows_documented_shape() -> None:
    body = payloads.dataframe_split(ROWS)

    assert list(body) == ["dataframe_split"]
    assert body["dataframe_split"] == {
        "columns": list(ROWS.columns),
        "index": [0, 1],
        "data": [FIRST_ROW, [28, "Yes", "Low Income", 1, "Yes", "No"]],
    }


def test_dataframe_records_is_one_object_per_row() -> None:
    body = payloads.dataframe_records(ROWS)

    assert body["dataframe_records"][0] == dict(
        zip(ROWS.columns, FIRST_ROW, strict=True)
    )
    assert len(body["dataframe_records"]) == 2


def test_input_data_is_azures_documented_shape() -> None:
    body = payloads.input_data(ROWS)

    assert list(body) == ["input_data"]
    assert set(body["input_data"]) == {"columns", "index", "data"}
    assert body["input_data"] == payloads.dataframe_split(ROWS)["dataframe_split"]


def test_bodies_are_plain_json_with_missing_values_as_null() -> None:
    rows = ROWS.astype({"Age": "float64"})
    rows.loc[1, "Age"] = math.nan

    text = json.dumps(payloads.to_payload(rows, "input_data"), allow_nan=False)

    assert json.loads(text)["input_data"]["data"][1][0] is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (ROWS.to_dict(), "must be a pandas DataFrame"),
        (ROWS.iloc[0:0], "the DataFrame is empty"),
        (pd.concat([ROWS, ROWS["Age"]], axis=1), "duplicated column names: ['Age']"),
    ],
)
def test_rows_that_cannot_be_sent(rows: Any, message: str) -> None:
    for fmt in payloads.FORMATS:
        with pytest.raises(PayloadError, match=message.replace("[", r"\[")):
            payloads.to_payload(rows, fmt)


def test_an_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(PayloadError, match="allowed: dataframe_split, dataframe_rec"):
        payloads.to_payload(ROWS, "instances_split")


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records"])
def test_mlflows_own_parser_reads_our_bodies_back(fmt: str) -> None:
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    parsed = infer_and_parse_data(payloads.to_payload(ROWS, fmt))

    pd.testing.assert_frame_equal(parsed, ROWS, check_dtype=False)


def test_mlflows_own_parser_refuses_azures_body() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    with pytest.raises(MlflowException, match="dataframe_split"):
        infer_and_parse_data(payloads.input_data(ROWS))


# --- answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"predictions": [0, 1]},  # MLflow's scoring server
        [0, 1],  # Azure ML, decoded
        "[0, 1]",  # Azure ML, as the SDK's invoke returns it
        b'{"predictions": [0, 1]}',  # raw bytes from requests
        '"[0, 1]"',  # a scoring script that returned json.dumps(...)
    ],
)
def test_both_answer_shapes_give_the_list(answer: Any) -> None:
    assert payloads.parse_predictions(answer) == [0, 1]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"error_code": "BAD_REQUEST", "message": "x"},
            "server answered an error: BAD",
        ),
        ({"predictions": {"a": 1}}, "'predictions' holds a dict, expected a list"),
        ({"outputs": [1]}, "got an object with keys ['outputs']"),
        ("<html>502 Bad Gateway</html>", "the answer is not JSON: '<html>502"),
        (42, "got int"),
    ],
)
def test_answers_without_predictions(answer: Any, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        payloads.parse_predictions(answer)
    assert message in str(caught.value)


# --- the client against MLflow's scoring app on 127.0.0.1 --------------------------


@pytest.fixture(scope="module")
def scoring_server(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[int]:
    """MLflow's real scoring app for a small model, on 127.0.0.1; yields the port."""
    import mlflow.pyfunc
    import mlflow.sklearn
    import uvicorn
    from mlflow.models import infer_signature
    from mlflow.pyfunc import scoring_server
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = pd.read_csv(data_dir / "Customertravel.csv", encoding="utf-8-sig")
    X, y = data.drop(columns="Target"), data["Target"]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), list(ROWS.columns[1:])),
        remainder="passthrough",
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(X, y)
    path = tmp_path_factory.mktemp("served") / "model"
    with warnings.catch_warnings():  # "integer columns cannot hold missing values"
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(X, y)
    mlflow.sklearn.save_model(
        model,
        path,
        serialization_format="cloudpickle",
        signature=signature,
        pip_requirements=["scikit-learn"],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_IS_IN_SERVING_ENVIRONMENT", "false")  # init sets it
        app = scoring_server.init(mlflow.pyfunc.load_model(str(path)))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
        thread.start()
        while not server.started:
            thread.join(0.02)
        yield sock.getsockname()[1]
        server.should_exit = True
        thread.join(10)
        sock.close()


def local_target(port: int) -> dict[str, Any]:
    return {
        "kind": "local",
        "model_uri": f"models:/{MODEL}@champion",
        "host": "127.0.0.1",
        "port": port,
        "workers": 1,
        "startup_timeout": 60,
    }


def test_predict_on_the_local_server(scoring_server: int) -> None:
    predictions = predict(ROWS, local_target(scoring_server))

    assert len(predictions) == 2
    assert set(predictions) <= {0, 1}


def test_the_local_server_refuses_azures_body(scoring_server: int) -> None:
    """Why the client adapts the body to the target (documented: 400)."""
    url = f"http://127.0.0.1:{scoring_server}/invocations"

    answer = requests.post(url, json=payloads.input_data(ROWS), timeout=10)

    assert answer.status_code == 400


def test_a_missing_column_reports_the_servers_400(scoring_server: int) -> None:
    with pytest.raises(PredictionError, match="answered 400: .*Age"):
        predict(ROWS.drop(columns="Age"), local_target(scoring_server))


def test_no_server_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nothing listens on it
    with pytest.raises(PredictionError, match="no scoring server answers"):
        predict(ROWS, local_target(port))


def test_a_target_without_a_scoring_client() -> None:
    with pytest.raises(PredictionError, match="allowed: local, azureml"):
        predict(ROWS, {"kind": "docker"})


def test_read_rows_drops_the_label_and_reads_the_bom(data_dir: Path) -> None:
    rows = read_rows(data_dir / "Customertravel.csv", ["Target"])

    assert list(rows.columns) == list(ROWS.columns)  # no "\ufeffAge"


# --- the command line ---------------------------------------------------------------


def run_cli(
    *args: str, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``churn-predict ARGS``: its function, in this process."""
    from churn_experiments import predict

    return run_in_process(predict.cli, *args, cwd=PROJECT, env=env or {})


@pytest.mark.slow  # a subprocess: the command's start-up
def test_cli_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "churn_experiments.predict", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )

    assert done.returncode == 0
    assert "churn-predict target=azureml input=rows.csv" in done.stdout
    assert "deploy: azureml, docker, local" in done.stdout  # the groups


def test_cli_prints_the_predictions(scoring_server: int, tmp_path: Path) -> None:
    ROWS.assign(Target=[0, 1]).to_csv(tmp_path / "rows.csv", index=False)

    done = run_cli(
        "target=local",
        f"input={tmp_path / 'rows.csv'}",
        f"target.port={scoring_server}",
    )

    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2


def test_cli_reports_a_bad_input_in_one_line(tmp_path: Path) -> None:
    done = run_cli("target=local", f"input={tmp_path / 'missing.csv'}")

    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"error: input file {tmp_path / 'missing.csv'} does not exist"
    )


def test_cli_target_azureml_fails_in_one_line_without_a_workspace(
    tmp_path: Path,
) -> None:
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    env = {k: None for k in os.environ if k.startswith("AZURE")}

    done = run_cli("target=azureml", f"input={tmp_path / 'rows.csv'}", env=env)

    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "AZURE_SUBSCRIPTION_ID" in done.stderr or "[azure]" in done.stderr
