"""Fitted pipelines on the tutorial data, shared by the explanation tests."""

from __future__ import annotations

import functools
from pathlib import Path

from omegaconf import OmegaConf
from support import CONF_DIR, compose_config

from churn_experiments.data import Split, load_dataset, split_dataset
from churn_experiments.pipeline import build_pipeline

# every model family a user can pick with model=<name>
MODEL_FILES = sorted(path.stem for path in Path(CONF_DIR, "model").glob("*.yaml"))


# the original columns, in the order the explanations aggregate them
COLUMNS = [
    "FrequentFlyer",
    "AccountSyncedToSocialMedia",
    "BookedHotelOrNot",
    "Age",
    "AnnualIncomeClass",
    "ServicesOpted",
]


@functools.cache
def fit(*overrides: str) -> tuple[object, Split, dict]:
    """The pipeline of ``overrides`` fitted on its split, and the explain settings."""
    cfg = compose_config(overrides)
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    settings = OmegaConf.to_container(cfg.explain, resolve=True)
    return pipeline.fit(split.X_train, split.y_train), split, settings
