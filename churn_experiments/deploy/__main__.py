"""``churn-deploy`` (``python -m churn_experiments.deploy``): package or deploy a model.

``target=docker`` writes a Docker build context (and builds it with
``target.build=true``); ``target=azureml`` deploys to, shows or deletes an Azure ML
managed online endpoint (``action=deploy|status|delete``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command
from churn_experiments.errors import ChurnExperimentsError, ConfigError

ACTIONS = {"docker": ("deploy",), "azureml": ("deploy", "status", "delete")}

log = logging.getLogger("churn_experiments.deploy")


def deploy_docker(target: dict[str, Any]) -> str:
    """Write (and build) the image's context; what was done and how to run it."""
    from churn_experiments.deploy import docker
    from churn_experiments.deploy.local import example_payload
    from churn_experiments.model_uri import check_model_uri

    model = check_model_uri(target["model_uri"])  # says how to get one when absent
    body = example_payload(target["model_uri"], model)
    return docker.summary(target, docker.deploy(target), body)


def azureml_action(target: dict[str, Any], action: str) -> str:
    """Deploy, show or delete the endpoint; Azure's answer as JSON.

    ``target`` is validated, so the [azure] extra is installed.
    """
    from azure.core.exceptions import AzureError

    from churn_experiments.deploy import azureml

    try:
        result = getattr(azureml, action)(target)  # deploy, status or delete
    except AzureError as err:
        raise ChurnExperimentsError(f"Azure: {err}") from None
    return json.dumps(result, indent=2, default=str)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="deploy")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Run ``cfg.action`` on ``cfg.target``; print the result."""
    from hydra.core.hydra_config import HydraConfig

    from churn_experiments.deploy import target_config
    from churn_experiments.sources import Sources

    source = Sources.from_hydra(HydraConfig.get()).file("deploy@target")
    kind = cfg.target.get("kind")
    if kind not in ACTIONS:
        raise ConfigError(
            f"{source}: kind {kind!r} is not deployed by churn-deploy; allowed:"
            f" {', '.join(ACTIONS)} (kind local: churn-serve)"
        )
    if cfg.action not in ACTIONS[kind]:
        raise ConfigError(
            f"action={cfg.action}: target {kind} allows {', '.join(ACTIONS[kind])}"
        )
    target = target_config(cfg.target, kind, source)
    log.info("read %s", source)
    if kind == "docker":
        print(deploy_docker(target))
    else:
        print(azureml_action(target, cfg.action))


def cli() -> None:
    """The console script ``churn-deploy``: ``target=NAME`` picks the target."""
    run_command(main, aliases={"target": "deploy@target"})


if __name__ == "__main__":
    exit_after(cli)
