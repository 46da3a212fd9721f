"""`python -m churn_experiments policy=best_f1` (no `-m`): a sweep of one run."""

from __future__ import annotations

import os

import mlflow
import pytest
from policy_helpers import EXPERIMENT, MODEL
from support import CHEAP, run_module

pytestmark = pytest.mark.slow


def test_a_single_run_applies_its_policy_after_the_run(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_module(
        "churn_experiments",
        "model=gb",
        "policy=best_f1",
        *CHEAP,
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs(
        [client.get_experiment_by_name(EXPERIMENT).experiment_id]
    )
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == run.info.run_id
    output = result.stdout + result.stderr
    assert f"Candidates (run {run.info.run_id} in experiment" in output
    assert "APPLIED (version 1)" in output
