"""Checks of a search that run before the sweep records anything."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError
from churn_experiments.metric_names import CV_METRICS
from churn_experiments.search.sweep import is_search


def check_trial_config(cfg: DictConfig) -> None:
    """Reject a trial's config that its job would reject (the sweeper's ``check``).

    Checks the schemas, the hyperparameter names and the estimator's own parameter
    constraints (scikit-learn's, without fitting). Errors name the files its
    ``hydra`` node (the sweeper composes one) tells.
    """
    from churn_experiments.pipeline import build_classifier
    from churn_experiments.sources import Sources
    from churn_experiments.validation import validate_config

    sources = Sources.from_hydra(cfg.hydra) if "hydra" in cfg else Sources()
    validate_config(cfg, sources=sources)
    classifier = build_classifier(cfg.model, sources.file("model"))
    if hasattr(classifier, "_validate_params"):
        classifier._validate_params()


def preflight(config: DictConfig) -> None:
    """Check a search (a multirun on the Optuna sweeper) before the parent run opens.

    Each end of the search space is composed and checked as a trial's config, so a
    bad space stops with one line before the first trial. Raises ConfigError.
    """
    if not is_search(config):
        return
    sweeper = config.hydra.sweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra_plugins.churn_optuna_sweeper.space import (
        SearchSpaceError,
        check_space,
        parse_space,
    )

    _check_objective(config)
    try:
        resolved = OmegaConf.to_container(sweeper, resolve=True)
    except Exception as err:  # e.g. an unset variable in tracking.study_storage
        raise ConfigError(f"hydra.sweeper: {_cause(err)}") from None
    if resolved["storage"] is None:
        raise ConfigError(
            "hydra.sweeper.storage is null, so the study could not be resumed or "
            "pruned: the tracking store is no SQLite file to keep optuna.db beside; "
            "set tracking.study_storage (CHURN_STUDY_STORAGE with tracking=server) "
            "to a database URL"
        )
    from churn_experiments.search.storage import prepare

    try:
        space = parse_space(sweeper.params, list(config.hydra.overrides.task))
        if not space.distributions:
            raise SearchSpaceError("search space: hydra.sweeper.params sweeps no key")
        loader = GlobalHydra.instance().config_loader()
        check_space(space, config, loader, sweeper.get("check"))
    except SearchSpaceError as err:
        raise ConfigError(str(err)) from None
    prepare(resolved["storage"])


def _check_objective(config: DictConfig) -> None:
    objective, ascending = config.leaderboard.sort_by, config.leaderboard.ascending
    direction = config.hydra.sweeper.direction
    if (direction == "minimize") != bool(ascending):
        raise ConfigError(
            f"hydra.sweeper.direction: {direction} disagrees with leaderboard.ascending"
            f": {ascending} (the search optimises leaderboard.sort_by, {objective})"
        )
    folds = config.get("evaluation", {}).get("cv", {}).get("folds")
    if objective in CV_METRICS and not folds:
        raise ConfigError(
            f"leaderboard.sort_by: {objective} needs cross-validation; set "
            "evaluation.cv.folds (5, say)"
        )


def _cause(err: BaseException) -> Any:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err).splitlines()[0]
