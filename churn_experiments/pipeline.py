"""Assemble the scikit-learn pipeline: preprocessing plus the configured classifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig
from sklearn.pipeline import Pipeline

from churn_experiments.errors import ConfigError
from churn_experiments.features import build_preprocessor


def build_classifier(model: DictConfig, source: str = "model") -> Any:
    """Instantiate ``model`` (a ``_target_`` plus hyperparameters).

    Unknown hyperparameter names are reported with the estimator's accepted ones before
    anything is constructed, instead of a ``TypeError`` from deep inside the class.
    """
    target = model.get("_target_")
    try:
        cls = get_class(target)
    except Exception as err:  # hydra wraps import errors in several types
        raise ConfigError(
            f"{source}: _target_ '{target}' cannot be imported: {err}"
        ) from err
    accepted = set(cls().get_params(deep=False)) if hasattr(cls, "get_params") else None
    given = {k for k in model if not str(k).startswith("_")}
    if accepted is not None and given - accepted:
        raise ConfigError(
            f"{source}: unknown key(s) {sorted(given - accepted)} for {target}; "
            f"allowed: {sorted(accepted)}"
        )
    return instantiate(model, _convert_="all")  # dict and list values as plain ones


def build_pipeline(
    features: Mapping[str, Any] | DictConfig,
    model: DictConfig,
    dataset: Mapping[str, Any],
    source: str = "model",
) -> Pipeline:
    """Return ``Pipeline([("preprocess", ...), ("classifier", ...)])`` for raw rows of
    ``dataset`` (its declared column roles decide the encoders)."""
    return Pipeline(
        [
            ("preprocess", build_preprocessor(features, dataset)),
            ("classifier", build_classifier(model, source)),
        ]
    )
