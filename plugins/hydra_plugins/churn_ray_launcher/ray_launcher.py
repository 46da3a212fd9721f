"""The Launcher class; Ray itself is imported only when jobs are launched."""

from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class RayLauncher(Launcher):
    """Submit each job of a sweep as a Ray task and collect its ``JobReturn``."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        num_cpus_per_job: float = 1,
        init_kwargs: Mapping[str, Any] | None = None,
        shutdown_after: bool = True,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_cpus_per_job = num_cpus_per_job
        # Hydra passes the config node as a DictConfig; ray.init wants plain dicts
        self.init_kwargs: dict[str, Any] = (
            OmegaConf.to_container(init_kwargs, resolve=True)  # type: ignore[assignment]
            if isinstance(init_kwargs, DictConfig)
            else dict(init_kwargs or {})
        )
        self.shutdown_after = shutdown_after
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from . import _core

        return _core.launch(self, job_overrides, initial_job_idx)
