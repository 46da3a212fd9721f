"""What a run records under explanations/, loading it, re-explaining from the CLI."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from explain_helpers import COLUMNS, fit
from omegaconf import OmegaConf
from support import compose_config

from churn_experiments import figures
from churn_experiments.errors import ConfigError, TrackingStoreError
from churn_experiments.explain import explain, explain_and_log, load
from churn_experiments.explain.__main__ import reexplain
from churn_experiments.explain.explainers import agnostic_plan
from churn_experiments.train import train
from churn_experiments.validation import validate_config

FILES = {
    "base_values.npy",
    "shap_values.npy",
    "data.npy",
    "feature_names.json",
    "columns.json",
    "summary.json",
    "summary_bar.png",
    "beeswarm.png",
    "summary_bar_by_column.png",
    "beeswarm_by_column.png",
}
EXPLAINERS = {"lr": "linear", "rf": "tree", "svc": "kernel", "gb": "tree"}
AGNOSTIC = {"rows": 100, "background": 10, "evaluations": 30000}  # conf/explain


@pytest.mark.parametrize("model", EXPLAINERS)
def test_each_sweep_run_records_its_explanation(tutorial_sweep, model):
    client = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    run_id = tutorial_sweep.run_ids[model]
    listed = {a.path for a in client.list_artifacts(run_id, "explanations")}
    assert listed == {f"explanations/{name}" for name in FILES}
    run = client.get_run(run_id)
    assert run.data.tags["shap_explainer"] == EXPLAINERS[model]
    assert run.data.tags["shap_output_space"]
    if EXPLAINERS[model] == "kernel":  # model-agnostic: its budget is on the run
        rows, coalitions = agnostic_plan("kernel", 7, 100, AGNOSTIC)
        assert run.data.tags["shap_budget"] == (
            f"rows={rows} background=10 (kmeans) coalitions={coalitions} per row, "
            f"{rows * 10 * coalitions} of 30000 evaluations"
        )
    else:
        assert "shap_budget" not in run.data.tags
    assert {f"shap_{column}" for column in COLUMNS} <= set(run.data.metrics)


def test_load_reads_back_what_explain_and_log_wrote(mlflow_store):
    pipeline, split, settings = fit("model=gb")
    with mlflow.start_run() as run:
        logged = explain_and_log(pipeline, split, {**settings, "max_rows": 25})
    loaded = load(run.info.run_id)
    for field in ("values", "base_values", "data"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(logged, field))
    assert loaded.feature_names == logged.feature_names
    assert loaded.columns == logged.columns
    assert (loaded.explainer, loaded.output_space) == ("tree", "log_odds")
    assert loaded.details["rows"] == logged.details["rows"]
    metrics = mlflow.get_run(run.info.run_id).data.metrics
    for column, value in loaded.by_column().mean_abs().items():
        assert metrics[f"shap_{column}"] == pytest.approx(value)


@pytest.fixture
def in_a_sweep():
    """As in a sweep run in this process: figures and SHAP left to the sweep's end."""
    figures.set_deferred(True)
    yield
    figures.set_deferred(False)
    figures.release()


def test_in_a_sweep_shap_runs_in_the_worker_and_records_the_same(
    mlflow_store, figure_worker, in_a_sweep
):
    pipeline, split, settings = fit("model=svc")
    settings = {**settings, "max_rows": 25}
    with mlflow.start_run() as run:
        assert explain_and_log(pipeline, split, settings) is None
    assert "shap_explainer" not in mlflow.get_run(run.info.run_id).data.tags
    figures.collect()  # as the sweep does when its jobs are done

    expected = explain(pipeline, split, settings)  # in this process
    loaded = load(run.info.run_id)
    for field in ("values", "base_values", "data"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(expected, field))
    assert loaded.details["budget"] == expected.details["budget"]
    client = mlflow.MlflowClient()
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "explanations")}
    assert listed == {f"explanations/{name}" for name in FILES}
    recorded = client.get_run(run.info.run_id).data
    assert recorded.tags["shap_explainer"] == "kernel"
    assert recorded.tags["shap_budget"].startswith(
        f"rows={expected.details['budget']['rows']} background=10 (kmeans)"
    )
    for column, value in expected.by_column().mean_abs().items():
        assert recorded.metrics[f"shap_{column}"] == pytest.approx(value)


def test_in_a_sweep_a_wrong_explainer_still_fails_the_run(mlflow_store, in_a_sweep):
    pipeline, split, settings = fit("model=rf")
    with mlflow.start_run(), pytest.raises(ConfigError, match="'linear' cannot"):
        explain_and_log(pipeline, split, {**settings, "explainer": "linear"})


def test_an_existing_run_is_explained_again(mlflow_store):
    run_id = train(compose_config(["model=gb", "explain.enabled=false"]))["run_id"]
    with pytest.raises(FileNotFoundError):
        load(run_id)
    defaults = compose_config(config_name="explain").explain
    chosen = {"rows_from": "test", "max_rows": 15}
    reexplain(run_id, OmegaConf.to_container(defaults), chosen)
    explanation = load(run_id)
    assert explanation.values.shape == (15, 7)
    assert explanation.details["rows_from"] == "test"


def test_load_in_a_folder_without_a_store_says_so_and_creates_none(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(None)  # MLflow's default: ./mlflow.db
    with pytest.raises(TrackingStoreError) as error:
        load("0a1b2c")
    assert str(error.value).startswith(
        f"there is no tracking store {tmp_path / 'mlflow.db'}: run a sweep there first"
    )
    assert "MLFLOW_TRACKING_URI" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_load_of_a_run_the_store_does_not_hold_names_the_store(mlflow_store):
    for load_it in (load, lambda run_id: reexplain(run_id, {}, {})):
        with pytest.raises(TrackingStoreError) as error:
            load_it("0a1b2c")
        assert str(error.value) == (
            f"run '0a1b2c' is not in the tracking store {mlflow_store}; set "
            "MLFLOW_TRACKING_URI (or pass tracking_uri) to the store that holds it"
        )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("explain.explainer=tre", "explain.explainer: 'tre' is not allowed; allowed"),
        ("explain.max_rows=0", "explain.max_rows: 0 is less than the minimum"),
        ("+explain.rows=5", "unknown key explain.rows"),
    ],
)
def test_a_typo_in_the_explain_settings_is_a_clear_config_error(override, message):
    with pytest.raises(ConfigError, match=message) as error:
        validate_config(compose_config([override]))
    assert "explain" in str(error.value).split(":")[0]
