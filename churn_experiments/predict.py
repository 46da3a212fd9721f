"""``churn-predict`` (``python -m churn_experiments.predict``): score rows on a target.

``churn-predict target=local|azureml input=rows.csv`` prints the predictions as a JSON
list (:func:`churn_experiments.deploy.client.predict` from Python).
"""

from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="predict")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Read ``cfg.input``, score it on ``cfg.target`` and print the predictions."""
    from hydra.core.hydra_config import HydraConfig

    from churn_experiments.deploy import target_config
    from churn_experiments.deploy.client import predict, read_rows
    from churn_experiments.sources import Sources

    kind = cfg.target.get("kind")
    target = target_config(
        cfg.target, kind, Sources.from_hydra(HydraConfig.get()).file("deploy@target")
    )
    rows = read_rows(cfg.input, cfg.drop_columns or ())
    predictions = predict(
        rows, target, deployment_name=cfg.deployment, timeout=cfg.timeout
    )
    print(json.dumps(predictions))


def cli() -> None:
    """The console script ``churn-predict``: ``target=NAME`` picks the target."""
    run_command(main, aliases={"target": "deploy@target"})


if __name__ == "__main__":
    exit_after(cli)
