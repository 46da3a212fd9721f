"""Why a customer scores high: the columns whose SHAP values push the score up most.

Reuses :mod:`churn_experiments.explain`: Tree or Linear SHAP where the classifier
allows, permutation or kernel SHAP otherwise (within ``explain.agnostic``), with
one-hot features summed back into the user's columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churn_experiments.explain.aggregate import aggregate, column_groups
from churn_experiments.explain.explainers import (
    MODEL_AGNOSTIC,
    agnostic_plan,
    choose_explainer,
    encode,
    shap_values,
    summarised,
)


def reason_columns(count: int) -> list[str]:
    """``reason_1, reason_1_shap, ..., reason_N, reason_N_shap``."""
    return [
        name
        for i in range(1, count + 1)
        for name in (f"reason_{i}", f"reason_{i}_shap")
    ]


class ReasonFinder:
    """The top ``count`` columns by positive SHAP value, for encoded rows.

    ``settings`` are ``conf/explain``'s keys (``explainer``, ``background_size``,
    ``seed``, ``agnostic``); ``background`` holds raw training rows, needed by every
    explainer but Tree SHAP (permutation and kernel SHAP get their k-means summary
    and the coalitions per row that ``explain.agnostic`` allows).
    """

    def __init__(
        self,
        pipeline: Any,
        positive: Any,
        count: int,
        settings: Mapping[str, Any],
        background: pd.DataFrame | None,
    ) -> None:
        preprocess = pipeline.named_steps["preprocess"]
        self.classifier = pipeline.named_steps["classifier"]
        self.positive = positive
        self.count = count
        self.seed = settings["seed"]
        self.feature_names = [str(n) for n in preprocess.get_feature_names_out()]
        self.groups = column_groups(preprocess)
        self.columns = np.array(list(self.groups), dtype=object)
        kind = settings["explainer"]
        budget = settings["agnostic"]
        self.kind = (
            choose_explainer(self.classifier, len(self.feature_names), budget)
            if kind == "auto"
            else kind
        )
        self.coalitions = None
        self.training_rows = background  # as given: Ray actors rebuild from it
        self.background: Any = np.empty((0, len(self.feature_names)))
        if background is not None and self.agnostic:
            self.background = summarised(
                preprocess, background, budget["background"], self.seed
            )
            self.coalitions = agnostic_plan(
                self.kind, len(self.feature_names), budget["rows"], budget
            )[1]
        elif background is not None:
            sample = background.sample(
                n=min(settings["background_size"], len(background)),
                random_state=self.seed,
            )
            self.background = encode(preprocess, sample)

    @property
    def agnostic(self) -> bool:
        """Whether the explainer calls the model per row (permutation or kernel)."""
        return self.kind in MODEL_AGNOSTIC

    @property
    def needs_background(self) -> bool:
        """Every explainer but Tree SHAP compares rows with training rows."""
        return self.kind != "tree"

    def __call__(self, encoded: np.ndarray) -> pd.DataFrame:
        """One row per encoded row: ``reason_i`` (a column name) and ``reason_i_shap``.

        A slot stays empty when fewer than ``count`` columns push the score up.
        """
        values, _, _ = shap_values(
            self.classifier,
            self.kind,
            encoded,
            self.background,
            self.seed,
            self.positive,
            self.coalitions,
        )
        by_column = aggregate(values, self.feature_names, self.groups)
        order = np.argsort(-by_column, axis=1, kind="stable")[:, : self.count]
        top = np.take_along_axis(by_column, order, axis=1)
        names = self.columns[order]
        reasons = {}
        for i in range(order.shape[1]):
            pushes_up = top[:, i] > 0
            reasons[f"reason_{i + 1}"] = np.where(pushes_up, names[:, i], None)
            reasons[f"reason_{i + 1}_shap"] = np.where(pushes_up, top[:, i], np.nan)
        return pd.DataFrame(reasons)
