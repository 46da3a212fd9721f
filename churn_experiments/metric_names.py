"""The one list of metrics a run logs, with how each is computed; schemas, guards, the
leaderboard, evaluation and the policy's resampling derive from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where both are 0 (no positive predicted...)."""
    return numerator / np.maximum(denominator, 1)


def _roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(truth, scores)


def _log_loss(truth: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    return log_loss(truth, scores, labels=[False, True])


@dataclass(frozen=True)
class Score:
    """One score a run logs, and how it is computed from the positive label.

    ``counts`` takes the confusion counts (tp, fp, fn, tn: numbers, or arrays with
    one entry per bootstrap sample); ``ranking`` takes whether each row is positive
    and its positive-class scores. ``split`` is the split it is measured on.
    """

    name: str
    counts: Callable[..., np.ndarray] | None = None
    ranking: Callable[[np.ndarray, np.ndarray], float] | None = None
    split: str = "test"
    probabilities: bool = False  # logged only for a model with predict_proba
    loss: bool = False  # lower is better


def _accuracy(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray
) -> np.ndarray:
    return (tp + tn) / (tp + fp + fn + tn)


# what evaluation.score logs for the held-out test split (and train accuracy):
# adding a Score here is all a new metric needs (schemas, guards, leaderboard,
# the policy's comparison and cross-validation derive from this list)
DEFINITIONS = (
    Score("train_accuracy", counts=_accuracy, split="train"),
    Score("test_accuracy", counts=_accuracy),
    Score("test_precision", counts=lambda tp, fp, fn, tn: _ratio(tp, tp + fp)),
    Score("test_recall", counts=lambda tp, fp, fn, tn: _ratio(tp, tp + fn)),
    Score("test_f1", counts=lambda tp, fp, fn, tn: _ratio(2 * tp, 2 * tp + fp + fn)),
    Score("test_roc_auc", ranking=_roc_auc),
    Score("test_log_loss", ranking=_log_loss, probabilities=True, loss=True),
)
SCORES = tuple(score.name for score in DEFINITIONS)
TEST_SCORES = tuple(score.name for score in DEFINITIONS if score.split == "test")
# lower is better for these; every other score is higher-is-better
LOSSES = tuple(score.name for score in DEFINITIONS if score.loss)
# statistics of a score over the folds of cross-validation (evaluation.cv.folds)
CV_STATS = ("mean", "std")


def cv_name(score: str, stat: str) -> str:
    """``cv_test_f1_mean``: ``stat`` of ``score`` over the cross-validation folds."""
    return f"cv_{score}_{stat}"


CV_METRICS = tuple(cv_name(score, stat) for score in SCORES for stat in CV_STATS)
# what a policy may rank by: held-out scores and their cross-validated means
SELECTABLE = (*TEST_SCORES, *(cv_name(score, "mean") for score in TEST_SCORES))
# every metric a run may log: what guards, tie-breakers and the leaderboard may name
LOGGED = (*SCORES, *CV_METRICS, "fit_seconds")


def definition(name: str) -> Score:
    """The :class:`Score` called ``name``; KeyError when no score is."""
    return {score.name: score for score in DEFINITIONS}[name]


def confusion(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, ...]:
    """tp, fp, fn, tn over the last axis of boolean ``truth`` and ``predicted``."""
    return (
        (truth & predicted).sum(axis=-1),
        (~truth & predicted).sum(axis=-1),
        (truth & ~predicted).sum(axis=-1),
        (~truth & ~predicted).sum(axis=-1),
    )


def held_out_score(metric: str) -> str:
    """The test-split score behind ``metric``: ``cv_test_f1_mean`` -> ``test_f1``.

    The policy's champion comparison re-scores models on held-out rows, so a
    cross-validated select metric is compared through the score it averages.
    """
    for score in SCORES:
        if metric in (score, *(cv_name(score, stat) for stat in CV_STATS)):
            return score
    raise ValueError(f"{metric!r} is not a logged score")


def guard_schema() -> dict[str, str]:
    """JSON Schema keywords for a guard (``test_roc_auc >= 0.80``) over ``LOGGED``."""
    name = "(" + "|".join(LOGGED) + ")"
    return {
        "description": "a guard like 'test_roc_auc >= 0.80': metric names joined by +"
        " or -, one of the operators >=, <=, >, <, then a number; metrics: "
        + ", ".join((*SCORES, "fit_seconds"))
        + ", and cv_<metric>_mean, cv_<metric>_std of each score",
        "pattern": rf"^\s*{name}(\s*[-+]\s*{name})*\s*(>=|<=|>|<)\s*"
        r"[-+]?(\d+\.?\d*|\.\d+)\s*$",
    }
