"""Assemble the scikit-learn pipeline: preprocessing plus the configured classifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline

from churn_experiments.features import build_preprocessor
from churn_experiments.hyperparameters import check_hyperparameter_names


def build_classifier(model: DictConfig, source: str = "model") -> Any:
    """Instantiate ``model`` (a ``_target_`` plus hyperparameters).

    Unknown hyperparameter names, at the top or inside a nested ``_target_`` (the
    ``estimator`` of a ``CalibratedClassifierCV``, say), are reported with the
    class's accepted ones before anything is constructed, instead of a ``TypeError``
    from deep inside Hydra.
    """
    check_hyperparameter_names(OmegaConf.to_container(model, resolve=False), source)
    return instantiate(model, _convert_="all")  # dict and list values as plain ones


def flat_params(estimator: Any) -> dict[str, Any]:
    """``estimator``'s parameters as MLflow params, nested ones flat.

    Named as scikit-learn's ``get_params(deep=True)`` names them (``estimator__C``);
    a nested estimator itself is logged by its class name (``estimator: SVC``).
    """
    return {
        key: type(value).__name__ if hasattr(value, "get_params") else value
        for key, value in estimator.get_params(deep=True).items()
    }


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
