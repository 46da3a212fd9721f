"""``churn-promote`` (``python -m churn_experiments.promote``): apply policies on
demand, print the decision ledger, roll an alias back, break a policy lock.

    churn-promote policy=best_f1 [dry_run=true] [sweep=RUN_ID] [strict=true]
    churn-promote action=history [alias=champion] [history.limit=50]
    churn-promote action=rollback alias=champion [dry_run=true]
    churn-promote action=unlock [registered_model=NAME]

Its config is ``conf/promote.yaml`` over the training config, so ``dataset=...``,
``tracking=server`` and ``--config-dir`` mean what they mean to ``churn``.
"""

from __future__ import annotations

import logging
import os
import sys

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command
from churn_experiments.errors import ChurnExperimentsError, ConfigError

ACTIONS = ("apply", "history", "rollback", "unlock")
EXIT_REFUSED = 3  # strict=true and a selected policy was refused

log = logging.getLogger("churn_experiments.promote")


def promote(cfg: DictConfig, config_sources: list) -> int:
    """Run ``cfg.action``, print its tables; the exit code (0, or 3 under strict)."""
    import mlflow

    from churn_experiments import tracking
    from churn_experiments.policy import engine, ledger, plan

    if cfg.action not in ACTIONS:
        raise ConfigError(f"action={cfg.action}: allowed: {', '.join(ACTIONS)}")
    if cfg.action == "apply" and cfg.get("policy") is None:
        raise ConfigError("select a policy: policy=best_f1 or 'policy=[a,b]'")
    if cfg.action == "rollback" and not cfg.alias:
        raise ConfigError("action=rollback needs alias=NAME, e.g. alias=champion")
    tracking.configure(cfg.tracking)
    if cfg.action == "history":
        runs = ledger.history(
            mlflow.MlflowClient(),
            cfg.history.model,
            cfg.alias,
            cfg.history.policy,
            cfg.history.limit,
        )
        print(plan.render_history(runs))
        return 0
    if cfg.action == "unlock":
        from churn_experiments.policy import registry

        print(registry.unlock(mlflow.MlflowClient(), cfg.registered_model))
        return 0
    if cfg.dry_run:
        print("DRY RUN: nothing is changed or recorded.\n")
    if cfg.action == "rollback":
        decision = ledger.rollback(cfg.registered_model, cfg.alias, dry_run=cfg.dry_run)
        print(plan.render(decision))
        return 0
    from churn_experiments.policy.spec import load_policies

    refused = []
    for policy in load_policies(cfg.policy, config_sources):
        decision = engine.promote(policy, sweep_id=cfg.sweep, dry_run=cfg.dry_run)
        print(plan.render(decision) + "\n")
        if decision.verdict == "refuse":
            refused.append(policy.name)
    if refused and cfg.strict:
        log.error("strict=true: refused by %s", ", ".join(refused))
        return EXIT_REFUSED
    return 0


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="promote")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """The Hydra app: store errors are one line too."""
    from hydra.core.hydra_config import HydraConfig
    from mlflow.exceptions import MlflowException

    sources = HydraConfig.get().runtime.config_sources
    try:
        code = promote(cfg, sources)
    except MlflowException as err:
        raise ChurnExperimentsError(
            f"the tracking store refused or failed: {err}"
        ) from None
    sys.exit(code)


def cli() -> None:
    """The console script ``churn-promote``."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run_command(main)


if __name__ == "__main__":
    exit_after(cli)
