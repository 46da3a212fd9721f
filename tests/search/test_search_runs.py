"""A search end to end: trials as child runs, the study resumed, parallel trials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import pytest
from support import CHEAP, MODEL

SWEPT = (
    "n_estimators",
    "max_depth",
    "min_samples_leaf",
    "max_features",
    "class_weight",
)


def _search(cwd: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churn_experiments",
            "-m",
            "search=rf",
            "hydra.sweep.dir=multirun/${now:%H-%M-%S-%f}",
            "evaluation.cv.folds=2",
            # forests of 10-40 trees, not 50-400: the trials, not the trees, are tested
            "model.n_estimators=int(interval(10, 40))",
            *CHEAP,  # trials are tested, not their explanations
            *overrides,
        ],
        cwd=cwd,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _sweep(client: mlflow.MlflowClient, experiment_id: str, parent_id: str) -> list:
    return client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )


def _last_decision(client: mlflow.MlflowClient) -> dict:
    """The newest entry of the policy ledger (its decision.json)."""
    import json

    ledger = client.get_experiment_by_name("policy-decisions")
    [entry] = client.search_runs(
        [ledger.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
    )
    path = client.download_artifacts(entry.info.run_id, "decision.json")
    return json.loads(Path(path).read_text())


def _parents(client: mlflow.MlflowClient) -> list:
    experiment = client.get_experiment_by_name("customer_churn_prediction")
    return client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.sweep = 'true'",
        order_by=["attributes.start_time ASC"],
    )


@pytest.mark.slow
def test_search_records_trials_resumes_and_runs_in_parallel(
    tmp_path: Path, store_template: Path
) -> None:
    import shutil

    shutil.copy(store_template, tmp_path / "mlflow.db")
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    _search(tmp_path, "hydra.sweeper.n_trials=4", "policy=[best_cv_f1]")

    [parent] = _parents(client)
    experiment_id = parent.info.experiment_id
    children = _sweep(client, experiment_id, parent.info.run_id)
    assert len(children) == 4
    assert {run.info.status for run in children} == {"FINISHED"}
    assert sorted(int(run.data.tags["search_trial"]) for run in children) == list(
        range(4)
    )
    settings = {tuple(run.data.params[p] for p in SWEPT) for run in children}
    assert len(settings) == 4  # distinct parameters
    for run in children:  # the same records as any run
        assert {"test_f1", "cv_test_f1_mean", "cv_test_f1_std"} <= set(run.data.metrics)
        assert run.outputs.model_outputs
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert "plots/roc_curve.png" in artifacts
    # the parent holds the study's summary and Optuna's plots
    parent = client.get_run(parent.info.run_id)
    study_name = "customer_churn_prediction-rf"
    assert parent.data.tags["search_study"] == study_name
    best = max(children, key=lambda r: r.data.metrics["cv_test_f1_mean"])
    assert parent.data.tags["search_best_run_id"] == best.info.run_id
    assert parent.data.metrics["search_best_value"] == pytest.approx(
        best.data.metrics["cv_test_f1_mean"]
    )
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "search")}
    assert {
        "search/optimization_history.png",
        "search/param_importances.png",
        "search/study.json",
    } <= plots
    # the leaderboard: one row per trial, a column per swept parameter
    board = pd.read_csv(
        client.download_artifacts(parent.info.run_id, "leaderboard.csv")
    )
    assert len(board) == 4
    assert {"trial", *SWEPT, "cv_test_f1_mean", "cv_test_f1_std"} <= set(board.columns)
    assert board["cv_test_f1_mean"].is_monotonic_decreasing

    # the policy ranks by the CV mean: the best trial is its winner
    decision = _last_decision(client)
    assert decision["candidates"][0]["run_id"] == best.info.run_id
    assert decision["outcome"] == "applied"
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == best.info.run_id

    # a second command with the same study name resumes the study
    _search(tmp_path, "hydra.sweeper.n_trials=2", "policy=[best_cv_f1]")
    second = _parents(client)[1]
    resumed = _sweep(client, experiment_id, second.info.run_id)
    assert sorted(int(r.data.tags["search_trial"]) for r in resumed) == [4, 5]
    study = optuna.load_study(
        study_name=study_name, storage=f"sqlite:///{tmp_path / 'optuna.db'}"
    )
    assert len(study.trials) == 6
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    # the next winner meets the champion on held-out rows through test_f1, the
    # score its select metric averages, with the policy's bootstrap test
    comparison = _last_decision(client)["comparison"]
    assert (comparison["metric"], comparison["test"]) == ("test_f1", "bootstrap")
    assert comparison["passed"] == (comparison["interval"][0] > 0)

    # parallel trials on the joblib launcher: distinct numbers, none lost
    _search(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.study_name=parallel",
    )
    third = _parents(client)[2]
    parallel = _sweep(client, experiment_id, third.info.run_id)
    assert {run.info.status for run in parallel} == {"FINISHED"}
    assert sorted(int(r.data.tags["search_trial"]) for r in parallel) == [0, 1, 2, 3]
    study = optuna.load_study(
        study_name="parallel", storage=f"sqlite:///{tmp_path / 'optuna.db'}"
    )
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
