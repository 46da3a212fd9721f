"""``python -m churn_experiments``: one job, or a sweep (``-m model=lr,rf,svc,gb``)."""

from __future__ import annotations

import logging
import math
import sys

import hydra
from omegaconf import DictConfig

from churn_experiments.errors import ChurnExperimentsError

log = logging.getLogger("churn_experiments")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Train the configured model; return the leaderboard metric (for Hydra sweepers).

    In a sweep a failed job is recorded (FAILED run with its error) and the sweep goes
    on; the sweep's callback names the failures and exits non-zero at the end.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from churn_experiments.search import Trial, is_pruned
    from churn_experiments.train import train

    try:
        metrics = train(cfg, Trial.from_hydra(HydraConfig.get()))
    except Exception as err:
        if is_pruned(err):  # the Optuna sweeper records the trial as pruned
            raise
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            log.error("job failed, the sweep goes on: %s: %s", type(err).__name__, err)
            return math.nan
        if isinstance(err, ChurnExperimentsError):
            log.error("%s", err)
            sys.exit(1)
        raise
    return metrics.get(cfg.leaderboard.sort_by, math.nan)


if __name__ == "__main__":
    main()
