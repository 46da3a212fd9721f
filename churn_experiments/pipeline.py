"""Assemble the scikit-learn pipeline: preprocessing plus the configured classifier."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline

from churn_experiments.errors import ConfigError
from churn_experiments.features import build_preprocessor


def build_classifier(model: DictConfig, source: str = "model") -> Any:
    """Instantiate ``model`` (a ``_target_`` plus hyperparameters).

    Unknown hyperparameter names, at the top or inside a nested ``_target_`` (the
    ``estimator`` of a ``CalibratedClassifierCV``, say), are reported with the
    class's accepted ones before anything is constructed, instead of a ``TypeError``
    from deep inside Hydra.
    """
    check_hyperparameter_names(OmegaConf.to_container(model, resolve=False), source)
    return instantiate(model, _convert_="all")  # dict and list values as plain ones


def check_hyperparameter_names(node: Any, source: str, path: str = "model") -> None:
    """Check every ``_target_`` in ``node``, at any depth, against its parameters.

    Raises ConfigError naming ``source``, the key path and the allowed names.
    """
    if isinstance(node, list):
        for index, item in enumerate(node):
            check_hyperparameter_names(item, source, f"{path}.{index}")
        return
    if not isinstance(node, dict):
        return
    if "_target_" in node:
        _check_target(node, source, path)
    for key, value in node.items():
        if not str(key).startswith("_"):
            check_hyperparameter_names(value, source, f"{path}.{key}")


def _check_target(node: dict[str, Any], source: str, path: str) -> None:
    target = node["_target_"]
    try:
        factory = get_object(target)
    except Exception as err:  # hydra wraps import errors in several types
        raise ConfigError(
            f"{source}: {path}._target_ '{target}' cannot be imported: {err}"
        ) from err
    accepted = _parameter_names(factory)
    given = {str(k) for k in node if not str(k).startswith("_")}
    if accepted is not None and given - accepted:
        raise ConfigError(
            f"{source}: unknown key(s) {sorted(given - accepted)} in {path} for "
            f"{target}; allowed: {sorted(accepted)}"
        )


def _parameter_names(factory: Any) -> set[str] | None:
    """The keyword parameters ``factory`` accepts; None when it takes any."""
    if hasattr(factory, "get_params"):  # a scikit-learn estimator (or alike)
        with contextlib.suppress(Exception):  # some need arguments to construct
            return set(factory().get_params(deep=False))
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in keyword}


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
