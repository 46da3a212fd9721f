"""The four-model sweep on a local Ray cluster gives the basic launcher's results."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import pytest
from support import CHEAP

from churn_experiments.evaluation import METRIC_NAMES

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def test_sweep_on_a_two_cpu_ray_cluster_matches_the_basic_launcher(
    tmp_path, tutorial_sweep
):
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churn_experiments",
            "-m",
            "hydra/launcher=ray",
            "hydra.launcher.num_cpus=2",
            "++hydra.launcher.init_kwargs.include_dashboard=false",
            "model=lr,rf,svc,gb",
            *CHEAP,  # the launcher is tested; explanations: tests/test_parallel.py
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow.MlflowClient(uri)
    (experiment,) = client.search_experiments(
        filter_string="name = 'customer_churn_prediction'"
    )
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "true"]
    assert parent.info.status == "FINISHED"
    children = {
        r.data.tags["model_family"]: r
        for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert sorted(children) == ["gb", "lr", "rf", "svc"]
    basic = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    for family, run in children.items():
        assert run.info.status == "FINISHED"
        expected = basic.get_run(tutorial_sweep.run_ids[family]).data.metrics
        for name in METRIC_NAMES:
            assert run.data.metrics.get(name) == expected.get(name), (family, name)
        # drawn in the Ray worker itself (test_ray_launcher.py)
        plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert "plots/roc_curve.png" in plots, family
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "leaderboard.csv" in artifacts
