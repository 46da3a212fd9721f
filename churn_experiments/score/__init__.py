"""Batch scoring of a customer table: ``churn-score``.

:func:`score` does the same from Python with a :class:`ScoreSettings`.
"""

from churn_experiments.score.model import ScoreError
from churn_experiments.score.run import ScoreResult, ScoreSettings, score

__all__ = ["ScoreError", "ScoreResult", "ScoreSettings", "score"]
