"""Score one chunk of raw rows: contract check, probability, prediction, reasons.

The same :class:`ChunkScorer` runs in the local engine and in each Ray worker. It
returns every row of the chunk, in order, in one frame: the scored columns for the
rows that passed the check, ``REJECTED`` holding the reason for those that did not,
and the typed input columns (prefixed ``INPUT_PREFIX``) for the drift measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churn_experiments.contract import check_frame
from churn_experiments.evaluation import positive_column
from churn_experiments.explain.explainers import encode
from churn_experiments.score.model import ScoringModel
from churn_experiments.score.reasons import ReasonFinder, reason_columns

PROBABILITY = "churn_probability"
PREDICTED = "churn_predicted"
REJECTED = "_rejected"
INPUT_PREFIX = "_input_"


def check_rows(
    rows: pd.DataFrame, contract: dict[str, dict[str, Any]]
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows keeping the contract (typed), and why each other row does not.

    Both are indexed like ``rows``; see :func:`churn_experiments.contract.check_frame`.
    """
    checked = check_frame(rows, contract)
    return checked.valid_rows(), checked.reasons()


class ChunkScorer:
    """Turn a chunk of raw rows into scored rows (see the module's docstring)."""

    def __init__(
        self,
        model: ScoringModel,
        id_columns: Sequence[str],
        reasons: ReasonFinder | None = None,
    ) -> None:
        self.model = model
        self.id_columns = list(id_columns)
        self.reasons = reasons
        self.preprocess = model.pipeline.named_steps["preprocess"]
        self.classifier = model.pipeline.named_steps["classifier"]
        self.positive_column = positive_column(self.classifier.classes_, model.positive)

    def __call__(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Every row of ``chunk``, in order, scored or rejected."""
        chunk = chunk.reset_index(drop=True)  # positions: Ray hands batches any index
        typed, rejected = check_rows(chunk, self.model.contract)
        out = chunk[self.id_columns].copy()
        out[PROBABILITY] = np.nan
        out[PREDICTED] = pd.array([None] * len(chunk), dtype="Int64")
        for name in reason_columns(self.reasons.count if self.reasons else 0):
            out[name] = np.nan if name.endswith("_shap") else None
        if len(typed):
            encoded = encode(self.preprocess, typed)
            # one predict_proba gives both: the predicted label is the likeliest class
            probabilities = self.classifier.predict_proba(encoded)
            found = {
                PROBABILITY: probabilities[:, self.positive_column],
                PREDICTED: (
                    probabilities.argmax(axis=1) == self.positive_column
                ).astype(int),
            }
            if self.reasons is not None:
                found |= dict(self.reasons(encoded).items())
            for name, values in found.items():
                out.loc[typed.index, name] = np.asarray(values)
        out[REJECTED] = rejected.reindex(out.index)
        inputs = typed.reindex(out.index).add_prefix(INPUT_PREFIX)
        frame = pd.concat([out, inputs], axis=1)
        # text as pandas strings, not Python objects: they cross to Ray as Arrow text
        texts = frame.select_dtypes(include="object").columns
        return frame.astype(dict.fromkeys(texts, "str"))
