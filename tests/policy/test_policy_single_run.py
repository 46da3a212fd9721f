"""`churn model=gb policy=best_f1` (no `-m`): a sweep of one run (the command's
function, in this process)."""

from __future__ import annotations

import mlflow
import pytest
from policy_helpers import EXPERIMENT, MODEL
from support import CHEAP, run_in_process

from churn_experiments import __main__ as churn

pytestmark = pytest.mark.slow


def test_a_single_run_applies_its_policy_after_the_run(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_in_process(
        churn.run,
        "model=gb",
        "policy=best_f1",
        *CHEAP,
        cwd=tmp_path,
        env={"MLFLOW_TRACKING_URI": uri},
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
