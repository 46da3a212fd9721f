"""Real-file quirks, declared in YAML only: ids, blanks, CRLF, a Yes/No target."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from fixture_project import make_project, run_command
from mlflow.exceptions import MlflowException


def finished_runs(folder) -> tuple[list, list]:
    """The sweep's parent runs and its finished child runs, from the folder's store."""
    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids)
    parents = [r for r in runs if r.data.tags.get("sweep") == "true"]
    children = [r for r in runs if r.info.status == "FINISHED" and r not in parents]
    return parents, children


@pytest.mark.slow
def test_ids_blanks_crlf_and_a_yes_no_target_sweep_from_yaml_alone(tmp_path):
    conf = make_project(tmp_path)
    result = run_command(
        tmp_path, "-m", "--config-dir", str(conf), "dataset=telco_like", "model=lr,gb"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (parent,), children = finished_runs(tmp_path)
    assert len(children) == 2
    assert all("test_f1" in run.data.metrics for run in children)
    summary = mlflow.artifacts.load_dict(
        f"{parent.info.artifact_uri}/profile/summary.json"
    )
    assert summary["rows"] == 240 and summary["features"] == 5  # no id, no gender
    assert summary["missing_values"]["TotalCharges"] == 7
    assert summary["duplicate_ids"] == {"customerID": 0}
    assert "missing values: TotalCharges 7" in result.stdout + result.stderr

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{children[0].info.run_id}/model")
    row = {
        "Contract": ["One year"],
        "Plan": ["Premium"],
        "tenure": [0],
        "MonthlyCharges": [70.5],
        "TotalCharges": [None],  # declared nullable: imputed inside the pipeline
    }
    assert list(served.predict(pd.DataFrame(row))) in (["Yes"], ["No"])
    with pytest.raises(MlflowException, match="tenure"):
        served.predict(pd.DataFrame({**row, "tenure": [None]}))
