"""Population stability index of scored rows against the model's training rows.

Counts are accumulated chunk by chunk in the training data's own bins (read from the
model run's ``reference.json``), so memory does not grow with the input. Drift
libraries (evidently, nannyml, popmon) take the whole current table as one DataFrame,
which breaks the bounded-memory promise of batch scoring; PSI over fixed bins is a
few lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churn_experiments.reference import bin_counts

SHARE_FLOOR = 1e-4  # an empty bin counts as this share, so PSI stays finite


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Sum over bins of ``(a - e) * ln(a / e)`` on shares floored at ``SHARE_FLOOR``."""
    e = np.maximum(np.asarray(expected, float), SHARE_FLOOR)
    a = np.maximum(np.asarray(actual, float), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


class DriftCounter:
    """Bin counts of scored rows per column, in the reference's bins."""

    def __init__(self, reference: Mapping[str, Any]) -> None:
        self.columns = reference["columns"]
        self.counts = {
            name: np.zeros(len(spec["shares"]), dtype=np.int64)
            for name, spec in self.columns.items()
        }

    def add(self, rows: pd.DataFrame) -> None:
        """Count the typed rows of a chunk (columns named as in the contract)."""
        for name, bins in self.columns.items():
            self.counts[name] += bin_counts(rows[name], bins)

    def psi_by_column(self) -> dict[str, float]:
        """PSI per column; NaN when no row was counted."""
        result = {}
        for name, counts in self.counts.items():
            total = counts.sum()
            result[name] = (
                psi(self.columns[name]["shares"], counts / total) if total else np.nan
            )
        return result
