"""Build the preprocessing step (a ColumnTransformer) from the column roles.

``conf/features`` names one encoder per role (and an imputer for nullable columns); the
dataset says which column plays which role and, for ordinal columns, the order of their
categories. So one features file serves every dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.utils import instantiate
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from churn_experiments.columns import columns_with_role


def build_preprocessor(
    features: Mapping[str, Any], dataset: Mapping[str, Any]
) -> ColumnTransformer:
    """One-hot the nominal columns, map then scale the ordinal ones, scale the numeric.

    The output keeps a fixed order: the nominal block first, then every ordinal and
    numeric column in file order (one transformer each, named after the column), so
    feature names read ``FrequentFlyer_Yes``, ``Age``, ``AnnualIncomeClass``. A column
    declared ``nullable`` is imputed first, with its role's ``imputer``.
    """
    nominal = columns_with_role(dataset, "nominal")
    steps: list[tuple[str, Any, list[str]]] = []
    if nominal:
        nullable = any(spec.get("nullable") for spec in nominal.values())
        encoder = instantiate(features["nominal"]["encoder"])
        chain = _chain(_imputer(features, "nominal", nullable), ("encode", encoder))
        steps.append(("nominal", chain, list(nominal)))
    for column, spec in columns_with_role(dataset, "ordinal", "numeric").items():
        role = spec["role"]
        mapping = None
        if role == "ordinal":
            order = [[str(c) for c in spec["categories"]]]
            mapping = ("ordinal", OrdinalEncoder(categories=order))
        chain = _chain(
            mapping,
            _imputer(features, role, spec.get("nullable", False)),
            ("scale", instantiate(features[role]["scaler"])),
        )
        steps.append((column, chain, [column]))
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def _imputer(
    features: Mapping[str, Any], role: str, nullable: bool
) -> tuple[str, Any] | None:
    """The role's imputer step, for a column (or block) that may hold missing values."""
    return ("impute", instantiate(features[role]["imputer"])) if nullable else None


def _chain(*steps: tuple[str, Any] | None) -> Any:
    """The one estimator given, or a Pipeline of the several."""
    present = [step for step in steps if step is not None]
    return present[0][1] if len(present) == 1 else Pipeline(present)
