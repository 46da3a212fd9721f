"""Stratified k-fold scores on the training split: ``cv_<metric>_mean`` and ``_std``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from churn_experiments.data import Split
from churn_experiments.metric_names import CV_STATS, cv_name

# called after each fold with its index and each score's mean over the folds so far;
# it may raise (optuna.TrialPruned) to stop
FoldReporter = Callable[[int, Mapping[str, float]], None]


def cv_scores(
    pipeline: Any,
    split: Split,
    folds: int,
    seed: int,
    group_duplicates: bool = False,
    on_fold: FoldReporter | None = None,
) -> dict[str, float]:
    """Fit a clone of ``pipeline`` on each of ``folds`` folds of the training split.

    The folds are stratified by the target and shuffled with ``seed``. With
    ``group_duplicates`` identical rows stay in one fold, as the dataset's split
    keeps them on one side. The test split is never touched.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from churn_experiments.evaluation import score

    X, y = split.X_train, split.y_train
    splitter = (StratifiedGroupKFold if group_duplicates else StratifiedKFold)(
        n_splits=folds, shuffle=True, random_state=seed
    )
    groups = (
        pd.util.hash_pandas_object(pd.concat([X, y], axis=1), index=False)
        if group_duplicates
        else None
    )
    per_fold: list[dict[str, float]] = []
    for fold, (fit_rows, held_rows) in enumerate(splitter.split(X, y, groups)):
        model = clone(pipeline).fit(X.iloc[fit_rows], y.iloc[fit_rows])
        held = Split(
            X.iloc[fit_rows],
            X.iloc[held_rows],
            y.iloc[fit_rows],
            y.iloc[held_rows],
            split.positive,
        )
        per_fold.append(score(model, held))
        if on_fold is not None:
            on_fold(
                fold, {k: float(np.mean([s[k] for s in per_fold])) for k in per_fold[0]}
            )
    return {
        cv_name(name, stat): float(getattr(np, stat)([s[name] for s in per_fold]))
        for name in per_fold[0]
        for stat in CV_STATS
    }
