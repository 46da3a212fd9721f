"""Every shipped YAML composes, validates and instantiates; typos get clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hydra.utils import instantiate
from support import CONF_DIR, PROJECT, compose_config

from churn_experiments.errors import ConfigError
from churn_experiments.pipeline import build_classifier
from churn_experiments.validation import validate_config, validate_group

MODEL_FILES = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


@pytest.mark.parametrize("model", MODEL_FILES)
def test_every_model_file_validates_and_instantiates(model):
    cfg = compose_config([f"model={model}"])
    validate_config(cfg)
    assert hasattr(instantiate(cfg.model), "fit")


def test_feature_encoders_instantiate():
    cfg = compose_config()
    for role, steps in cfg.features.items():
        for step in steps.values():
            assert hasattr(instantiate(step), "transform"), role


def test_typo_in_dataset_names_file_key_and_allowed_keys():
    cfg = compose_config(["+dataset.split.stratfy=true"])
    with pytest.raises(ConfigError) as err:
        validate_group("dataset", cfg.dataset, "conf/dataset/travel_churn.yaml")
    message = str(err.value)
    assert message.startswith("conf/dataset/travel_churn.yaml: ")
    assert "dataset.split.stratfy" in message
    assert "stratify" in message and "test_size" in message


def test_bad_enum_lists_allowed_values():
    cfg = compose_config(["leaderboard.sort_by=test_f2"])
    with pytest.raises(ConfigError, match=r"'test_f2' is not allowed.*'test_f1'"):
        validate_config(cfg)


def test_wrong_type_names_key():
    cfg = compose_config(["dataset.split.test_size=1.5"])
    with pytest.raises(ConfigError, match=r"dataset\.split\.test_size"):
        validate_config(cfg)


def test_unknown_hyperparameter_lists_accepted_ones():
    cfg = compose_config(["model=rf", "+model.n_estimator=10"])
    match = r"unknown key\(s\) \['n_estimator'\].*n_estimators"
    with pytest.raises(ConfigError, match=match):
        build_classifier(cfg.model, "conf/model/rf.yaml")


def test_unimportable_target_is_a_config_error():
    cfg = compose_config(["model._target_=sklearn.nope.Nope"])
    with pytest.raises(ConfigError, match="sklearn.nope.Nope"):
        build_classifier(cfg.model)


@pytest.mark.slow  # a subprocess: the whole app's start-up
def test_cli_typo_is_one_clear_line_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "churn_experiments", "+dataset.split.stratfy=true"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "dataset.split.stratfy" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # two subprocesses
def test_help_and_cfg_job_work_without_heavy_imports():
    result = subprocess.run(
        [sys.executable, "-m", "churn_experiments", "--cfg", "job"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "experiment: customer_churn_prediction" in result.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "churn_experiments", "--help"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "model: gb, lr, rf, svc" in help_text
    assert "churn -m model=lr,rf,svc,gb" in help_text
