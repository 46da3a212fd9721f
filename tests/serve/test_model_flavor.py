"""The logged model's two flavors: the plain pipeline, and a pyfunc checking rows."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from mlflow.exceptions import MlflowException
from omegaconf import OmegaConf
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from skops.io.exceptions import UntrustedTypesFoundException
from support import compose_config

from churn_experiments import tracking
from churn_experiments.columns import contract
from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.model_code import PACKAGE_DIR, loader_files
from churn_experiments.pipeline import build_pipeline

ROW = {
    "Age": 35,
    "FrequentFlyer": "Yes",
    "AnnualIncomeClass": "Low Income",
    "ServicesOpted": 2,
    "AccountSyncedToSocialMedia": "No",
    "BookedHotelOrNot": "No",
}


@pytest.fixture(scope="module")
def model_uri(tutorial_sweep) -> str:
    return f"runs:/{tutorial_sweep.run_ids['gb']}/model"


def test_sklearn_flavor_is_the_plain_pipeline(model_uri: str):
    pipeline = mlflow.sklearn.load_model(model_uri)
    assert isinstance(pipeline, Pipeline)
    assert list(pipeline.named_steps) == ["preprocess", "classifier"]


def test_pyfunc_predicts_like_the_pipeline_for_valid_rows(model_uri: str):
    rows = pd.DataFrame([ROW, ROW | {"FrequentFlyer": "No Record", "Age": 61}])
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(model_uri).predict(rows),
        mlflow.sklearn.load_model(model_uri).predict(rows),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"AnnualIncomeClass": "Rich"},
            "column 'AnnualIncomeClass' has 'Rich' (allowed: one of 'Low Income',",
        ),
        ({"FrequentFlyer": "Maybe"}, "column 'FrequentFlyer' has 'Maybe'"),
        (
            {"ServicesOpted": 9},
            "column 'ServicesOpted' has 9 (allowed: an integer from 1 to 6)",
        ),
    ],
)
def test_pyfunc_refuses_a_row_breaking_the_contract(model_uri, change, message):
    model = mlflow.pyfunc.load_model(model_uri)
    with pytest.raises(MlflowException) as err:
        model.predict(pd.DataFrame([ROW | change]))
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in err.value.message


def test_pyfunc_refuses_an_empty_request(model_uri: str):
    model = mlflow.pyfunc.load_model(model_uri)
    with pytest.raises(MlflowException, match="request: no rows"):
        model.predict(pd.DataFrame([ROW]).iloc[:0])


def log_fitted(model: str) -> tuple[Pipeline, pd.DataFrame, str]:
    """Fit ``model`` on the tutorial data and log it as a run would."""
    cfg = compose_config([f"model={model}"])
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    pipeline.fit(split.X_train, split.y_train)
    with mlflow.start_run() as run:
        uri = tracking.log_pipeline(
            pipeline,
            tracking.model_signature(dataset),
            split.X_test.head(5),
            contract(dataset),
        )
    assert mlflow.get_run(run.info.run_id).data.tags["skops_trusted_types"] == (
        "sklearn.tree._tree.Tree" if model == "rf" else "none"
    )
    return pipeline, split.X_test, uri


def local_model(uri: str) -> Path:
    return Path(mlflow.artifacts.download_artifacts(uri))


def test_a_logged_forest_is_its_pipeline_serialised_once(mlflow_store: str):
    pipeline, rows, uri = log_fitted("rf")
    folder = local_model(uri)
    loaded = mlflow.sklearn.load_model(uri)
    np.testing.assert_array_equal(loaded.predict(rows), pipeline.predict(rows))
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(uri).predict(rows), pipeline.predict(rows)
    )
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    flavor = mlmodel["flavors"]["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert flavor["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert skops.io.get_untrusted_types(file=folder / flavor["pickled_model"]) == [
        "sklearn.tree._tree.Tree"
    ]
    code = folder / "code" / "churn_experiments"
    assert sorted(code.rglob("*.py")) == [
        code / source.relative_to(PACKAGE_DIR) for source in loader_files()
    ]
    sized = ("code", "input_example.json", "serving_input_example.json", "model.skops")
    assert mlmodel["model_size_bytes"] == sum(
        f.stat().st_size
        for name in sized
        for f in [folder / name, *(folder / name).rglob("*")]
        if f.is_file()
    )
    assert {f.name for f in folder.iterdir()} == {
        "MLmodel",
        "code",
        "conda.yaml",
        "data_contract.json",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "registered_model_meta",
        "requirements.txt",
        "serving_input_example.json",
    }
    assert json.loads((folder / "data_contract.json").read_text())["Age"]["role"] == (
        "numeric"
    )


def test_loading_refuses_a_type_the_model_does_not_trust(mlflow_store: str):
    _, _, uri = log_fitted("lr")
    folder = local_model(uri)
    tree = DecisionTreeClassifier().fit([[0], [1]], [0, 1])
    skops.io.dump(tree, folder / "model.skops")  # holds a type lr never trusted
    with pytest.raises(UntrustedTypesFoundException, match="sklearn.tree._tree.Tree"):
        mlflow.sklearn.load_model(str(folder))
