"""Configuration of the Ray launcher, registered as ``hydra/launcher=ray``."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class RayLauncherConf:
    _target_: str = "hydra_plugins.churn_ray_launcher.ray_launcher.RayLauncher"

    # cluster to use: "auto", "ray://host:10001" or "host:6379"; null starts a local one
    address: str | None = "${oc.env:RAY_ADDRESS,null}"
    # CPUs of the local cluster started when address is null; null: all of this machine
    num_cpus: int | None = None
    # CPUs that Ray reserves for each job; fractions let jobs share a CPU
    num_cpus_per_job: float = 1
    # extra keyword arguments for ray.init (object_store_memory, include_dashboard, ...)
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    # ray.shutdown() after the jobs if this launcher called ray.init
    shutdown_after: bool = True


ConfigStore.instance().store(
    group="hydra/launcher",
    name="ray",
    node=RayLauncherConf,
    provider="churn_ray_launcher",
)
