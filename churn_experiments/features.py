"""Build the preprocessing step (a ColumnTransformer) from the features config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from churn_experiments.errors import ConfigError


def build_preprocessor(
    features: Mapping[str, Any] | DictConfig, columns: Sequence[str]
) -> ColumnTransformer:
    """One-hot the nominal columns, map then scale the ordinal ones, scale the rest.

    The output keeps a fixed order: the nominal block first, then every other column of
    ``columns`` in its declared order (one transformer each, named after the column), so
    feature names read ``FrequentFlyer_Yes``, ``Age``, ``AnnualIncomeClass``.
    """
    nominal = list(features["nominal"]["columns"])
    ordinal = _plain(features.get("ordinal") or {})
    unknown = [c for c in [*nominal, *ordinal] if c not in columns]
    if unknown:
        raise ConfigError(
            f"features: column(s) {unknown} are not declared by the dataset; "
            f"its columns are {list(columns)}"
        )
    scaler = instantiate(features["numeric"]["scaler"])
    steps: list[tuple[str, Any, list[str]]] = [
        ("nominal", instantiate(features["nominal"]["encoder"]), nominal)
    ]
    for column in columns:
        if column in nominal:
            continue
        if column in ordinal:
            encoder = OrdinalEncoder(categories=[list(ordinal[column])])
            step = Pipeline([("ordinal", encoder), ("scale", clone(scaler))])
        else:
            step = clone(scaler)
        steps.append((column, step, [column]))
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def _plain(node: Any) -> dict[str, Any]:
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node)
