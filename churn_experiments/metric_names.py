"""The one list of metric names a run logs; schemas, guards and the leaderboard derive
from it."""

from __future__ import annotations

# what evaluation.score logs for the held-out test split (and train accuracy)
SCORES = (
    "train_accuracy",
    "test_accuracy",
    "test_precision",
    "test_recall",
    "test_f1",
    "test_roc_auc",
    "test_log_loss",
)
TEST_SCORES = tuple(name for name in SCORES if name.startswith("test_"))
# lower is better for these; every other score is higher-is-better
LOSSES = ("test_log_loss",)
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
