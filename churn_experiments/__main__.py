"""``churn`` (``python -m churn_experiments``): one job, or a sweep (``-m ...``)."""

from __future__ import annotations

import logging
import math
import sys

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, run_command
from churn_experiments.errors import ChurnExperimentsError

log = logging.getLogger("churn_experiments")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def main(cfg: DictConfig) -> float:
    """Train the configured model; return the leaderboard metric (for Hydra sweepers).

    A single run given policies (``policy=best_f1``) applies them after the run, as
    a sweep does after its jobs.

    In a sweep a failed job is recorded (FAILED run with its error) and the sweep goes
    on; the sweep's callback names the failures and exits non-zero at the end.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from churn_experiments.checks import check_policies
    from churn_experiments.search import Trial, is_pruned
    from churn_experiments.sources import Sources
    from churn_experiments.train import train

    hydra_cfg = HydraConfig.get()  # read once here; the library takes arguments
    sources = Sources.from_hydra(hydra_cfg)
    single = hydra_cfg.mode != RunMode.MULTIRUN
    try:
        # a sweep's policies are its callback's; a single run's are checked here
        policies = check_policies(cfg, sources) if single else []
        metrics = train(cfg, sources, Trial.from_hydra(hydra_cfg))
        if policies:  # the run is a sweep of one: see policy.engine.decide
            from churn_experiments.policy import apply_policies

            apply_policies(policies, run_id=metrics["run_id"])
    except Exception as err:
        if is_pruned(err):  # the Optuna sweeper records the trial as pruned
            raise
        if not single:
            log.error("job failed, the sweep goes on: %s: %s", type(err).__name__, err)
            return math.nan
        if isinstance(err, ChurnExperimentsError):  # one line, as every command's
            sys.exit(f"error: {err}")
        raise
    return metrics.get(cfg.leaderboard.sort_by, math.nan)


def run() -> None:
    """The command: ``main`` under a guard that never leaves a sweep RUNNING.

    Ctrl-C or SIGTERM ends the open runs as KILLED, prints one line and exits with
    128 + the signal (130 for Ctrl-C). Any other early stop (Hydra refused a job's
    config, say) ends the open sweep as FAILED.
    """
    from churn_experiments import interrupts
    from churn_experiments.sweep_callback import end_open_sweep

    interrupts.raise_on_sigterm()
    try:
        run_command(main)
    except KeyboardInterrupt as err:
        interrupts.ignore_further()
        name = interrupts.signal_name(err)
        summary = end_open_sweep("KILLED", f"interrupted by {name}") or _last_run()
        label = "interrupted" if name == "SIGINT" else f"interrupted ({name})"
        print(f"{label}: {summary}" if summary else label, file=sys.stderr)
        sys.exit(interrupts.exit_code(err))
    except SystemExit as stop:
        if stop.code not in (None, 0):
            end_open_sweep("FAILED", f"the sweep stopped before its end ({stop})")
        raise


def _last_run() -> str | None:
    """``run <id> KILLED`` for the run a single job left, if it opened one."""
    if "mlflow" not in sys.modules:
        return None
    import mlflow

    run = mlflow.last_active_run()
    return f"run {run.info.run_id} {run.info.status}" if run else None


if __name__ == "__main__":
    exit_after(run)
