"""The local target: `churn-serve` serving the champion for real.

One CLI server (started with a PATH that lacks the virtualenv's bin) answers all the
payload tests; it is stopped with Ctrl-C at the end of the module. Every refusal's
body starts with our message.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from omegaconf import OmegaConf
from support import MODEL, run_in_process

from churn_experiments import serve
from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.deploy import load_target, payloads
from churn_experiments.deploy.local import (
    APP,
    ServeError,
    free_port,
    running_server,
    serve_command,
    start_server,
)
from churn_experiments.errors import ChurnExperimentsError, ConfigError
from churn_experiments.model_uri import check_model_uri

MODEL_NAME = MODEL
CHAMPION = f"models:/{MODEL_NAME}@champion"
VENV_BIN = str(Path(sys.executable).parent)
PATH_WITHOUT_VENV = os.pathsep.join(
    p for p in os.environ["PATH"].split(os.pathsep) if p != VENV_BIN
)
COLUMNS = [
    "Age",
    "FrequentFlyer",
    "AnnualIncomeClass",
    "ServicesOpted",
    "AccountSyncedToSocialMedia",
    "BookedHotelOrNot",
]
ROW = [35, "Yes", "Low Income", 2, "No", "No"]
EXAMPLE_ROW = [18, "Yes", "Low Income", 1, "Yes", "Yes"]  # first allowed values


def split_body(columns: list[str], rows: list[list]) -> str:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}})


def with_value(column: str, value: object) -> str:
    row = dict(zip(COLUMNS, ROW, strict=True)) | {column: value}
    return split_body(COLUMNS, [list(row.values())])


@dataclass(frozen=True)
class Champion:
    tracking_uri: str
    run_id: str


@dataclass(frozen=True)
class CliServer:
    url: str  # .../invocations
    ready_line: str
    curl_line: str


@pytest.fixture(scope="module")
def champion(
    tutorial_sweep, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Champion]:
    """A copy of the tutorial store where the gb run is the registered champion."""
    folder = tmp_path_factory.mktemp("serve_store")
    shutil.copy(tutorial_sweep.tracking_uri.removeprefix("sqlite:///"), folder)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    run_id = tutorial_sweep.run_ids["gb"]
    saved = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        version = mlflow.register_model(f"runs:/{run_id}/model", MODEL_NAME).version
        mlflow.MlflowClient().set_registered_model_alias(
            MODEL_NAME, "champion", version
        )
        yield Champion(uri, run_id)
    mlflow.set_tracking_uri(saved)


@pytest.fixture(scope="module")
def cli_server(
    champion: Champion, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CliServer]:
    """The CLI serving the champion, from a venv that is not activated.

    Plain ``mlflow models serve`` fails there: it execs ``uvicorn`` found on PATH.
    """
    assert shutil.which("uvicorn", path=PATH_WITHOUT_VENV) is None
    log_file = tmp_path_factory.mktemp("cli") / "stderr.txt"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "PATH": PATH_WITHOUT_VENV,
    }
    command = [sys.executable, "-m", "churn_experiments.serve"]
    with open(log_file, "w") as stderr:
        cli = subprocess.Popen(
            [*command, f"target.port={free_port()}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        ready, _, curl = (cli.stdout.readline().strip() for _ in range(3))
        assert ready.startswith("Serving"), log_file.read_text()
        yield CliServer(ready.split(" at ")[1].split()[0], ready, curl)
    finally:
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=30) == 0, log_file.read_text()
    assert "stopped the server" in log_file.read_text()
    host, port = ready.split("//")[1].split("/")[0].split(":")
    with socket.socket() as sock:  # nothing listens any more
        assert sock.connect_ex((host, int(port))) != 0


@pytest.fixture(scope="module")
def test_split(champion: Champion) -> pd.DataFrame:
    """The champion run's own test rows, from the config it logged."""
    text = mlflow.artifacts.load_text(f"runs:/{champion.run_id}/config.yaml")
    dataset = OmegaConf.to_container(OmegaConf.create(text).dataset)
    return split_dataset(load_dataset(dataset), dataset).X_test


def post(url: str, data: str, content_type: str = "application/json"):
    return requests.post(url, data=data, headers={"Content-Type": content_type})


def test_serve_command_runs_uvicorn_with_this_python():
    cfg = load_target("local", ["port=5099"])
    assert serve_command(cfg) == [
        sys.executable, "-m", "uvicorn", "--factory", APP, "--host", "127.0.0.1",
        "--port", "5099", "--workers", "1", "--no-access-log",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("local", ["port=abc"], "deploy.port: 'abc' is not of type 'integer'"),
        ("local", ["+colour=red"], "unknown key deploy.colour"),
        ("docker", [], "this command needs kind: local"),
    ],
)
def test_config_errors_name_the_file_and_key(name, overrides, message):
    with pytest.raises(ConfigError) as err:
        load_target(name, overrides, kind="local")
    assert message in str(err.value)
    assert f"conf/deploy/{name}.yaml: " in str(err.value)


def test_a_port_in_use_is_refused_before_anything_starts():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = load_target("local", [f"port={port}"])
        with pytest.raises(ServeError, match=f"cannot serve on 127.0.0.1:{port}"):
            start_server(cfg)


@pytest.mark.slow
def test_ready_line_and_its_curl_example_work(cli_server: CliServer):
    assert cli_server.ready_line.startswith(f"Serving {CHAMPION} at http://127.0.0.1:")
    command = shlex.split(cli_server.curl_line)
    assert command[:3] == ["curl", "-s", cli_server.url]
    answer = subprocess.run(command, capture_output=True, text=True, check=True)
    assert len(payloads.parse_predictions(answer.stdout)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records"])
def test_champion_predicts_the_test_split_like_pyfunc(
    cli_server: CliServer, champion: Champion, test_split: pd.DataFrame, fmt: str
):
    answer = requests.post(cli_server.url, json=payloads.to_payload(test_split, fmt))
    assert answer.status_code == 200, answer.text
    mlflow.set_tracking_uri(champion.tracking_uri)  # the copy holding the registry
    expected = mlflow.pyfunc.load_model(CHAMPION).predict(test_split)
    np.testing.assert_array_equal(payloads.parse_predictions(answer.content), expected)


def contract_refusal(*problems: str, bad: int = 1, rows: int = 1) -> str:
    return f"request: {bad} of {rows} row(s) break the data contract: " + "; ".join(
        problems
    )


FORMATS_HINT = "send a JSON object with one key, dataframe_split"
EXAMPLE = json.dumps(
    {"dataframe_records": [dict(zip(COLUMNS, EXAMPLE_ROW, strict=True))]}
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            split_body(COLUMNS[1:], [ROW[1:]]),
            "request: missing column(s) ['Age']; the data has ['FrequentFlyer',",
            id="missing-column",
        ),
        pytest.param(
            with_value("Age", "abc"),
            contract_refusal(
                "column 'Age' has 'abc' (allowed: an integer from 18 to 100)"
            ),
            id="wrong-type-number",
        ),
        pytest.param(
            with_value("FrequentFlyer", 1),
            contract_refusal(
                "column 'FrequentFlyer' has 1 (allowed: one of 'Yes', 'No',"
                " 'No Record')"
            ),
            id="wrong-type-category",
        ),
        pytest.param(
            with_value("AnnualIncomeClass", "Rich"),
            contract_refusal("column 'AnnualIncomeClass' has 'Rich' (allowed: one of"),
            id="unseen-ordinal",
        ),
        pytest.param(
            with_value("Age", 500),
            contract_refusal(
                "column 'Age' has 500 (allowed: an integer from 18 to 100)"
            ),
            id="out-of-range",
        ),
        pytest.param(
            split_body(
                COLUMNS,
                [
                    ROW,
                    [500, "Maybe", "Low Income", 2, "No", "No"],
                    ["abc", "Yes", "Low Income", 9, "No", None],
                ],
            ),
            contract_refusal(
                "column 'Age' has 500, 'abc' (allowed: an integer from 18 to 100)",
                "column 'FrequentFlyer' has 'Maybe' (allowed: one of 'Yes', 'No',"
                " 'No Record')",
                "column 'ServicesOpted' has 9 (allowed: an integer from 1 to 6)",
                "column 'BookedHotelOrNot' has missing (allowed: one of 'Yes', 'No')",
                bad=2,
                rows=3,
            ),
            id="every-bad-value",
        ),
        pytest.param(
            json.dumps(
                {"instances": [dict(zip(COLUMNS, ROW, strict=True)) | {"Age": 500}]}
            ),
            contract_refusal(
                "column 'Age' has 500 (allowed: an integer from 18 to 100)"
            ),
            id="instances-via-mlflow",
        ),
        pytest.param(split_body(COLUMNS, []), "request: no rows", id="empty-split"),
        pytest.param(
            json.dumps({"dataframe_records": []}),
            "request: no rows",
            id="empty-records",
        ),
        pytest.param(
            json.dumps({"rows": [ROW]}),
            f"unknown key(s) ['rows'] in the body; {FORMATS_HINT}",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps(payloads.input_data(pd.DataFrame([ROW], columns=COLUMNS))),
            "'input_data' is Azure ML's format; this server (MLflow's scoring server)"
            f" takes the same rows as dataframe_split: {FORMATS_HINT}",
            id="azure-input-data",
        ),
        pytest.param("{not json", "the body is not valid JSON", id="not-json"),
        pytest.param("[1, 2]", "the body is a JSON list, not an object", id="a-list"),
    ],
)
def test_a_bad_payload_gets_a_400_that_starts_with_our_message(
    cli_server: CliServer, data: str, message: str
):
    answer = post(cli_server.url, data)
    assert answer.status_code == 400, answer.text
    assert answer.text.startswith('{"message": '), answer.text
    assert answer.json()["message"].startswith(message), answer.json()["message"]
    if FORMATS_HINT in message:
        assert answer.json()["message"].endswith(f"e.g. {EXAMPLE}")
    assert "Traceback" not in answer.text and "Failed to predict" not in answer.text
    good = post(cli_server.url, split_body(COLUMNS, [ROW]))
    assert good.status_code == 200 and len(good.json()["predictions"]) == 1


@pytest.mark.slow
def test_the_example_in_a_refusal_is_scored(cli_server: CliServer):
    answer = post(cli_server.url, EXAMPLE)
    assert answer.status_code == 200, answer.text
    assert len(payloads.parse_predictions(answer.content)) == 1


@pytest.mark.slow
def test_text_plain_is_refused_with_the_content_types_and_ping_answers(
    cli_server: CliServer,
):
    answer = post(cli_server.url, split_body(COLUMNS, [ROW]), "text/plain")
    assert answer.status_code == 415 and "content types" in answer.text
    base = cli_server.url.removesuffix("/invocations")
    assert requests.get(f"{base}/ping").status_code == 200
    assert requests.get(f"{base}/version").text == mlflow.__version__


@pytest.mark.slow
def test_a_server_that_cannot_start_shows_its_log_and_leaves_nothing_running(
    champion: Champion,
):
    cfg = load_target(
        "local", [f"port={free_port()}", "model_uri=models:/no_such_model/1"]
    )
    with (
        pytest.raises(ServeError, match="exited with code 1") as err,
        running_server(cfg),
    ):
        pass
    assert "no_such_model" in str(err.value)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", cfg["port"])) != 0


def test_serve_on_an_empty_store_says_how_to_create_a_champion(
    tmp_path: Path, store_template: Path
):
    shutil.copy(store_template, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    port = free_port()
    result = run_in_process(
        serve.cli,
        f"target.port={port}",
        cwd=tmp_path,  # not the checkout: the config is found all the same
        env={"MLFLOW_TRACKING_URI": uri},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == (
        f"error: model_uri '{CHAMPION}': no registered model '{MODEL_NAME}' in the"
        f" registry at {uri}; train candidates (churn -m model=lr,rf,svc,gb), then"
        " promote one (churn-promote policy=best_f1 sets @champion), or name another"
        " model: model_uri=runs:/<run_id>/model (target.model_uri=... for"
        " churn-serve and churn-deploy)"
    ), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    with socket.socket() as sock:  # no server was started
        assert sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_uri", "message"),
    [
        (
            f"models:/{MODEL_NAME}@challenger",
            f"registered model '{MODEL_NAME}' has no alias @challenger in the registry"
            " at sqlite:///",
        ),
        ("runs:/0123456789abcdef0123456789abcdef/model", "names no model (Run "),
    ],
)
def test_a_uri_that_names_no_model_is_refused_before_serving(
    champion: Champion, model_uri: str, message: str
):
    mlflow.set_tracking_uri(champion.tracking_uri)
    with pytest.raises(ChurnExperimentsError) as err:
        check_model_uri(model_uri)
    assert message in str(err.value)
    if "@challenger" in model_uri:
        assert "(its aliases: @champion)" in str(err.value)
