"""Configuration of the Optuna sweeper, registered as ``hydra/sweeper=churn_optuna``."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.churn_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    # the sweeper builds sampler and pruner itself (a resumed study offsets the seed)
    _recursive_: bool = False

    # the study's name in `storage`: a later sweep with the same name resumes it
    study_name: str | None = None
    # Optuna storage URL (sqlite:///optuna.db, postgresql://...); null: in memory
    storage: str | None = None
    # maximize or minimize the value each job returns
    direction: str = "maximize"
    # trials this sweep adds to the study
    n_trials: int = 20
    # trials asked together and launched as one batch (parallel on joblib or Ray)
    n_jobs: int = 1
    # the sampler: an optuna.samplers class and its arguments
    sampler: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None}
    )
    # null, or a pruner (optuna.pruners.MedianPruner) that jobs consult via the study
    pruner: dict[str, Any] | None = None
    # the search space: key -> Hydra sweep (interval, int(interval), range, choice)
    params: dict[str, str] = field(default_factory=dict)
    # dotted path of a function called with the composed config of each end of the
    # space before the first trial (it raises to reject a value); null: none
    check: str | None = None
    # set by the sweeper in each job's config: the job's trial number in the study
    trial: int | None = None


ConfigStore.instance().store(
    group="hydra/sweeper",
    name="churn_optuna",
    node=OptunaSweeperConf,
    provider="churn_optuna_sweeper",
)
