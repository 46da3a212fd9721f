"""What a scoring run shows: the probability histogram and the drift metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def histogram_figure(counts: np.ndarray) -> Any:
    """Bars of ``counts`` over equal bins of [0, 1]: the scored churn probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0.0, 1.0, len(counts) + 1)
    figure, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="white")
    ax.set_xlabel("churn probability")
    ax.set_ylabel("customers")
    ax.set_title(f"{int(counts.sum()):,} scored customers")
    figure.tight_layout()
    return figure


def psi_metrics(psi: Mapping[str, float]) -> dict[str, float]:
    """``psi_<column>`` metrics, with characters MLflow refuses replaced."""
    from churn_experiments.explain.store import metric_name

    return {
        metric_name(column, "psi_"): value
        for column, value in psi.items()
        if not np.isnan(value)
    }
