"""``python -m churn_experiments.promote``: apply policies on demand, show the ledger,
roll an alias back.

    python -m churn_experiments.promote policy=best_f1 [--dry-run] [--sweep RUN_ID]
    python -m churn_experiments.promote history [--alias champion] [--limit 20]
    python -m churn_experiments.promote rollback --alias champion [--dry-run]
    python -m churn_experiments.promote unlock [--model NAME]

Anything of the form ``key=value`` is a Hydra override of ``conf/config.yaml``
(``policy=[best_f1,best_recall]``, ``tracking=server``, ``dataset=...``): the
policies' candidates and registered model are the dataset's (``conf/config.yaml``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from churn_experiments.errors import ChurnExperimentsError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
COMMANDS = ("apply", "history", "rollback", "unlock")


def parser() -> argparse.ArgumentParser:
    """The command line: ``apply`` (default), ``history``, ``rollback``, ``unlock``."""
    main = argparse.ArgumentParser(
        prog="python -m churn_experiments.promote",
        description="Apply promotion policies (conf/policy/*.yaml) to existing runs, "
        "print the decision ledger, or roll an alias back. Without a command, "
        "'apply' is meant.",
    )
    commands = main.add_subparsers(
        dest="command", metavar="{apply,history,rollback,unlock}"
    )
    apply = commands.add_parser(
        "apply",
        help="decide and apply the selected policies (the default command)",
        description="Decide each selected policy over existing runs and, unless "
        "--dry-run, register, tag and move aliases; every decision is recorded.",
    )
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="print the decision table and change nothing",
    )
    apply.add_argument(
        "--sweep",
        metavar="RUN_ID",
        help="the sweep (parent run id) whose runs compete; default: the latest",
    )
    history = commands.add_parser(
        "history",
        help="print the ledger of decisions, newest first",
        description="Print the ledger (experiment 'policy-decisions'), newest first.",
    )
    history.add_argument("--model", help="only this registered model")
    history.add_argument("--alias", help="only decisions moving this alias")
    history.add_argument("--policy", help="only this policy ('rollback' for rollbacks)")
    history.add_argument("--limit", type=int, default=20, help="at most this many")
    rollback = commands.add_parser(
        "rollback",
        help="point an alias back at its previous holder",
        description="Point ALIAS back at the version it held before its latest "
        "applied promotion; recorded in the ledger as a decision.",
    )
    rollback.add_argument("--alias", required=True, help="the alias, e.g. champion")
    rollback.add_argument(
        "--dry-run", action="store_true", help="print what it would do, change nothing"
    )
    unlock = commands.add_parser(
        "unlock",
        help="break a registered model's policy lock",
        description="Delete <model>.policy-lock, the lock a promotion holds while it "
        "changes the registry. A lock left by a dead process of this host is broken "
        "by the next promotion anyway; this is for one left from another host.",
    )
    for command in (rollback, unlock):
        command.add_argument(
            "--model",
            help="the registered model (default: the dataset's, see conf/config.yaml)",
        )
    for command in (apply, history, rollback, unlock):
        command.add_argument(
            "overrides",
            nargs="*",
            metavar="key=value",
            help="Hydra overrides of conf/config.yaml, e.g. policy=best_f1",
        )
    return main


def compose(overrides: Sequence[str]) -> DictConfig:
    """The app's config with ``overrides`` (and its ``hydra`` node)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", list(overrides), return_hydra_config=True)


def run(argv: Sequence[str]) -> int:
    """Parse ``argv``, run the command, print its tables; the exit code."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "apply")
    args = parser().parse_args(argv)
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        parser().error(f"not a key=value override: {' '.join(bad)}")

    from churn_experiments import tracking
    from churn_experiments.policy import engine, ledger, plan

    cfg = compose(args.overrides)
    tracking.configure(cfg.tracking)
    if args.command == "history":
        import mlflow

        runs = ledger.history(
            mlflow.MlflowClient(), args.model, args.alias, args.policy, args.limit
        )
        print(plan.render_history(runs))
        return 0
    if args.command == "unlock":
        import mlflow

        from churn_experiments.policy import registry

        model = args.model or cfg.registered_model
        print(registry.unlock(mlflow.MlflowClient(), model))
        return 0
    if args.command == "apply" and cfg.get("policy") is None:
        parser().error("select a policy: policy=best_f1 or 'policy=[a,b]'")
    if args.dry_run:
        print("DRY RUN: nothing is changed or recorded.\n")
    if args.command == "rollback":
        model = args.model or cfg.registered_model
        decision = ledger.rollback(model, args.alias, dry_run=args.dry_run)
        print(plan.render(decision))
        return 0
    from churn_experiments.policy.spec import load_policies

    for policy in load_policies(cfg.policy, cfg.hydra.runtime.config_sources):
        decision = engine.promote(policy, sweep_id=args.sweep, dry_run=args.dry_run)
        print(plan.render(decision) + "\n")
    return 0


def main() -> None:
    """The console entry point: errors meant for users print without a traceback."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        sys.exit(run(sys.argv[1:]))
    except ChurnExperimentsError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:
        from mlflow.exceptions import MlflowException

        if not isinstance(err, MlflowException):
            raise
        print(f"error: the tracking store refused or failed: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
