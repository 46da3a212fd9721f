"""Everything a job needs, checked before the store, the experiment or a run is touched.

The order is cheapest first: each config group against its schema, then the references
between groups (the dataset's target and roles, the positive label), the model's
hyperparameter names (from a cache, see :mod:`.hyperparameters`), then the data file
against its contract, and last the model built. The policies are checked once per
command, where they apply (:func:`check_command`, :func:`check_policies`), never in a
job. A mistake is one
:class:`ConfigError` or :class:`DataContractError` line, and nothing is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.columns import columns_with_role, value_type
from churn_experiments.errors import ConfigError
from churn_experiments.hyperparameters import check_hyperparameter_names
from churn_experiments.sources import Sources
from churn_experiments.validation import validate_config

if TYPE_CHECKING:
    from churn_experiments.policy.spec import Policy

log = logging.getLogger(__name__)


def check_command(
    cfg: DictConfig, data: bool = True, sources: Sources | None = None
) -> list[Policy]:
    """The door of a command that trains: :func:`check_config`, then the policies it
    applies when its runs are done, each validated once, here; returns them."""
    check_config(cfg, data, sources)
    return check_policies(cfg, sources)


def check_policies(cfg: DictConfig, sources: Sources | None = None) -> list[Policy]:
    """The validated policies ``cfg`` selects (``policy=...``), in order; none: [].

    Errors name the policy files found on ``sources``' search path."""
    if not cfg.get("policy"):
        return []
    from churn_experiments.policy.spec import load_policies

    return load_policies(cfg.policy, (sources or Sources()).search_path)


def check_config(
    cfg: DictConfig, data: bool = True, sources: Sources | None = None
) -> None:
    """Validate every group of ``cfg`` a job uses, their cross-references and (with
    ``data``) the dataset file against its contract; the first problem raises, naming
    the file ``sources`` tell.

    Policies are not a job's: :func:`check_policies` validates them where they apply.
    """
    sources = sources or Sources()
    validate_config(cfg, sources=sources)
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    check_dataset(dataset, sources.file("dataset"))
    # the model's names before the data: from a cache, without importing the model
    check_hyperparameter_names(
        OmegaConf.to_container(cfg.model, resolve=False), sources.file("model")
    )
    if data:  # the file, then the target's classes and the split (see .target)
        from churn_experiments.data import load_dataset, split_dataset

        split_dataset(load_dataset(dataset), dataset)
    from churn_experiments.pipeline import build_classifier

    build_classifier(cfg.model, sources.file("model"))


def check_dataset(dataset: Mapping[str, Any], source: str) -> None:
    """The target block against the columns' roles, the positive label against the
    target's classes, and each column's categories listed once."""
    target = dataset["target"]
    targets = list(columns_with_role(dataset, "target"))
    if targets != [target["column"]]:
        declared = (
            f"role target is declared on {targets}"
            if targets
            else ("no column has role target")
        )
        raise ConfigError(
            f"{source}: dataset.target.column is {target['column']!r}, but {declared}; "
            "exactly one column, the target's, has role target"
        )
    for name, spec in dataset["columns"].items():
        categories = [str(c) for c in spec.get("categories", [])]
        repeated = sorted({c for c in categories if categories.count(c) > 1})
        if repeated:
            raise ConfigError(
                f"{source}: dataset.columns.{name}.categories lists {repeated} twice"
            )
    _check_positive(target, dataset["columns"][target["column"]], source)


def _check_positive(
    target: Mapping[str, Any], spec: Mapping[str, Any], source: str
) -> None:
    positive, column = target["positive"], target["column"]
    if value_type(spec) == "category":
        classes = [str(c) for c in spec["categories"]]
        if str(positive) not in classes:
            raise ConfigError(
                f"{source}: dataset.target.positive: {positive!r} is not a class of "
                f"{column}; its classes: {classes}"
            )
        return
    low, high = spec.get("min"), spec.get("max")
    if isinstance(positive, str) or (
        (low is not None and positive < low) or (high is not None and positive > high)
    ):
        raise ConfigError(
            f"{source}: dataset.target.positive: {positive!r} is not a value of "
            f"{column} ({spec['dtype']} in [{low}, {high}])"
        )
