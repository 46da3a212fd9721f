"""Score a fitted pipeline on its split and draw the evaluation plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from churn_experiments.data import Split
from churn_experiments.errors import ConfigError
from churn_experiments.metric_names import SCORES

METRIC_NAMES = SCORES  # what score() returns


def positive_column(classes: Any, positive: Any) -> int:
    """Where ``positive`` sits in a fitted classifier's ``classes_``.

    Raises :class:`ConfigError` naming the classes when the model never saw the label.
    """
    labels = np.asarray(classes).tolist()
    if positive not in labels:
        raise ConfigError(
            f"dataset.target.positive: the model's classes are {labels}, not "
            f"{positive!r}; it was trained on another target"
        )
    return labels.index(positive)


def positive_scores(
    model: Any, X: Any, positive: Any, probabilities: bool = True
) -> tuple[np.ndarray, bool]:
    """Scores for the ``positive`` label: higher means more likely positive.

    ``model`` is a fitted classifier or pipeline. Probabilities are taken from the
    column of ``classes_`` that holds ``positive``. A model without ``predict_proba``
    (an SVC with ``probability: false``), or a call with ``probabilities=False``,
    gets its ``decision_function``, negated when ``positive`` is ``classes_[0]``.
    Returns the scores and whether they are probabilities. Every consumer (metrics,
    plots, policy comparisons, SHAP) reads positive-class scores through this function.
    """
    column = positive_column(model.classes_, positive)
    if probabilities and hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, column], True
    scores = model.decision_function(X)
    return (scores if column == 1 else -scores), False


def score(pipeline: Any, split: Split) -> dict[str, float]:
    """The test metrics of ``pipeline`` (and train accuracy) on ``split``.

    ``test_log_loss`` needs probabilities, so it is left out for a model that has none.
    """
    from sklearn import metrics

    positive = split.positive
    predicted = pipeline.predict(split.X_test)
    scores, are_probabilities = positive_scores(pipeline, split.X_test, positive)
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


def evaluation_figures(pipeline: Any, split: Split) -> dict[str, Any]:
    """Confusion matrix, ROC and precision-recall figures drawn by scikit-learn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        PrecisionRecallDisplay,
        RocCurveDisplay,
    )

    positive = split.positive
    scores, _ = positive_scores(pipeline, split.X_test, positive)
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
