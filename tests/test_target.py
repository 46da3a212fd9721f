"""The declared target: any positive label, binarised classes, refused targets.

The fixture files under ``tests/data`` are used as a user would: dataset files and a
features file in a config folder of their own (the ``user_conf`` fixture).
"""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from omegaconf import OmegaConf
from support import compose_config, compose_job

from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.errors import ConfigError, DataContractError
from churn_experiments.evaluation import positive_scores
from churn_experiments.explain import explain
from churn_experiments.pipeline import build_pipeline
from churn_experiments.train import train

QUICK = ("explain.enabled=false", "profile.enabled=false")


def user_split(*overrides: str):
    cfg = compose_config([*overrides])
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    return split_dataset(load_dataset(dataset), dataset)


def logged(run_id: str) -> mlflow.entities.Run:
    return mlflow.MlflowClient().get_run(run_id)


@pytest.mark.parametrize("model", ["gb", "svc"])
def test_tutorial_at_positive_0_scores_as_at_positive_1(mlflow_store, model):
    ones = train(*compose_job([f"model={model}", *QUICK]))
    zeros = train(*compose_job([f"model={model}", "dataset.target.positive=0", *QUICK]))
    assert zeros["test_roc_auc"] == pytest.approx(ones["test_roc_auc"], abs=1e-12)
    assert zeros["test_roc_auc"] > 0.8
    if model == "gb":  # log loss needs probabilities; svc has none
        assert zeros["test_log_loss"] == pytest.approx(ones["test_log_loss"])
        assert zeros["test_log_loss"] < 0.5
    assert zeros["test_f1"] != ones["test_f1"]  # F1 of the other class
    assert logged(zeros["run_id"]).data.metrics["test_roc_auc"] == zeros["test_roc_auc"]


def test_text_target_whose_positive_label_sorts_first(mlflow_store, user_conf):
    result = train(*compose_job(["dataset=status", "model=lr"]))
    flipped = train(
        *compose_job(
            [
                "dataset=status",
                "model=lr",
                "dataset.target.positive=Stayed",
                *QUICK,
            ]
        )
    )
    assert result["test_roc_auc"] > 0.75  # the planted signal, ranked the right way
    assert flipped["test_roc_auc"] == pytest.approx(result["test_roc_auc"])
    model = mlflow.pyfunc.load_model(f"runs:/{result['run_id']}/model")
    assert model.metadata.signature.outputs.to_dict() == [
        {"type": "string", "required": True}
    ]
    assert set(model.predict(user_split("dataset=status").X_test)) <= {
        "Churned",
        "Stayed",
    }


def test_shap_explains_the_positive_label_when_it_sorts_first(user_conf):
    cfg = compose_config(["dataset=status", "model=lr"])
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    pipeline.fit(split.X_train, split.y_train)
    assert list(pipeline.classes_) == ["Churned", "Stayed"]
    settings = OmegaConf.to_container(cfg.explain, resolve=True)
    explanation = explain(pipeline, split, {**settings, "max_rows": 60})
    assert explanation.details["explained_class"] == "Churned"
    complaints = explanation.feature_names.index("complaints")
    # more complaints mean more churn: their SHAP values rise with the value
    values = explanation.values[:, complaints]
    assert np.corrcoef(explanation.data[:, complaints], values)[0, 1] > 0.9
    churn_probability, _ = positive_scores(pipeline, split.X_test, "Churned")
    proba = pipeline.predict_proba(split.X_test)
    np.testing.assert_allclose(churn_probability, proba[:, 0])


def test_three_classes_binarised_from_yaml(mlflow_store, user_conf):
    result = train(*compose_job(["dataset=risk", "model=rf"]))
    assert result["test_roc_auc"] > 0.75
    model = mlflow.pyfunc.load_model(f"runs:/{result['run_id']}/model")
    assert model.metadata.signature.outputs.to_dict() == [
        {"type": "boolean", "required": True}
    ]
    split = user_split("dataset=risk")
    assert set(split.y_test) == {True, False} and split.positive is True


def test_three_classes_without_binarize_stop_before_fitting(user_conf):
    with pytest.raises(ConfigError) as err:
        user_split("dataset=risk", "dataset.target.binarize=false")
    message = str(err.value)
    assert "holds 3 classes ('High' (212 rows), 'Low' (119 rows), 'Medium'" in message
    assert "binarize: true" in message and len(message.splitlines()) <= 2


def test_one_class_target_is_named(user_conf):
    only = r"holds one class only \('Stayed' \(30 rows"
    with pytest.raises(DataContractError, match=only):
        user_split("dataset=one_class")


def test_positive_label_not_in_the_data_names_the_classes(user_conf):
    with pytest.raises(ConfigError, match=r"'Gone' is not a class.*'Churned' \("):
        user_split("dataset=status", "dataset.target.positive=Gone")


def test_positive_of_the_wrong_type_says_how_to_write_it():
    cfg = compose_config(["dataset.target.positive='1'"])
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    with pytest.raises(ConfigError, match=r"classes are numbers: write positive: 1\)"):
        split_dataset(load_dataset(dataset), dataset)


def test_split_without_a_class_names_the_counts(user_conf):
    with pytest.raises(DataContractError) as err:
        user_split("dataset=one_churner")
    message = str(err.value)
    assert "has no 'Churned' row" in message
    assert "'Churned' (0 rows)" in message and "'Churned' (1 row)" in message
