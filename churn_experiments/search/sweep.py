"""What a sweep's config says about its search: the study, the swept parameters."""

from __future__ import annotations

from omegaconf import DictConfig

from churn_experiments.labels import MODEL_PREFIX, display_key

SWEEPER = "hydra_plugins.churn_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def is_search(config: DictConfig) -> bool:
    """Whether the multirun ``config`` runs on the Optuna sweeper."""
    return config.hydra.sweeper.get("_target_") == SWEEPER


def study_of(config: DictConfig) -> tuple[str, str] | None:
    """The search's (study name, storage URL), or ``None`` for another sweep."""
    if not is_search(config) or not config.hydra.sweeper.get("storage"):
        return None
    return str(config.hydra.sweeper.study_name), str(config.hydra.sweeper.storage)


def swept_keys(config: DictConfig) -> list[str]:
    """The keys a sweep varies (``model.max_depth``), for sweepers that decide as they
    go: ``hydra.sweeper.params`` (a search) and the command line's sweeps."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    keys = [
        override.key_or_group
        for override in OverridesParser.create().parse_overrides(lines)
        if override.is_sweep_override()
    ]
    return list(dict.fromkeys(keys))


def swept_params(config: DictConfig) -> list[str]:
    """The model hyperparameters the sweep varies, as the runs log them (``max_depth``,
    ``estimator__C``)."""
    return [
        display_key(key) for key in swept_keys(config) if key.startswith(MODEL_PREFIX)
    ]
