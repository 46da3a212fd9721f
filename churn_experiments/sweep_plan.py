"""The jobs a multirun will launch, known before the first one starts."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def planned_jobs(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides, as Hydra's basic sweeper will run them; None for other
    sweepers (they decide as they go).

    Every job's config is composed now, as that sweeper does before launching, so a
    misspelled choice (``model=lr,xyz``) fails before anything is recorded. Under
    Hydra's in-process launcher the sweeper's check and the launcher then reuse these
    compositions (:class:`ComposedOnce`) instead of composing each job twice more.
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
    in_process = config.hydra.launcher.get("_target_") == BASIC_LAUNCHER
    if loader and in_process and not isinstance(loader.load_sweep_config, ComposedOnce):
        loader.load_sweep_config = ComposedOnce(loader.load_sweep_config)
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


class ComposedOnce:
    """A config loader's ``load_sweep_config``, composing each job's config once.

    Hydra composes every job of a basic sweep three times: once in our check above,
    once in its sweeper's check and once to launch it (0.2 s each here). Later calls
    get a copy of the first composition, with the sweep's resolver cache copied in
    afresh as Hydra's own ``load_sweep_config`` does (``${now:...}`` stays the
    sweep's). Kept for the loader's life: one ``hydra.main`` call.
    """

    def __init__(self, load: Callable[[DictConfig, list[str]], DictConfig]) -> None:
        self._load = load
        self._composed: dict[tuple[int, tuple[str, ...]], DictConfig] = {}

    def __call__(
        self, master_config: DictConfig, sweep_overrides: Sequence[str]
    ) -> DictConfig:
        key = (id(master_config), tuple(sweep_overrides))
        if key not in self._composed:
            self._composed[key] = self._load(master_config, list(sweep_overrides))
        composed: Any = copy.deepcopy(self._composed[key])
        OmegaConf.copy_cache(from_config=master_config, to_config=composed)
        return composed
