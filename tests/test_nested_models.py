"""A nested ``_target_`` estimator is checked and logged like a top-level model."""

from __future__ import annotations

import mlflow
import pytest
from support import CHEAP, compose_config, compose_job

from churn_experiments.errors import ConfigError
from churn_experiments.pipeline import build_classifier
from churn_experiments.train import train


def test_typo_inside_a_nested_estimator_is_one_line(user_conf):
    cfg = compose_config(["model=svc_calibrated", "+model.estimator.Cc=2"])
    with pytest.raises(ConfigError) as error:
        build_classifier(cfg.model, "user_conf/model/svc_calibrated.yaml")
    message = str(error.value)
    assert message.startswith(
        "user_conf/model/svc_calibrated.yaml: unknown key(s) ['Cc'] in "
        "model.estimator for sklearn.svm.SVC; allowed: ['C', "
    )
    assert "\n" not in message


def test_a_nested_target_that_cannot_be_imported_names_its_key(user_conf):
    cfg = compose_config(["model=svc_calibrated", "model.estimator._target_=nope.SVC"])
    with pytest.raises(ConfigError, match=r"^f: model\.estimator\._target_ 'nope.SVC'"):
        build_classifier(cfg.model, "f")


def test_nested_parameters_are_logged_flat(mlflow_store, user_conf):
    cfg, sources = compose_job(
        ["model=svc_calibrated", "model.estimator.C=0.5", *CHEAP]
    )
    result = train(cfg, sources)
    params = mlflow.MlflowClient().get_run(result["run_id"]).data.params
    assert params["estimator"] == "SVC"
    assert params["estimator__C"] == "0.5"
    assert params["estimator__kernel"] == "rbf"
    assert params["method"] == "sigmoid"
    assert result["test_roc_auc"] > 0.8
