"""What a model's training rows looked like, recorded on its run for later scoring.

At training time :func:`log_reference` writes ``reference.json`` on the run: per input
column the bins and shares of the training rows (category shares, or numeric bins cut
at the training quantiles), and a small seeded sample of raw training rows. Batch
scoring reads it back with :func:`load_reference` to measure drift (population
stability index per column) and as the background of linear and model-agnostic SHAP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ARTIFACT = "reference.json"
NUMERIC_BINS = 10  # quantile bins per numeric column (fewer when values repeat)
BACKGROUND_ROWS = 100  # raw training rows kept as a SHAP background


def column_bins(values: pd.Series, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The reference bins of one column: its categories, or inner quantile edges."""
    if "categories" in spec:
        return {"categories": [str(c) for c in spec["categories"]]}
    quantiles = np.nanquantile(
        values.to_numpy(float), np.linspace(0, 1, NUMERIC_BINS + 1)
    )
    return {"edges": np.unique(quantiles)[1:-1].tolist()}


def bin_counts(values: pd.Series, bins: Mapping[str, Any]) -> np.ndarray:
    """How many of ``values`` fall in each bin of ``bins`` (see :func:`column_bins`);
    missing values fall in none."""
    if "categories" in bins:
        categories = bins["categories"]
        codes = pd.Categorical(values.astype(str), categories=categories).codes
        return np.bincount(codes[codes >= 0], minlength=len(categories))
    edges = np.asarray(bins["edges"], dtype=float)
    numbers = values.to_numpy(float)
    numbers = numbers[~np.isnan(numbers)]  # missing cells (nullable columns) not binned
    positions = np.searchsorted(edges, numbers, side="right")
    return np.bincount(positions, minlength=len(edges) + 1)


def build_reference(
    rows: pd.DataFrame, contract: Mapping[str, Mapping[str, Any]], seed: int
) -> dict[str, Any]:
    """Bins and shares of each contract column of ``rows``, and a background sample."""
    columns = {}
    for name, spec in contract.items():
        bins = column_bins(rows[name], spec)
        counts = bin_counts(rows[name], bins)
        columns[name] = {**bins, "shares": (counts / counts.sum()).tolist()}
    background = rows[list(contract)].sample(
        n=min(BACKGROUND_ROWS, len(rows)), random_state=seed
    )
    return {
        "rows": len(rows),
        "columns": columns,
        "background": json.loads(background.to_json(orient="split", index=False)),
    }


def log_reference(
    rows: pd.DataFrame, contract: Mapping[str, Mapping[str, Any]], seed: int
) -> None:
    """Record the training rows' reference on the active MLflow run."""
    import mlflow

    mlflow.log_dict(build_reference(rows, contract, seed), ARTIFACT)


def load_reference(run_id: str) -> dict[str, Any] | None:
    """The reference logged on ``run_id``; ``None`` for a run trained without one."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from churn_experiments.tracking import quiet_downloads

    try:
        with quiet_downloads():
            return mlflow.artifacts.load_dict(f"runs:/{run_id}/{ARTIFACT}")
    except (MlflowException, OSError):
        return None


def background_rows(reference: Mapping[str, Any]) -> pd.DataFrame:
    """The reference's sample of raw training rows, as a DataFrame."""
    sample = reference["background"]
    return pd.DataFrame(sample["data"], columns=sample["columns"])
