"""The joblib launcher (2 worker processes) records what the basic launcher does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from support import MODEL, MODELS, compose_config

from churn_experiments.evaluation import METRIC_NAMES


def joblib_sweep(
    cwd: Path, tracking_uri: str, *overrides: str
) -> subprocess.CompletedProcess[str]:
    """The four-model sweep on 2 joblib workers, as a user would start it in ``cwd``."""
    command = [
        *(sys.executable, "-m", "churn_experiments", "-m"),
        *("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
        f"model={','.join(MODELS)}",
        *overrides,
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def sweep_runs(
    client: mlflow.MlflowClient,
) -> tuple[mlflow.entities.Run, list[mlflow.entities.Run]]:
    """The one sweep in the store: its parent run and its child runs."""
    experiment = client.get_experiment_by_name(compose_config().experiment_name)
    (parent,) = client.search_runs([experiment.experiment_id], "tags.sweep = 'true'")
    children = client.search_runs(
        [experiment.experiment_id],
        f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    return parent, children


def scores(run: mlflow.entities.Run) -> dict[str, float]:
    """The run's evaluation metrics (not its timings)."""
    return {k: v for k, v in run.data.metrics.items() if k in METRIC_NAMES}


def artifact_paths(
    client: mlflow.MlflowClient, run: mlflow.entities.Run, folder: str
) -> set[str]:
    """The artifact paths directly under ``folder`` of ``run``."""
    return {a.path for a in client.list_artifacts(run.info.run_id, folder)}


def leaderboard_csv(client: mlflow.MlflowClient, run_id: str) -> pd.DataFrame:
    """The leaderboard a sweep's parent run holds."""
    return pd.read_csv(client.download_artifacts(run_id, "leaderboard.csv"))


@pytest.mark.slow
def test_joblib_sweep_matches_the_basic_launcher(
    tmp_path, store_template, tutorial_sweep
):
    shutil.copy(store_template, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = joblib_sweep(tmp_path, uri, "policy=best_f1")
    output = done.stdout + done.stderr
    assert "database is locked" not in output
    assert "Joblib.Parallel(n_jobs=2" in output

    client = mlflow.MlflowClient(uri)
    parent, children = sweep_runs(client)
    assert parent.info.status == "FINISHED"
    assert sorted(run.data.tags["model_family"] for run in children) == sorted(MODELS)
    assert {run.info.status for run in children} == {"FINISHED"}
    assert {run.data.tags["sweep_id"] for run in children} == {parent.info.run_id}
    # two workers: some jobs ran at the same time
    spans = sorted((run.info.start_time, run.info.end_time) for run in children)
    assert any(
        later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)
    )

    basic = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    for run in children:
        family = run.data.tags["model_family"]
        expected = basic.get_run(tutorial_sweep.run_ids[family])
        assert scores(run) == scores(expected), family
        # explained in the joblib worker as in the basic launcher's process
        assert run.data.tags["shap_explainer"] == expected.data.tags["shap_explainer"]
        assert artifact_paths(client, run, "explanations") == artifact_paths(
            basic, expected, "explanations"
        )
    assert artifact_paths(client, parent, "profile") == artifact_paths(
        basic, basic.get_run(tutorial_sweep.parent_run_id), "profile"
    )
    # the end-of-sweep policy picks what it picks after a basic sweep (tests/policy)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert client.get_run(champion.run_id).data.tags["model_family"] == "gb"
    columns = ["model", *METRIC_NAMES[1:]]
    pd.testing.assert_frame_equal(
        leaderboard_csv(client, parent.info.run_id)[columns],
        leaderboard_csv(basic, tutorial_sweep.parent_run_id)[columns],
    )
