"""Opt-in: deploy to a real Azure ML workspace, score, and delete (costs money).

Runs only with ``pytest -m azure_live`` and AZURE_SUBSCRIPTION_ID,
AZURE_RESOURCE_GROUP and AZUREML_WORKSPACE_NAME set; credentials come from
DefaultAzureCredential (``az login`` or the AZURE_CLIENT_* variables). Optional:
AZUREML_TEST_ENDPOINT (default: a random name), AZUREML_TEST_INSTANCE_TYPE.
A managed deployment takes about 10 minutes; the endpoint is deleted at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd
import pytest

from churn_experiments.deploy import azureml
from churn_experiments.deploy.client import predict
from churn_experiments.deploy.payloads import input_data

pytestmark = [
    pytest.mark.azure_live,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def live(request: pytest.FixtureRequest) -> None:
    if "azure_live" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("live Azure test: select it with -m azure_live")
    missing = [v for v in azureml.WORKSPACE_ENV.values() if not os.environ.get(v)]
    if missing:
        pytest.skip(f"live Azure test: set {', '.join(missing)}")
    pytest.importorskip("azure.ai.ml", reason="needs the [azure] extra")


def test_deploy_invoke_status_delete(
    live: None, tmp_path: Path, data_dir: Path
) -> None:
    import mlflow.sklearn
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = pd.read_csv(data_dir / "Customertravel.csv", encoding="utf-8-sig")
    rows = data.drop(columns="Target")
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), list(rows.columns[1:])),
        remainder="passthrough",
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=500))
    mlflow.sklearn.save_model(
        model.fit(rows, data["Target"]),
        tmp_path / "model",
        serialization_format="cloudpickle",
        pip_requirements=["scikit-learn", "cloudpickle"],
    )
    cfg = {
        "kind": "azureml",
        "model_uri": str(tmp_path / "model"),
        "model_name": "churn-live-test",
        "endpoint_name": os.environ.get(
            "AZUREML_TEST_ENDPOINT", f"churn-test-{uuid.uuid4().hex[:8]}"
        ),
        "auth_mode": "key",
        "deployment_name": "blue",
        "instance_type": os.environ.get(
            "AZUREML_TEST_INSTANCE_TYPE", "Standard_DS3_v2"
        ),
        "instance_count": 1,
        "traffic": {"blue": 100},
    }
    try:
        state = azureml.deploy(cfg)
        assert state["deployments"]["blue"]["provisioning_state"] == "Succeeded"
        assert state["traffic"] == {"blue": 100}

        sample = rows.head(5)
        assert len(predict(sample, cfg)) == 5
        direct = azureml.invoke(cfg, input_data(sample), deployment_name="blue")
        assert set(direct) <= {0, 1}
    finally:
        azureml.delete(cfg)  # the tutorial's clean-up, also after a failure
    assert azureml.status(cfg)["exists"] is False
