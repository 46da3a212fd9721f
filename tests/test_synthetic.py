"""The synthetic dataset: the real file's schema and frequencies, seeded, learnable."""

from __future__ import annotations

import math
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from support import CHEAP, compose_config

from churn_experiments.data import load_dataset
from churn_experiments.errors import ConfigError
from churn_experiments.synthetic import churn_intercept
from churn_experiments.train import train
from churn_experiments.validation import validate_config

ROWS = ["dataset=travel_churn_synthetic", "dataset.synthetic.rows=20000"]


def synthetic_dataset(*overrides: str) -> dict[str, Any]:
    cfg = compose_config([*ROWS, *overrides])
    validate_config(cfg)
    return OmegaConf.to_container(cfg.dataset, resolve=True)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_dataset(synthetic_dataset())


def test_columns_and_dtypes_are_those_of_the_real_file(frame):
    real_cfg = compose_config()
    real = load_dataset(OmegaConf.to_container(real_cfg.dataset, resolve=True))
    assert len(frame) == 20000
    assert frame.dtypes.to_dict() == real.dtypes.to_dict()
    assert set(frame["FrequentFlyer"]) == set(real["FrequentFlyer"])


def test_frequencies_and_churn_rate_match_the_declared_ones(frame):
    spec = synthetic_dataset()["synthetic"]
    for column, declared in spec["frequencies"].items():
        shares = frame[column].astype(str).value_counts(normalize=True)
        for value, share in declared.items():
            assert shares[value] == pytest.approx(share, abs=0.015), (column, value)
    assert frame["Target"].mean() == pytest.approx(spec["churn_rate"], abs=0.01)
    assert set(frame["Target"]) == {0, 1}


def test_same_seed_same_rows_other_seed_other_rows(frame):
    pd.testing.assert_frame_equal(load_dataset(synthetic_dataset()), frame)
    other = load_dataset(synthetic_dataset("seed=7"))
    assert not other.equals(frame)


def test_intercept_gives_the_declared_rate_exactly():
    no_signal = [(np.zeros(3), np.full(3, 1 / 3))]
    assert churn_intercept(no_signal, 0.2) == pytest.approx(math.log(0.2 / 0.8))
    effects, p = np.array([0.0, 2.0]), np.array([0.7, 0.3])
    b = churn_intercept([(effects, p)], 0.3)
    assert p @ (1 / (1 + np.exp(-(b + effects)))) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "+dataset.synthetic.frequencies.FrequentFlyer.Maybe=0.1",
            "'Maybe' is not a category",
        ),
        (
            "+dataset.synthetic.frequencies.Age.17=0.01",
            r"'17' is not a value of Age \(int",
        ),
        ("dataset.synthetic.frequencies.Age.30=0.5", "shares sum to 1.251"),
        ("+dataset.synthetic.signal.Age.40=1.0", r"\[40\] have no frequency"),
    ],
)
def test_spec_outside_the_contract_is_a_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_dataset(synthetic_dataset(override))


def test_unknown_key_in_synthetic_block_is_rejected_by_the_schema():
    with pytest.raises(ConfigError, match=r"dataset\.synthetic\.row;.*rows"):
        synthetic_dataset("+dataset.synthetic.row=5")


def test_models_learn_the_planted_signal_and_the_run_records_the_generator(
    mlflow_store,
):
    metrics = train(compose_config([*ROWS, "model=gb", *CHEAP]))
    assert metrics["test_roc_auc"] > 0.7
    run = mlflow.MlflowClient().get_run(metrics["run_id"])
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "travel_churn_synthetic"
    assert dataset_input.dataset.source_type == "code"
    assert '"rows": 20000' in dataset_input.dataset.source
