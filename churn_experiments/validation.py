"""Validate each config group against the JSON Schema shipped with the package."""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError
from churn_experiments.sources import Sources

log = logging.getLogger(__name__)

# config groups a job uses, validated in this order (policies: see checks.py)
SCHEMA_GROUPS = (
    "dataset",
    "features",
    "model",
    "tracking",
    "evaluation",
    "leaderboard",
    "explain",
    "profile",
)


@functools.cache
def load_schema(group: str) -> dict[str, Any]:
    """The JSON Schema for ``group`` (``schemas/<group>.schema.json``).

    A ``{"x-metrics": "logged"}`` (or ``"selectable"``) node becomes the enum of those
    names from :mod:`churn_experiments.metric_names`, the one list of metrics;
    ``"guard"`` becomes the pattern and description of a guard over them.
    """
    text = (
        files("churn_experiments.schemas").joinpath(f"{group}.schema.json").read_text()
    )
    return json.loads(text, object_hook=_metric_names)


def _metric_names(node: dict[str, Any]) -> dict[str, Any]:
    from churn_experiments import metric_names

    kind = node.pop("x-metrics", None)
    if kind == "guard":
        return {**node, **metric_names.guard_schema()}
    names = {"logged": metric_names.LOGGED, "selectable": metric_names.SELECTABLE}
    return {**node, "enum": list(names[kind])} if kind else node


@functools.cache
def _validator(group: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(group))


def validate_group(group: str, node: Any, source: str) -> dict[str, Any]:
    """Validate one group's resolved values; a ConfigError names ``source``."""
    import jsonschema

    data = (
        OmegaConf.to_container(node, resolve=True)
        if isinstance(node, DictConfig)
        else node
    )
    log.debug("validating %s from %s", group, source)
    errors = list(_validator(group).iter_errors(data))
    error = jsonschema.exceptions.best_match(errors)
    if error is not None:
        if _is_boolean(error):  # [Yes, No] unquoted: name every one at once
            message = _describe_booleans(list(_booleans(errors)), group)
        else:
            message = describe(error, group)
        raise ConfigError(f"{source}: {message}")
    return data  # type: ignore[return-value]


def _is_boolean(error: Any) -> bool:
    """Whether ``error`` is about a value YAML read as a boolean where text or a
    number belongs."""
    return isinstance(error.instance, bool) and error.validator in ("type", "enum")


def _booleans(errors: Iterable[Any]) -> Iterator[Any]:
    """The boolean errors among ``errors`` and their sub-errors, one per key, in
    the order the validator met them."""
    seen = set()
    for error in errors:
        for found in (error, *_booleans(error.context or ())):
            where = tuple(found.absolute_path)
            if _is_boolean(found) and where not in seen:
                seen.add(where)
                yield found


def _describe_booleans(errors: list[Any], group: str) -> str:
    """One line for values YAML read as booleans: each key and value, and the
    labels to quote."""
    values = ", ".join(f"{_path(error, group)}: {error.instance!r}" for error in errors)
    labels = ", ".join(dict.fromkeys(_label(error.instance) for error in errors))
    hint = "YAML reads an unquoted yes, no, true, false, on or off as one"
    if len(errors) == 1:
        return (
            f"{values} is a boolean: {hint}; quote the label ({labels}) if it is text"
        )
    return (
        f"{values} are booleans: {hint}; quote the labels ({labels}) if they are text"
    )


def _label(value: bool) -> str:
    """The label a boolean most likely was in the YAML, quoted."""
    return '"Yes"' if value else '"No"'


def _path(error: Any, group: str) -> str:
    return ".".join([group, *(str(p) for p in error.absolute_path)])


def with_defaults(group: str, data: Any) -> Any:
    """``data`` (valid for ``group``) with each key it leaves out that the schema gives
    a ``default`` filled in, at any depth: a schema's defaults are the only ones."""
    schema = load_schema(group)
    return _fill(schema, data, schema)


def _fill(node: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> Any:
    node = _resolve(node, root)
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_fill(node["items"], item, root) for item in value]
    if not isinstance(value, dict):
        return value
    filled = dict(value)
    properties = node.get("properties", {})
    for key, child in properties.items():
        child = _resolve(child, root)
        if key not in filled and "default" in child:
            filled[key] = copy.deepcopy(child["default"])
        if key in filled:
            filled[key] = _fill(child, filled[key], root)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for key in filled.keys() - properties.keys():
            filled[key] = _fill(extra, filled[key], root)
    return filled


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``node`` with its local ``$ref`` (``#/$defs/mode``) merged in."""
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}


class Settings(Mapping[str, Any]):
    """A validated config block, read-only, its keys also attributes
    (``policy.select.mode``); nested blocks are Settings and lists tuples."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, key: str) -> Any:
        try:
            return _frozen(self._data[key])
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only: {key}")

    def __getitem__(self, key: str) -> Any:
        return _frozen(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Settings({self._data!r})"

    def __reduce__(self) -> tuple[type[Settings], tuple[dict[str, Any]]]:
        # rebuilt through __init__: pickle's slot restore would hit __setattr__
        # (joblib and Ray launchers send the sweep callback, policies included)
        return Settings, (self._data,)


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return Settings(value)
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def describe(error: Any, group: str) -> str:
    """One line: the key path, what is wrong, and what is allowed there, in words."""
    path = _path(error, group)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed))
        keys = ", ".join(f"{path}.{key}" for key in unexpected)
        return f"unknown key {keys}; allowed keys: {', '.join(allowed)}"
    if _is_boolean(error):
        return _describe_booleans([error], group)
    if error.validator == "enum":
        message = (
            f"{path}: {error.instance!r} is not allowed; allowed values: "
            + ", ".join(yaml_value(v) for v in error.validator_value)
        )
        if None in error.validator_value and str(error.instance).lower() == "none":
            message += " (write null, not None, for no value)"
        return message
    if error.validator in ("not", "oneOf"):
        keys = sorted(_required_keys(error.validator_value))
        role = error.instance.get("role") if isinstance(error.instance, dict) else None
        if error.validator == "oneOf":
            return f"{path}: declare exactly one of {', '.join(keys)}"
        present = [key for key in keys if key in error.instance]
        return f"{path}: {', '.join(present)} do(es) not apply to role {role!r}"
    if error.validator == "required":
        return f"{path}: {error.message}"
    hint = error.schema.get("description") if isinstance(error.schema, dict) else None
    if hint is None:
        return f"{path}: {error.message}"
    if error.validator == "pattern":  # the pattern itself would be a regex
        return f"{path}: {error.instance!r} is not allowed; allowed: {hint}"
    return f"{path}: {error.message}; allowed: {hint}"


def yaml_value(value: Any) -> str:
    """A value as written in YAML: ``null``, ``true``, ``'Staging'``, ``3``."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return repr(value)


def _required_keys(schema: Any) -> set[str]:
    """Every key a sub-schema names under ``required``, at any depth."""
    if isinstance(schema, list):
        return set().union(*(_required_keys(item) for item in schema))
    if not isinstance(schema, dict):
        return set()
    keys = set(schema.get("required", []))
    return keys.union(*(_required_keys(v) for v in schema.values() if v is not None))


def check_yaml_syntax(folders: Iterable[Path]) -> None:
    """Parse every YAML file under ``folders``; the first syntax error raises a
    ConfigError naming the file, line and column (Hydra would print a traceback)."""
    import yaml

    for folder in folders:
        for path in sorted(Path(folder).rglob("*.yaml")):
            try:
                yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.MarkedYAMLError as err:
                raise ConfigError(f"{path}:{_yaml_problem(err)}") from None


def _yaml_problem(err: Any) -> str:
    """``line:column: YAML syntax error: ...`` at the construct left open (``[1``)
    when there is one, where the parser noticed it otherwise (often a line later)."""
    mark = err.context_mark or err.problem_mark
    where = f"{mark.line + 1}:{mark.column + 1}: " if mark else " "
    problem = " ".join(filter(None, (err.context, err.problem)))
    later = err.problem_mark
    if err.context_mark and later and later.line != err.context_mark.line:
        problem += f" (at line {later.line + 1})"
    return f"{where}YAML syntax error: {problem}"


def validate_config(
    cfg: DictConfig,
    groups: Iterable[str] = SCHEMA_GROUPS,
    sources: Sources | None = None,
) -> None:
    """Validate every present group of ``cfg``; the first problem raises ConfigError
    naming the group's file (as ``sources`` tell)."""
    sources = sources or Sources()
    for group in groups:
        if group in cfg and cfg[group] is not None:
            validate_group(group, cfg[group], sources.file(group))
