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

    from churn_experiments.train import train

    try:
        metrics = train(cfg)
    except Exception as err:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            log.error("job failed, the sweep goes on: %s: %s", type(err).__name__, err)
            return math.nan
        if isinstance(err, ChurnExperimentsError):
            log.error("%s", err)
            sys.exit(1)
        raise
    return metrics.get(cfg.leaderboard.sort_by, math.nan)


if __name__ == "__main__":
    from churn_experiments.cli import CONF_DIR
    from churn_experiments.validation import check_yaml_syntax, config_dirs

    try:
        check_yaml_syntax(config_dirs(sys.argv[1:], CONF_DIR))
    except ChurnExperimentsError as err:
        sys.exit(f"Error: {err}")
    main()
