"""One job: what a run records, that its model loads back, failures, determinism."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from support import CHEAP, compose_config, compose_job, write_broken_model

from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.evaluation import METRIC_NAMES
from churn_experiments.train import train


def test_run_records_params_metrics_config_dataset_plots_and_model(tutorial_sweep):
    client = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    run = client.get_run(tutorial_sweep.run_ids["rf"])
    assert set(run.data.metrics) >= {*METRIC_NAMES, "fit_seconds"}
    assert run.data.params["n_estimators"] == "100"
    assert run.data.params["random_state"] == "124"
    assert run.data.tags["model_family"] == "rf"
    assert run.data.tags["sweep_id"] == tutorial_sweep.parent_run_id
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {
        "plots/confusion_matrix.png",
        "plots/roc_curve.png",
        "plots/precision_recall_curve.png",
    }
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "travel_churn"
    assert len(dataset_input.dataset.digest) >= 8


def test_svc_gets_roc_auc_from_its_decision_function(tutorial_sweep):
    run = mlflow.MlflowClient(tutorial_sweep.tracking_uri).get_run(
        tutorial_sweep.run_ids["svc"]
    )
    assert 0.5 < run.data.metrics["test_roc_auc"] <= 1.0
    assert "test_log_loss" not in run.data.metrics


@pytest.mark.parametrize("model", ["rf", "svc"])
def test_logged_model_predicts_like_the_in_memory_pipeline(tutorial_sweep, model):
    run_id = tutorial_sweep.run_ids[model]
    cfg = compose_config([f"model={model}"])
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    sk_model = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    refit = sk_model.fit(split.X_train, split.y_train)  # same seed: same model
    np.testing.assert_array_equal(
        np.asarray(pyfunc.predict(split.X_test)), refit.predict(split.X_test)
    )
    signature = pyfunc.metadata.signature
    assert signature.inputs.input_names() == list(split.X_test.columns)
    assert signature.outputs.to_dict() == [{"type": "long", "required": True}]


def test_same_config_and_seed_give_identical_metrics(tutorial_sweep, mlflow_store):
    again = train(*compose_job(["model=rf", *CHEAP]))
    first = mlflow.MlflowClient(tutorial_sweep.tracking_uri).get_run(
        tutorial_sweep.run_ids["rf"]
    )
    for name in METRIC_NAMES:
        assert again[name] == first.data.metrics[name], name


def test_failing_job_is_recorded_as_failed_with_its_error(mlflow_store):
    with pytest.raises(Exception, match="C"):
        train(*compose_job(["model=lr", "model.C=-1"]))
    runs = mlflow.search_runs(search_all_experiments=True)
    assert list(runs["status"]) == ["FAILED"]
    assert "InvalidParameterError" in runs.loc[0, "tags.error"]
    client = mlflow.MlflowClient()
    error_txt = client.download_artifacts(runs.loc[0, "run_id"], "error.txt")
    with open(error_txt) as text:
        assert "Traceback" in text.read()


def test_sweep_with_a_failing_job_keeps_the_others_and_names_the_failure(
    run_sweep, tmp_path, monkeypatch
):
    write_broken_model(tmp_path / "user_conf")
    monkeypatch.setenv("CHURN_CONFIG_PATH", str(tmp_path / "user_conf"))
    sweep = run_sweep(["lr", "broken"], CHEAP)
    runs = mlflow.search_runs(
        experiment_ids=[sweep.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{sweep.parent_run_id}'",
    )
    status = dict(zip(runs["tags.model_family"], runs["status"], strict=True))
    assert status == {"lr": "FINISHED", "broken": "FAILED"}
    parent = mlflow.MlflowClient().get_run(sweep.parent_run_id)
    assert parent.info.status == "FAILED"
    board = pd.read_csv(
        mlflow.MlflowClient().download_artifacts(sweep.parent_run_id, "leaderboard.csv")
    )
    assert list(board["model"]) == ["lr"]


def test_missing_data_stops_the_sweep_before_any_job(run_sweep, tmp_path):
    from churn_experiments.tracking import sweep_context

    with pytest.raises(SystemExit, match="starting the sweep: .*CHURN_DATA_DIR"):
        run_sweep(["lr"], [f"dataset.dir={tmp_path}", "dataset.download=null"])
    # checked before the store is touched: no parent run, no job, nothing to clean up
    assert mlflow.search_runs(search_all_experiments=True).empty
    assert sweep_context()["parent_run_id"] is None
