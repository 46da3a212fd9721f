"""Score a fitted pipeline on its split and draw the evaluation plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from churn_experiments.data import Split
from churn_experiments.metric_names import SCORES

METRIC_NAMES = SCORES  # what score() returns


def positive_scores(pipeline: Any, X: Any) -> tuple[np.ndarray, bool]:
    """Scores for the positive class: probabilities when the model has them.

    Returns the scores and whether they are probabilities. A model without
    ``predict_proba`` (an SVC with ``probability: false``) falls back to its
    ``decision_function``, which ranks rows just as well for ROC AUC.
    """
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(X)[:, 1], True
    return pipeline.decision_function(X), False


def score(pipeline: Any, split: Split, positive: Any = 1) -> dict[str, float]:
    """The test metrics of ``pipeline`` (and train accuracy) on ``split``.

    ``test_log_loss`` needs probabilities, so it is left out for a model that has none.
    """
    from sklearn import metrics

    predicted = pipeline.predict(split.X_test)
    scores, are_probabilities = positive_scores(pipeline, split.X_test)
    truth = split.y_test == positive
    result = {
        "train_accuracy": metrics.accuracy_score(
            split.y_train, pipeline.predict(split.X_train)
        ),
        "test_accuracy": metrics.accuracy_score(split.y_test, predicted),
        "test_precision": metrics.precision_score(
            split.y_test, predicted, pos_label=positive, zero_division=0
        ),
        "test_recall": metrics.recall_score(
            split.y_test, predicted, pos_label=positive
        ),
        "test_f1": metrics.f1_score(split.y_test, predicted, pos_label=positive),
        "test_roc_auc": metrics.roc_auc_score(truth, scores),
    }
    if are_probabilities:
        result["test_log_loss"] = metrics.log_loss(truth, scores)
    return {name: float(value) for name, value in result.items()}


def evaluation_figures(
    pipeline: Any, split: Split, positive: Any = 1
) -> dict[str, Any]:
    """Confusion matrix, ROC and precision-recall figures drawn by scikit-learn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        PrecisionRecallDisplay,
        RocCurveDisplay,
    )

    scores, _ = positive_scores(pipeline, split.X_test)
    figures = {}
    for name, draw in (
        (
            "confusion_matrix.png",
            lambda ax: ConfusionMatrixDisplay.from_predictions(
                split.y_test, pipeline.predict(split.X_test), ax=ax, colorbar=False
            ),
        ),
        (
            "roc_curve.png",
            lambda ax: RocCurveDisplay.from_predictions(
                split.y_test, scores, pos_label=positive, ax=ax, plot_chance_level=True
            ),
        ),
        (
            "precision_recall_curve.png",
            lambda ax: PrecisionRecallDisplay.from_predictions(
                split.y_test, scores, pos_label=positive, ax=ax, plot_chance_level=True
            ),
        ),
    ):
        figure, ax = plt.subplots(figsize=(5, 4), dpi=100)
        draw(ax)
        ax.set_title(name.removesuffix(".png").replace("_", " "))
        figure.tight_layout()
        figures[name] = figure
    return figures
