"""The README's command, end to end in a subprocess, into a temporary SQLite store."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import pytest
from support import write_broken_model

from churn_experiments.evaluation import METRIC_NAMES

pytestmark = pytest.mark.slow


def sweep(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "churn_experiments", "-m", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def children(tmp_path) -> tuple[mlflow.entities.Run, list]:
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (experiment,) = [
        e for e in client.search_experiments() if e.name == "customer_churn_prediction"
    ]
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "true"]
    kids = [
        r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    ]
    return parent, kids


def test_four_model_sweep_into_one_parent(tmp_path):
    result = sweep(tmp_path, "model=lr,rf,svc,gb")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert result.returncode == 0, result.stderr[-3000:]
    parent, kids = children(tmp_path)
    assert parent.info.status == "FINISHED"
    assert sorted(r.data.tags["model_family"] for r in kids) == [
        "gb",
        "lr",
        "rf",
        "svc",
    ]
    for run in kids:
        assert run.info.status == "FINISHED"
        expected = set(METRIC_NAMES) - (
            {"test_log_loss"} if run.data.tags["model_family"] == "svc" else set()
        )
        assert set(run.data.metrics) >= expected | {"fit_seconds"}
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
        assert model.metadata.signature is not None
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.csv", "leaderboard.md"} <= artifacts
    assert "Leaderboard (by test_f1)" in result.stdout + result.stderr
    board = (result.stdout + result.stderr).split("Leaderboard (by test_f1)")[1]
    assert board.index("| gb") < board.index("| rf") < board.index("| lr")


def test_failed_job_makes_the_sweep_exit_non_zero_and_is_named(tmp_path):
    write_broken_model(tmp_path / "user_conf")
    result = sweep(tmp_path, "--config-dir", "user_conf", "model=lr,broken")
    assert result.returncode != 0
    assert "1 job(s) of sweep" in result.stderr
    assert "broken (run " in result.stderr and "learning_rate" in result.stderr
    parent, kids = children(tmp_path)
    status = {r.data.tags["model_family"]: r.info.status for r in kids}
    assert status == {"lr": "FINISHED", "broken": "FAILED"}
    assert parent.info.status == "FAILED"


@pytest.mark.slow
def test_an_editable_install_finds_our_hydra_plugins(tmp_path):
    """No PYTHONPATH: the plugins are found as this (editable) venv installed them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CHURN_CONFIG_PATH"] = str(tmp_path / "mine")
    done = subprocess.run(
        [sys.executable, "-m", "churn_experiments", "--info", "plugins"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for plugin in ("ChurnSearchPathPlugin", "OptunaSweeper", "RayLauncher"):
        assert plugin in done.stdout
