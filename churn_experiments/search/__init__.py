"""Hyperparameter search: the project's side of the Optuna sweeper (conf/search/).

The sweeper (``plugins/hydra_plugins/churn_optuna_sweeper``) asks Optuna for trials
and launches them; this package checks a search before anything is recorded, gives
each trial's run its tags and pruning reports, and records the study on the parent.
"""

from churn_experiments.search.checks import check_trial_config, preflight
from churn_experiments.search.sweep import (
    is_search,
    study_of,
    swept_keys,
    swept_params,
)
from churn_experiments.search.trial import Trial, is_pruned

__all__ = [
    "Trial",
    "check_trial_config",
    "is_pruned",
    "is_search",
    "preflight",
    "study_of",
    "swept_keys",
    "swept_params",
]
