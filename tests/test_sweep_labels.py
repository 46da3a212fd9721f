"""A sweep's runs, folders, leaderboard rows and bars say what differs between them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import warnings

import mlflow
import pandas as pd
import pytest
from omegaconf import open_dict
from support import CHEAP, compose_config, compose_job

from churn_experiments import labels, tracking
from churn_experiments.data import load_dataset
from churn_experiments.sweep_callback import MlflowSweepCallback
from churn_experiments.train import train

GRID = ["model=rf", "model.n_estimators=50,100", "model.max_depth=5,null"]
JOBS = [
    ["model=rf", f"model.n_estimators={n}", f"model.max_depth={d}", *CHEAP]
    for n in (50, 100)
    for d in (5, "null")
]


def test_only_the_keys_that_vary_name_a_job():
    assert labels.varying_keys(JOBS) == ["model.n_estimators", "model.max_depth"]
    swept = labels.varying_keys(JOBS)
    assert labels.job_label("rf", JOBS[1], swept) == "rf n_estimators=50 max_depth=null"
    plain = [["model=lr", *CHEAP], ["model=rf", *CHEAP]]
    assert labels.varying_keys(plain) == ["model"]
    assert labels.job_label("lr", plain[0], ["model"]) == "lr"
    # nested hyperparameters as scikit-learn names them; other keys in full
    nested = ["model=svc_calibrated", "model.estimator.C=0.5", "seed=3"]
    swept = ["model.estimator.C", "seed"]
    assert labels.job_label("svc", nested, swept) == "svc estimator__C=0.5 seed=3"
    # a single run shows its own model overrides, nothing else
    single = ["model=rf", "+model.max_features=0.5", "explain.enabled=false"]
    assert labels.job_label("rf", single, None) == "rf max_features=0.5"


def test_a_job_folder_is_its_label(monkeypatch):
    monkeypatch.setenv(labels.SWEPT_KEYS_ENV, json.dumps(labels.varying_keys(JOBS)))
    assert labels.job_dir("rf", JOBS[1]) == "rf,n_estimators=50,max_depth=null"
    monkeypatch.delenv(labels.SWEPT_KEYS_ENV)
    assert labels.job_dir("rf", JOBS[1]) == "rf"  # no sweep callback: nothing known


def test_swept_hyperparameters_name_runs_and_leaderboard_rows(mlflow_store):
    callback = MlflowSweepCallback()
    sweep_cfg = compose_config(CHEAP, return_hydra_config=True)
    with open_dict(sweep_cfg):
        sweep_cfg.hydra.overrides.task = [*GRID, *CHEAP]
    callback.on_multirun_start(sweep_cfg)
    parent = tracking.sweep_context()["parent_run_id"]
    for job in JOBS:
        train(*compose_job(job))
    with contextlib.suppress(SystemExit):
        callback.on_multirun_end(sweep_cfg)
    client = mlflow.MlflowClient()
    runs = client.search_runs(
        [client.get_run(parent).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}'",
    )
    assert sorted(run.info.run_name for run in runs) == [
        "rf n_estimators=100 max_depth=5",
        "rf n_estimators=100 max_depth=null",
        "rf n_estimators=50 max_depth=5",
        "rf n_estimators=50 max_depth=null",
    ]
    board = pd.read_csv(client.download_artifacts(parent, "leaderboard.csv"))
    assert list(board.columns[:2]) == ["model", "swept"]
    assert set(board["swept"]) == {
        "n_estimators=50 max_depth=5",
        "n_estimators=50 max_depth=null",
        "n_estimators=100 max_depth=5",
        "n_estimators=100 max_depth=null",
    }
    assert set(board["model"]) == {"rf"}


def _source_warnings(quiet: bool) -> list[str]:
    """The dataset-source warnings recording the sweep's dataset (and a real
    ambiguity, between two different sources) give, with or without our filter."""
    dataset = compose_config().dataset
    frame = load_dataset(dataset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tracking.quiet_known_warnings() if quiet else contextlib.nullcontext():
            tracking.dataset_record(frame, dataset)._to_mlflow_entity()
            warnings.warn(
                "The specified dataset source can be interpreted in multiple ways: "
                "LocalArtifactDatasetSource, HTTPDatasetSource. MLflow will assume...",
                UserWarning,
                stacklevel=1,
            )
    texts = [str(w.message) for w in caught]
    return [text.split(". ")[0] for text in texts if "dataset source" in text]


def test_the_duplicate_dataset_source_warning_is_hidden_a_real_one_is_not():
    prefix = "The specified dataset source can be interpreted in multiple ways: "
    duplicate = prefix + "LocalArtifactDatasetSource, LocalArtifactDatasetSource"
    real = prefix + "LocalArtifactDatasetSource, HTTPDatasetSource"
    assert _source_warnings(quiet=False) == [duplicate, real]  # MLflow 3.17 says both
    assert _source_warnings(quiet=True) == [real]


@pytest.mark.slow  # a subprocess: Hydra names the folders
def test_a_grid_sweep_from_the_command_line(tmp_path, store_template):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "churn_experiments", "-m", "model=rf",
         "model.max_depth=3,null", "hydra.sweep.dir=sweep", *CHEAP],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == [
        "0_rf,max_depth=3",
        "1_rf,max_depth=null",
    ]
    assert "(rf max_depth=null): test_accuracy=" in done.stderr + done.stdout
    assert "| rf      | max_depth=3 " in done.stdout + done.stderr
    assert "multiple ways" not in done.stderr
    assert "Downloading artifacts" not in done.stderr
