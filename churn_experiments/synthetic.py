"""Generate a dataset from its config: declared frequencies, churn rate, planted signal.

Every feature column is drawn independently from its ``frequencies``; the target is then
drawn row by row with ``P(churn) = sigmoid(b + sum of the row's signal effects)``, where
the intercept ``b`` is solved exactly so that the expected churn rate is the declared
one. The frame has the dtypes :func:`churn_experiments.data.load_dataset` gives a file
(``int64``/``float64`` numbers, ``object`` strings), so every later step is unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn_experiments.columns import feature_columns, value_type
from churn_experiments.errors import ConfigError

if TYPE_CHECKING:
    from mlflow.data.code_dataset_source import CodeDatasetSource

log = logging.getLogger(__name__)

NUMPY_DTYPES = {"int": np.int64, "float": np.float64, "category": object}


def generate(dataset: Mapping[str, Any]) -> pd.DataFrame:
    """``dataset.synthetic.rows`` rows with the dataset's columns, from its seed."""
    spec = dataset["synthetic"]
    columns, target = dataset["columns"], dataset["target"]
    rows = spec["rows"]
    tables = {
        name: _table(name, columns[name], spec) for name in feature_columns(dataset)
    }
    unknown = sorted(set(spec.get("signal") or {}) - set(tables))
    if unknown:
        raise ConfigError(
            f"dataset.synthetic.signal: {unknown} are not feature columns; "
            f"they are {list(tables)}"
        )
    intercept = churn_intercept(
        [(effects, p) for _, p, effects in tables.values()], spec["churn_rate"]
    )
    rng = np.random.default_rng(spec["seed"])
    data: dict[str, Any] = {}
    logit = np.full(rows, intercept, dtype=np.float32)
    for name, (values, p, effects) in tables.items():
        codes = rng.choice(len(values), size=rows, p=p)
        data[name] = values[codes]
        logit += effects[codes]
    churned = rng.random(rows, dtype=np.float32) < 1 / (1 + np.exp(-logit))
    negative_positive = _labels(columns[target["column"]], target)
    data[target["column"]] = negative_positive[churned.view(np.int8)]
    log.info(
        "Generated %d rows of '%s' (seed %s, churn rate %.3f)",
        rows,
        dataset["name"],
        spec["seed"],
        churned.mean(),
    )
    # explicit dtypes: pandas 3 would turn object arrays of text into its str dtype
    return pd.DataFrame(
        {
            name: pd.Series(data[name], dtype=data[name].dtype)
            for name in columns
            if name in data
        }
    )


def source(dataset: Mapping[str, Any]) -> CodeDatasetSource:
    """MLflow's record of where generated rows come from: this generator, its spec."""
    from mlflow.data.code_dataset_source import CodeDatasetSource

    spec = dataset["synthetic"]
    return CodeDatasetSource(
        {
            "generator": f"{__name__}.generate",
            "rows": spec["rows"],
            "seed": spec["seed"],
            "churn_rate": spec["churn_rate"],
        }
    )


def churn_intercept(tables: list[tuple[np.ndarray, np.ndarray]], rate: float) -> float:
    """The ``b`` with ``E[sigmoid(b + sum of effects)] = rate``, columns independent.

    ``tables`` holds one (effects, probabilities) pair per column. The distribution of
    the summed effect is built exactly, one column at a time, merging equal sums.
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    sums, probs = np.zeros(1), np.ones(1)
    for effects, p in tables:
        sums = np.add.outer(sums, effects).ravel().round(9)
        probs = np.multiply.outer(probs, p).ravel()
        sums, inverse = np.unique(sums, return_inverse=True)
        probs = np.bincount(inverse, weights=probs)
    return float(brentq(lambda b: probs @ expit(b + sums) - rate, -50.0, 50.0))


def _table(
    name: str, column: Mapping[str, Any], spec: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column's values, their probabilities and their signal effects."""
    frequencies = (spec.get("frequencies") or {}).get(name)
    if not frequencies:
        raise ConfigError(f"dataset.synthetic.frequencies: column '{name}' is missing")
    values = [_value(name, column, key) for key in frequencies]
    effects = {
        _value(name, column, key): effect
        for key, effect in ((spec.get("signal") or {}).get(name) or {}).items()
    }
    extra = [value for value in effects if value not in values]
    if extra:
        raise ConfigError(
            f"dataset.synthetic.signal.{name}: {extra} have no frequency; "
            f"values: {values}"
        )
    p = np.array(list(frequencies.values()), dtype=np.float64)
    if abs(p.sum() - 1) > 0.01:
        raise ConfigError(
            f"dataset.synthetic.frequencies.{name}: shares sum to {p.sum():.3f}, not 1"
        )
    return (
        np.array(values, dtype=NUMPY_DTYPES[value_type(column)]),
        p / p.sum(),
        np.array([effects.get(v, 0.0) for v in values], dtype=np.float32),
    )


def _value(name: str, column: Mapping[str, Any], key: Any) -> Any:
    """A frequency or signal key (``"30"``) as a value the data contract allows (30).

    Keys are text in the YAML so that command-line overrides can address them.
    """
    low, high = column.get("min"), column.get("max")
    kind = value_type(column)
    if kind == "category":
        allowed = [str(c) for c in column["categories"]]
        if str(key) not in allowed:
            raise ConfigError(
                f"dataset.synthetic: {key!r} is not a category of {name}; "
                f"allowed: {allowed}"
            )
        return str(key)
    try:
        number = float(key)
    except ValueError:
        number = math.nan
    if (
        math.isnan(number)
        or (kind == "int" and not number.is_integer())
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        raise ConfigError(
            f"dataset.synthetic: {key!r} is not a value of {name} "
            f"({kind} in [{low}, {high}])"
        )
    return int(number) if kind == "int" else number


def _labels(column: Mapping[str, Any], target: Mapping[str, Any]) -> np.ndarray:
    """The target's labels as ``[negative, positive]``: the two its contract allows."""
    low, high = column.get("min"), column.get("max")
    kind = value_type(column)
    if kind == "category":
        labels = list(column["categories"])
    elif low is not None and high is not None:
        labels = list(range(int(low), int(high) + 1))
    else:
        labels = []
    positive = target["positive"]
    if positive not in labels or len(labels) != 2:
        raise ConfigError(
            f"dataset.synthetic: target '{target['column']}' must allow exactly two "
            f"values, one of them the positive label {positive!r}; it allows {labels}"
        )
    labels.sort(key=lambda label: label == positive)
    return np.array(labels, dtype=NUMPY_DTYPES[kind])
