"""Pipelines per model family, the notebook's numbers, a model added by YAML alone."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from support import MODELS, compose_config

from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.errors import ConfigError
from churn_experiments.evaluation import METRIC_NAMES, score
from churn_experiments.pipeline import build_pipeline

ENCODED = [
    "FrequentFlyer_No Record",
    "FrequentFlyer_Yes",
    "AccountSyncedToSocialMedia_Yes",
    "BookedHotelOrNot_Yes",
    "Age",
    "AnnualIncomeClass",
    "ServicesOpted",
]


def fit(overrides=()):
    cfg = compose_config(overrides)
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    return pipeline.fit(split.X_train, split.y_train), split


@pytest.mark.parametrize("model", MODELS)
def test_each_family_fits_raw_rows_and_scores_every_metric(model):
    pipeline, split = fit([f"model={model}"])
    assert list(pipeline.named_steps["preprocess"].get_feature_names_out()) == ENCODED
    metrics = score(pipeline, split)
    expected = set(METRIC_NAMES) - ({"test_log_loss"} if model == "svc" else set())
    assert set(metrics) == expected
    assert 0.5 < metrics["test_roc_auc"] <= 1.0
    assert metrics == pytest.approx(sklearn_scores(pipeline, split, expected))


def sklearn_scores(pipeline, split, names) -> dict[str, float]:
    """The same scores as scikit-learn's functions give them, on the raw labels."""
    from sklearn import metrics

    positive, predicted = split.positive, pipeline.predict(split.X_test)
    truth = split.y_test == positive
    scores = (
        pipeline.predict_proba(split.X_test)[:, list(pipeline.classes_).index(positive)]
        if "test_log_loss" in names
        else pipeline.decision_function(split.X_test)
    )
    every = {
        "train_accuracy": metrics.accuracy_score(
            split.y_train, pipeline.predict(split.X_train)
        ),
        "test_accuracy": metrics.accuracy_score(split.y_test, predicted),
        "test_precision": metrics.precision_score(
            split.y_test, predicted, pos_label=positive, zero_division=0
        ),
        "test_recall": metrics.recall_score(
            split.y_test, predicted, pos_label=positive
        ),
        "test_f1": metrics.f1_score(split.y_test, predicted, pos_label=positive),
        "test_roc_auc": metrics.roc_auc_score(truth, scores),
    }
    if "test_log_loss" in names:  # probabilities only
        every["test_log_loss"] = metrics.log_loss(truth, scores)
    return {name: every[name] for name in names}


def test_notebook_results_are_reproduced_with_seed_124():
    gb, split = fit(["model=gb"])
    rf, _ = fit(["model=rf"])
    assert round(score(gb, split)["test_f1"], 3) == 0.658
    assert round(score(rf, split)["test_recall"], 3) == 0.651


def test_an_unseen_nominal_value_encodes_as_zeros():
    pipeline, split = fit(["model=lr"])
    row = split.X_test.head(1).copy()
    row["FrequentFlyer"] = "Sometimes"
    encoded = pipeline.named_steps["preprocess"].transform(row)
    assert encoded[0, :2].tolist() == [0.0, 0.0]


NEW_MODELS = {
    "et": "sklearn.ensemble.ExtraTreesClassifier\nn_estimators: 50",
    "hgb": "sklearn.ensemble.HistGradientBoostingClassifier\nmax_iter: 50",
}


@pytest.mark.parametrize("name", sorted(NEW_MODELS))
def test_a_new_model_is_a_yaml_file_in_a_user_folder(tmp_path, monkeypatch, name):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / f"{name}.yaml").write_text(
        f"_target_: {NEW_MODELS[name]}\nrandom_state: ${{seed}}\n"
    )
    monkeypatch.setenv("CHURN_CONFIG_PATH", str(tmp_path))
    pipeline, split = fit([f"model={name}"])
    assert score(pipeline, split)["test_roc_auc"] > 0.8


def test_hyperparameter_names_come_from_a_cache_kept_per_version(tmp_path, monkeypatch):
    """A typo fails without importing the model once its names are cached; a
    different installed version of the distribution refreshes them."""
    import json

    from churn_experiments import hyperparameters

    monkeypatch.setenv("CHURN_CACHE_DIR", str(tmp_path))
    target = "sklearn.ensemble.RandomForestClassifier"
    names = hyperparameters.accepted_names(target, "rf.yaml", "model")
    assert {"n_estimators", "max_depth"} <= names
    cached = json.loads((tmp_path / hyperparameters.CACHE_FILE).read_text())[target]
    assert cached["distribution"] == "scikit-learn" and cached["names"] == sorted(names)

    def no_import(name):
        raise AssertionError(f"imported {name}")

    monkeypatch.setattr("hydra.utils.get_object", no_import)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['n_estimatorz'\]"):
        hyperparameters.check_hyperparameter_names(
            {"_target_": target, "n_estimatorz": 3}, "rf.yaml"
        )
    cached["version"] = "0.0-older"  # an upgrade since: looked up again
    (tmp_path / hyperparameters.CACHE_FILE).write_text(json.dumps({target: cached}))
    with pytest.raises(ConfigError, match="cannot be imported: imported sklearn"):
        hyperparameters.accepted_names(target, "rf.yaml", "model")
