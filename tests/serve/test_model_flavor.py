"""The logged model's two flavors: the plain pipeline, and a pyfunc checking rows."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from sklearn.pipeline import Pipeline

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
