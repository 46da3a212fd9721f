"""The target a dataset declares (``dataset.target``): its labels as the model learns
them, and the class checks that stop a job before anything is fitted.

``positive`` may be any label of the target column, a number or a text, in any sorted
position. With ``binarize: true`` a multi-class column is learnt as "``positive``
against the rest": the model's labels are ``True`` (the positive label) and ``False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from churn_experiments.errors import ConfigError, DataContractError


def model_positive(target: Mapping[str, Any]) -> Any:
    """The label the fitted model calls positive: ``True`` for a binarised target."""
    return True if target.get("binarize") else target["positive"]


def model_labels(values: pd.Series, target: Mapping[str, Any]) -> pd.Series:
    """The column as the model learns it: ``values == positive`` if binarised."""
    if target.get("binarize"):
        return (values == target["positive"]).rename(values.name)
    return values


def check_classes(values: pd.Series, target: Mapping[str, Any], source: str) -> None:
    """Refuse a target the binary metrics cannot score, before anything is fitted.

    ``values`` is the target column as the file holds it. Raises when it holds one
    class only, when ``positive`` is not one of its classes, or when it holds more
    than two classes and ``binarize`` is not declared.
    """
    counts = values.value_counts().sort_index()
    column = target["column"]
    classes = _counts_text(_named(counts, {}))
    if len(counts) < 2:
        raise DataContractError(
            f"{source}: the target column '{column}' holds one class only ({classes}); "
            "a classifier needs rows of at least two classes"
        )
    positive = target["positive"]
    if positive not in set(counts.index):
        raise ConfigError(
            f"dataset.target.positive: {positive!r} is not a class of the target "
            f"column '{column}' in {source}; its classes: {classes}"
            + _type_hint(positive, counts.index)
        )
    if len(counts) > 2 and not target.get("binarize"):
        raise ConfigError(
            f"dataset.target: column '{column}' holds {len(counts)} classes "
            f"({classes}) and the metrics are binary; declare one class against "
            f"the rest in the dataset file: target: {{column: {column}, "
            f"positive: {_yaml(positive)}, binarize: true}}"
        )


def check_split(
    y_train: pd.Series, y_test: pd.Series, target: Mapping[str, Any], stratify: bool
) -> None:
    """Refuse a split whose training or test part lacks a class the model learns.

    ``y_train`` and ``y_test`` hold the model's labels (see :func:`model_labels`).
    """
    classes = sorted(set(y_train) | set(y_test))
    counts = {
        part: _named(y.value_counts().reindex(classes, fill_value=0), target)
        for part, y in (("training", y_train), ("test", y_test))
    }
    empty = [
        f"the {part} part has no {label} row"
        for part, count in counts.items()
        for label, rows in zip(count.index, count, strict=True)
        if rows == 0
    ]
    if empty:
        shown = "; ".join(f"{part}: {_counts_text(c)}" for part, c in counts.items())
        advice = ("" if stratify else "set split.stratify: true or ") + (
            "change split.test_size"
        )
        raise DataContractError(
            f"the split cannot score the model: {', '.join(empty)} (class counts, "
            f"{shown}); {advice}"
        )


def _named(counts: pd.Series, target: Mapping[str, Any]) -> pd.Series:
    """``counts`` indexed by readable labels (``'High'``, ``not 'High'``)."""
    labels = counts.index.tolist()
    if target.get("binarize"):
        positive = _show(target["positive"])
        labels = [positive if label else f"not {positive}" for label in labels]
    else:
        labels = [_show(label) for label in labels]
    return pd.Series(counts.tolist(), index=labels)


def _counts_text(counts: pd.Series) -> str:
    return ", ".join(
        f"{label} ({rows} row{'' if rows == 1 else 's'})"
        for label, rows in zip(counts.index, counts, strict=True)
    )


def _type_hint(positive: Any, classes: pd.Index) -> str:
    """A hint when ``positive`` names a class in the wrong type (``'1'`` for ``1``)."""
    same_text = [c for c in classes.tolist() if str(c) == str(positive)]
    if not same_text:
        return ""
    kind = "text" if isinstance(same_text[0], str) else "numbers"
    return f" (the classes are {kind}: write positive: {_yaml(same_text[0])})"


def _show(label: Any) -> str:
    return repr(label) if isinstance(label, str) else str(label)


def _yaml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)
