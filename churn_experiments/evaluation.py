"""Score a fitted pipeline on its split and draw the evaluation plots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from churn_experiments import metric_names
from churn_experiments.data import Split
from churn_experiments.errors import ConfigError

METRIC_NAMES = metric_names.SCORES  # what score() returns


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


@dataclass(frozen=True)
class Predictions:
    """One pass of a fitted pipeline over each split, shared by metrics and plots."""

    train_labels: np.ndarray
    test_labels: np.ndarray
    test_scores: np.ndarray  # positive-class scores, see positive_scores
    are_probabilities: bool


def predict(pipeline: Any, split: Split) -> Predictions:
    """Labels on both splits and positive-class scores on the test split."""
    scores, are_probabilities = positive_scores(pipeline, split.X_test, split.positive)
    return Predictions(
        train_labels=np.asarray(pipeline.predict(split.X_train)),
        test_labels=np.asarray(pipeline.predict(split.X_test)),
        test_scores=np.asarray(scores),
        are_probabilities=are_probabilities,
    )


def score(pipeline: Any, split: Split) -> dict[str, float]:
    """The test metrics of ``pipeline`` (and train accuracy) on ``split``."""
    return score_predictions(predict(pipeline, split), split)


def score_predictions(predictions: Predictions, split: Split) -> dict[str, float]:
    """The scores of :mod:`.metric_names` for ``predictions`` made on ``split``.

    A score that needs probabilities (``test_log_loss``) is left out for a model that
    has none.
    """
    positive = split.positive
    truth = np.asarray(split.y_test == positive)
    confusion = {
        "train": metric_names.confusion(
            np.asarray(split.y_train == positive),
            predictions.train_labels == positive,
        ),
        "test": metric_names.confusion(truth, predictions.test_labels == positive),
    }
    result = {}
    for score in metric_names.DEFINITIONS:
        if score.counts is not None:
            result[score.name] = score.counts(*confusion[score.split])
        elif predictions.are_probabilities or not score.probabilities:
            result[score.name] = score.ranking(truth, predictions.test_scores)
    return {name: float(value) for name, value in result.items()}


def evaluation_figures(
    truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray, positive: Any
) -> dict[str, Any]:
    """Confusion matrix, ROC and precision-recall figures drawn by scikit-learn.

    Takes plain arrays (the test labels, predictions and positive-class scores), so
    that :mod:`churn_experiments.figures` can draw them in its worker process.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        PrecisionRecallDisplay,
        RocCurveDisplay,
    )

    figures = {}
    for name, draw in (
        (
            "confusion_matrix.png",
            lambda ax: ConfusionMatrixDisplay.from_predictions(
                truth, predicted, ax=ax, colorbar=False
            ),
        ),
        (
            "roc_curve.png",
            lambda ax: RocCurveDisplay.from_predictions(
                truth, scores, pos_label=positive, ax=ax, plot_chance_level=True
            ),
        ),
        (
            "precision_recall_curve.png",
            lambda ax: PrecisionRecallDisplay.from_predictions(
                truth, scores, pos_label=positive, ax=ax, plot_chance_level=True
            ),
        ),
    ):
        figure, ax = plt.subplots(figsize=(5, 4), dpi=100)
        draw(ax)
        ax.set_title(name.removesuffix(".png").replace("_", " "))
        figure.tight_layout()
        figures[name] = figure
    return figures
