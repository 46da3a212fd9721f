"""The jobs a multirun will launch, known before the first one starts."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def planned_jobs(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides, as Hydra's basic sweeper will run them; None for other
    sweepers (they decide as they go).

    Every job's config is composed now, as that sweeper does before launching, so a
    misspelled choice (``model=lr,xyz``) fails before anything is recorded.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    hydra = GlobalHydra.instance()
    loader = hydra.config_loader() if hydra.is_initialized() else None
    arguments = [*_sweeper_params(config.hydra.sweeper), *config.hydra.overrides.task]
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    (jobs,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    for job in jobs if loader else ():  # outside a Hydra app there is none to ask
        try:
            loader.load_sweep_config(config, list(job))
        except HydraException as err:  # one line, without Hydra's search path
            said = " ".join(str(err).split("Config search path")[0].split())
            raise ConfigError(f"the sweep's job {' '.join(job)!r}: {said}") from None
    return jobs


def _sweeper_params(sweeper: DictConfig) -> list[str]:
    params = sweeper.get("params")
    if not params:
        return []
    return [f"{key}={value}" for key, value in OmegaConf.to_container(params).items()]
