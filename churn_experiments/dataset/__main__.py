"""``churn-dataset file=PATH target=COL name=NAME out=DIR`` (``python -m
churn_experiments.dataset``): draft ``DIR/dataset/NAME.yaml`` from a CSV file for
review; then ``churn --config-dir DIR dataset=NAME`` trains on it.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command
from churn_experiments.errors import ConfigError


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="dataset")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Write the draft and say where it is and how to use it."""
    from churn_experiments.dataset.draft import write_draft

    if cfg.action != "init":
        raise ConfigError(f"action={cfg.action}: allowed: init")
    settings = {
        "file": str(cfg.file),
        "target": str(cfg.target),
        "name": str(cfg.name),
        "out": str(cfg.out),
        "positive": None if cfg.positive is None else str(cfg.positive),
        "force": bool(cfg.force),
    }
    path = write_draft(settings)
    print(
        f"Wrote {path}: review each column's role, then run\n"
        f"  churn --config-dir {path.parent.parent} dataset={settings['name']}"
    )


def cli() -> None:
    """The console script ``churn-dataset``."""
    run_command(main)


if __name__ == "__main__":
    exit_after(cli)
