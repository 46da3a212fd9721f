"""The scoring layer in process: our fast path, and a plain model through MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from support import RAW_ROWS, tracking_to

from churn_experiments.deploy import payloads
from churn_experiments.deploy.scoring_app import Scorer
from churn_experiments.tracking import model_requirements


@pytest.fixture(scope="module")
def ours(tutorial_sweep) -> Scorer:
    with tracking_to(tutorial_sweep.tracking_uri):
        model = mlflow.pyfunc.load_model(f"runs:/{tutorial_sweep.run_ids['gb']}/model")
    return Scorer(model)


@pytest.fixture(scope="module")
def plain(tutorial_sweep, tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    """The same pipeline saved as a bare scikit-learn model (no data contract)."""
    with tracking_to(tutorial_sweep.tracking_uri):
        pipeline = mlflow.sklearn.load_model(
            f"runs:/{tutorial_sweep.run_ids['lr']}/model"
        )
    path = tmp_path_factory.mktemp("plain") / "model"
    mlflow.sklearn.save_model(
        pipeline,
        path,
        signature=mlflow.models.infer_signature(RAW_ROWS),
        serialization_format="cloudpickle",
        pip_requirements=model_requirements(),  # inferring them: ~5 s, a subprocess
    )
    return Scorer(mlflow.pyfunc.load_model(str(Path(path))))


def ask(scorer: Scorer, body: object) -> tuple[int, dict]:
    answer = scorer.answer(json.dumps(body).encode(), "application/json")
    return answer.status, json.loads(answer.body)


def test_our_fast_path_predicts_like_pyfunc(ours: Scorer):
    status, body = ask(ours, payloads.dataframe_records(RAW_ROWS))
    assert status == 200
    np.testing.assert_array_equal(body["predictions"], ours.model.predict(RAW_ROWS))


def test_a_plain_model_is_scored_by_mlflow_and_its_refusals_lose_the_prefix(
    plain: Scorer,
):
    assert plain.contract is None
    status, body = ask(plain, payloads.dataframe_split(RAW_ROWS))
    assert status == 200 and len(body["predictions"]) == len(RAW_ROWS)
    status, body = ask(plain, {"dataframe_split": {"columns": ["Age"], "data": [[1]]}})
    assert status == 400
    assert not body["message"].startswith("Failed to predict")
    assert "Model is missing inputs ['FrequentFlyer'" in body["message"]


def test_a_plain_model_gets_the_formats_hint_from_its_signature(plain: Scorer):
    status, body = ask(plain, {"input_data": {}})
    assert status == 400
    assert body["message"].endswith(
        'e.g. {"dataframe_records": [{"Age": 0, "FrequentFlyer": 0,'
        ' "AnnualIncomeClass": 0, "ServicesOpted": 0, "AccountSyncedToSocialMedia": 0,'
        ' "BookedHotelOrNot": 0}]}'
    )
