"""What a policy declares (``conf/policy/<name>.yaml``), loaded and checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ChurnExperimentsError, ConfigError
from churn_experiments.policy.rules import GUARD_METRICS, Guard, parse_guard
from churn_experiments.validation import validate_group

# the fields a description template may use
TEMPLATE_FIELDS = {
    "policy": "best_f1",
    "metric": "test_f1",
    "value": 0.5,
    "model": "gb",
    "run_id": "0" * 32,
    "sweep_id": "0" * 32,
    "experiment": "travel_churn",
}


class PolicyError(ChurnExperimentsError, RuntimeError):
    """A policy could not be decided or applied (registry, model or data trouble)."""


@dataclass(frozen=True)
class Candidates:
    """Which runs compete: this sweep's, or an experiment's matching ``filter``."""

    scope: str
    experiment: str
    filter: str | None
    max_results: int


@dataclass(frozen=True)
class Select:
    """The metric that ranks candidates, then the tie-breakers, as (metric, mode)."""

    metric: str
    mode: str
    tie_breakers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Significance:
    """A paired test the improvement over the alias holder must pass."""

    test: str
    alpha: float
    resamples: int
    seed: int


@dataclass(frozen=True)
class CompareTo:
    """The alias whose holder the winner must beat by ``margin``."""

    alias: str
    margin: float
    rows: str  # "unseen": test rows neither model trained on; "test_split": all
    significance: Significance | None


@dataclass(frozen=True)
class Actions:
    """What promoting the winner does to the registry."""

    description: str | None
    tags: dict[str, str]
    alias: str | None
    stage: str | None
    archive_existing_versions: bool


@dataclass(frozen=True)
class Policy:
    """One validated policy; ``content_hash`` identifies its exact content."""

    name: str
    source: str
    registered_model: str
    candidates: Candidates
    select: Select
    guards: tuple[Guard, ...]
    compare_to: CompareTo | None
    actions: Actions
    content_hash: str


def load_policies(
    node: Any, config_sources: Sequence[Mapping[str, Any]] | None = None
) -> list[Policy]:
    """The policies of a ``policy`` config node (``{name: spec, ...}``), in order.

    ``config_sources`` (``hydra.runtime.config_sources``) locate the files for error
    messages; inside a Hydra app they are read from HydraConfig. Raises ConfigError
    naming the file, the key and what is allowed there.
    """
    data = (
        OmegaConf.to_container(node, resolve=True)
        if isinstance(node, DictConfig)
        else dict(node)
    )
    if not data:
        raise ConfigError("policy: no policy selected")
    sources = {name: policy_source(name, config_sources) for name in data}
    for name, spec in data.items():
        if isinstance(spec, Mapping):
            _check_guards(name, spec, sources[name])
        validate_group("policy", {name: spec}, sources[name])
    return [_build(name, spec, sources[name]) for name, spec in data.items()]


def policy_source(
    name: str, config_sources: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """The file policy ``name`` came from, as far as the config sources tell."""
    if config_sources is None:
        try:
            from hydra.core.hydra_config import HydraConfig

            config_sources = HydraConfig.get().runtime.config_sources
        except ValueError:  # composed without the hydra node
            config_sources = []
    for source in config_sources:
        if source.get("schema") == "file":
            path = Path(source["path"], "policy", f"{name}.yaml")
            if path.exists():
                return str(path)
    return f"policy/{name}.yaml"


def _check_guards(name: str, spec: Mapping[str, Any], source: str) -> None:
    guards = spec.get("guards") or []
    if not isinstance(guards, list):
        return  # the schema names this one
    for index, text in enumerate(guards):
        try:
            parse_guard(str(text))
        except ValueError as err:
            raise ConfigError(
                f"{source}: policy.{name}.guards.{index}: {err}; allowed metrics: "
                + ", ".join(GUARD_METRICS)
            ) from None


def _build(name: str, spec: dict[str, Any], source: str) -> Policy:
    candidates = spec["candidates"]
    select = spec["select"]
    compare = spec.get("compare_to")
    actions = spec.get("actions") or {}
    significance = (compare or {}).get("significance")
    template = actions.get("description")
    if template:
        try:
            template.format_map(TEMPLATE_FIELDS)
        except (KeyError, ValueError, IndexError, AttributeError) as err:
            raise ConfigError(
                f"{source}: policy.{name}.actions.description: cannot fill "
                f"{template!r} ({type(err).__name__}: {err}); fields: "
                + ", ".join(TEMPLATE_FIELDS)
            ) from None
    return Policy(
        name=name,
        source=source,
        registered_model=spec["registered_model"],
        candidates=Candidates(
            scope=candidates.get("scope", "sweep"),
            experiment=candidates["experiment"],
            filter=candidates.get("filter") or None,
            max_results=candidates.get("max_results", 10),
        ),
        select=Select(
            metric=select["metric"],
            mode=select.get("mode", "max"),
            tie_breakers=tuple(
                (tie["metric"], tie.get("mode", "max"))
                for tie in select.get("tie_breakers") or ()
            ),
        ),
        guards=tuple(parse_guard(text) for text in spec.get("guards") or ()),
        compare_to=CompareTo(
            alias=compare["alias"],
            margin=float(compare.get("margin", 0.0)),
            rows=compare.get("rows", "unseen"),
            significance=Significance(
                test=significance["test"],
                alpha=float(significance.get("alpha", 0.05)),
                resamples=int(significance.get("resamples", 2000)),
                seed=int(significance.get("seed", 0)),
            )
            if significance
            else None,
        )
        if compare
        else None,
        actions=Actions(
            description=template or None,
            tags={str(k): str(v) for k, v in (actions.get("tags") or {}).items()},
            alias=actions.get("alias"),
            stage=actions.get("stage"),
            archive_existing_versions=bool(
                actions.get("archive_existing_versions", False)
            ),
        ),
        content_hash=content_hash(spec),
    )


def content_hash(data: Any) -> str:
    """A short sha256 of ``data`` as canonical JSON (sorted keys)."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
