"""Serving and deployment, one module per target: :mod:`.local` (a server on this
machine), :mod:`.docker` (an image), :mod:`.azureml` (a managed online endpoint);
:mod:`.client` sends rows to a running target, :mod:`.payloads` builds their bodies.

A target's config is ``conf/deploy/<name>.yaml``; the commands compose it as their
``target`` node (``target=NAME``, ``target.port=5002``) and :func:`target_config`
checks it; :func:`load_target` composes one the same way from Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError

TARGETS = ("local", "docker", "azureml")  # the kinds of conf/deploy/*.yaml


def target_config(
    node: DictConfig | Mapping[str, Any], kind: str, source: str
) -> dict[str, Any]:
    """A composed target, resolved and validated as a ``kind`` target.

    ``source`` is the file it came from, named by every error.
    """
    from churn_experiments.naming import register_resolver

    register_resolver()
    if kind == "azureml":  # azure-ai-ml's own schemas as well
        from churn_experiments.deploy.azureml import validate_config

        return validate_config(node, source)
    from churn_experiments.validation import validate_group

    data = node if isinstance(node, DictConfig) else OmegaConf.create(dict(node))
    checked = validate_group("deploy", data, source)
    if checked["kind"] != kind:
        raise ConfigError(
            f"{source}: key 'kind' = {checked['kind']!r}; this command needs"
            f" kind: {kind}"
        )
    return checked


def load_target(
    name: str, overrides: Sequence[str] = (), kind: str | None = None
) -> dict[str, Any]:
    """``conf/deploy/NAME.yaml`` with ``key=value`` overrides of its keys, composed
    as the commands compose their ``target`` (``conf/deploy.yaml``) and checked by
    :func:`target_config` (kind: ``name`` unless given)."""
    from hydra import compose, initialize_config_module

    from churn_experiments.cli import CONFIG_MODULE
    from churn_experiments.sources import source_folder

    folder = source_folder({"schema": "pkg", "path": CONFIG_MODULE})
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        keys = [re.sub(r"^([+~]*)", r"\1target.", o) for o in overrides]
        cfg = compose("deploy", [f"deploy@target={name}", *keys])
        return target_config(cfg.target, kind or name, f"{folder}/deploy/{name}.yaml")
