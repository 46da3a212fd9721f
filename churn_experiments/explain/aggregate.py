"""Map encoded features back to the user's columns, and sum SHAP values per column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def column_groups(preprocess: Any) -> dict[str, list[str]]:
    """Each original column and the encoded features it became, in output order.

    Read from the fitted ColumnTransformer: each transformer's input columns and the
    slice of the output it wrote (``output_indices_``). A transformer over one column
    owns its whole slice; a transformer over several columns must either keep one
    output per input (a scaler) or be a one-hot encoder, whose ``categories_``,
    ``drop_idx_`` and ``infrequent_categories_`` say how many outputs each input has.
    """
    names = list(preprocess.get_feature_names_out())
    groups: dict[str, list[str]] = {}
    for name, transformer, columns in preprocess.transformers_:
        outputs = names[preprocess.output_indices_[name]]
        if not outputs:
            continue
        inputs = _input_columns(columns, list(preprocess.feature_names_in_))
        start = 0
        for column, count in zip(
            inputs, _outputs_per_input(transformer, inputs, len(outputs)), strict=True
        ):
            groups.setdefault(column, []).extend(outputs[start : start + count])
            start += count
    return groups


def _input_columns(columns: Any, names_in: Sequence[str]) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    listed = list(columns)
    if all(isinstance(c, str) for c in listed):
        return listed
    if all(isinstance(c, int | np.integer) for c in listed):
        return [names_in[c] for c in listed]
    raise TypeError(f"cannot read the input columns {columns!r} of a transformer")


def _outputs_per_input(
    transformer: Any, inputs: Sequence[str], n_outputs: int
) -> list[int]:
    if len(inputs) == 1:
        return [n_outputs]
    if n_outputs == len(inputs):
        return [1] * n_outputs
    final = transformer[-1] if hasattr(transformer, "steps") else transformer
    if not hasattr(final, "categories_"):
        raise ValueError(
            f"cannot tell which of {n_outputs} encoded features come from which of "
            f"the columns {list(inputs)} ({type(final).__name__})"
        )
    counts = []
    drop = getattr(final, "drop_idx_", None)
    infrequent = getattr(final, "infrequent_categories_", [None] * len(inputs))
    for i, categories in enumerate(final.categories_):
        count = len(categories)
        if infrequent[i] is not None:
            count -= len(infrequent[i]) - 1
        if drop is not None and drop[i] is not None:
            count -= 1
        counts.append(count)
    if sum(counts) != n_outputs:
        raise ValueError(
            f"{type(final).__name__} over {list(inputs)} wrote {n_outputs} features, "
            f"but its categories account for {sum(counts)}"
        )
    return counts


def aggregate(
    values: np.ndarray,
    feature_names: Sequence[str],
    groups: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """Sum the columns of ``values`` (rows x encoded features) per original column."""
    position = {name: i for i, name in enumerate(feature_names)}
    return np.column_stack(
        [
            values[:, [position[f] for f in features]].sum(axis=1)
            for features in groups.values()
        ]
    )


def aggregate_data(
    data: np.ndarray,
    feature_names: Sequence[str],
    groups: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """Feature values per original column, for colouring plots.

    A column whose first encoded feature keeps its name (scaled, ordinal, or imputed
    with a missing indicator beside it) keeps that value, a monotone map of the
    original. A column spread over one-hot features has no single value and gets NaN,
    which SHAP's beeswarm draws in grey.
    """
    position = {name: i for i, name in enumerate(feature_names)}
    return np.column_stack(
        [
            data[:, position[features[0]]]
            if len(features) == 1 or features[0] == column
            else np.full(len(data), np.nan)
            for column, features in groups.items()
        ]
    )
