"""What a policy declares (``conf/policy/<name>.yaml``), loaded and checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ChurnExperimentsError, ConfigError
from churn_experiments.metric_names import SELECTABLE
from churn_experiments.policy.rules import GUARD_METRICS, Guard, parse_guard
from churn_experiments.validation import Settings, validate_group, with_defaults

# the fields a description template may use
TEMPLATE_FIELDS = {
    "policy": "best_f1",
    "metric": SELECTABLE[0],
    "value": 0.5,
    "model": "gb",
    "run_id": "0" * 32,
    "sweep_id": "0" * 32,
    "experiment": "travel_churn",
}


class PolicyError(ChurnExperimentsError, RuntimeError):
    """A policy could not be decided or applied (registry, model or data trouble)."""


@dataclass(frozen=True)
class Policy:
    """One validated policy: its file's keys as attributes (``policy.select.mode``),
    every optional key filled in from the schema's defaults (``policy.schema.json``),
    its ``guards`` parsed, and ``content_hash`` identifying its exact content."""

    name: str
    source: str
    spec: Settings
    guards: tuple[Guard, ...]
    content_hash: str

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__") or key == "spec":  # copy/pickle probe before init
            raise AttributeError(key)
        return getattr(self.spec, key)


def load_policies(
    node: Any, config_sources: Sequence[Mapping[str, Any]] | None = None
) -> list[Policy]:
    """The policies of a ``policy`` config node (``{name: spec, ...}``), in order.

    ``config_sources`` (``hydra.runtime.config_sources``, which the entry point
    passes) locate the files for error messages. Raises ConfigError naming the file,
    the key and what is allowed there.
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
    from churn_experiments.sources import source_folder

    for source in config_sources or ():
        folder = source_folder(source)
        if folder is not None and (folder / "policy" / f"{name}.yaml").exists():
            return str(folder / "policy" / f"{name}.yaml")
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
    template = (spec.get("actions") or {}).get("description")
    if template:
        try:
            template.format_map(TEMPLATE_FIELDS)
        except (KeyError, ValueError, IndexError, AttributeError) as err:
            raise ConfigError(
                f"{source}: policy.{name}.actions.description: cannot fill "
                f"{template!r} ({type(err).__name__}: {err}); fields: "
                + ", ".join(TEMPLATE_FIELDS)
            ) from None
    settings = Settings(with_defaults("policy", {name: spec})[name])
    return Policy(
        name=name,
        source=source,
        spec=settings,
        guards=tuple(parse_guard(text) for text in settings.guards),
        content_hash=content_hash(spec),
    )


def content_hash(data: Any) -> str:
    """A short sha256 of ``data`` as canonical JSON (sorted keys)."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
