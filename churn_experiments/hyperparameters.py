"""Hyperparameter names checked against the estimator's, at any depth, in seconds.

Knowing which keywords ``sklearn.ensemble.RandomForestClassifier`` takes means
importing it (about a second for scikit-learn), so the names are kept in a small
cache file, keyed by the class and the version of the distribution that provides
it: a typo in a model file fails before anything heavy is imported, and an upgrade
of that distribution is noticed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
from importlib import metadata
from typing import Any

from churn_experiments.errors import ConfigError

CACHE_FILE = "hyperparameters.json"


def check_hyperparameter_names(node: Any, source: str, path: str = "model") -> None:
    """Check every ``_target_`` in ``node``, at any depth, against its parameters.

    Raises ConfigError naming ``source``, the key path and the allowed names.
    """
    if isinstance(node, list):
        for index, item in enumerate(node):
            check_hyperparameter_names(item, source, f"{path}.{index}")
        return
    if not isinstance(node, dict):
        return
    if "_target_" in node:
        _check_target(node, source, path)
    for key, value in node.items():
        if not str(key).startswith("_"):
            check_hyperparameter_names(value, source, f"{path}.{key}")


def _check_target(node: dict[str, Any], source: str, path: str) -> None:
    target = str(node["_target_"])
    accepted = accepted_names(target, source, path)
    given = {str(k) for k in node if not str(k).startswith("_")}
    if accepted is not None and given - accepted:
        raise ConfigError(
            f"{source}: unknown key(s) {sorted(given - accepted)} in {path} for "
            f"{target}; allowed: {sorted(accepted)}"
        )


def accepted_names(target: str, source: str, path: str) -> set[str] | None:
    """The keywords ``target`` accepts (None: any), from the cache when it is fresh.

    Raises ConfigError when ``target`` cannot be imported.
    """
    cache = _read_cache()
    entry = cache.get(target)
    if entry and _installed_version(entry["distribution"]) == entry["version"]:
        return None if entry["names"] is None else set(entry["names"])
    from hydra.utils import get_object

    try:
        factory = get_object(target)
    except Exception as err:  # hydra wraps import errors in several types
        raise ConfigError(
            f"{source}: {path}._target_ '{target}' cannot be imported: {err}"
        ) from err
    names = _parameter_names(factory)
    distribution = _distribution(target)
    if distribution is not None:
        cache[target] = {
            "distribution": distribution,
            "version": _installed_version(distribution),
            "names": None if names is None else sorted(names),
        }
        _write_cache(cache)
    return names


def _parameter_names(factory: Any) -> set[str] | None:
    """The keyword parameters ``factory`` accepts; None when it takes any."""
    if hasattr(factory, "get_params"):  # a scikit-learn estimator (or alike)
        with contextlib.suppress(Exception):  # some need arguments to construct
            return set(factory().get_params(deep=False))
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in keyword}


def _distribution(target: str) -> str | None:
    """The installed distribution providing ``target``'s top-level module, if one."""
    names = _packages_distributions().get(target.split(".", 1)[0], [])
    return names[0] if len(names) == 1 else None


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    """Top-level module -> distributions, read once (it scans every installed one)."""
    return dict(metadata.packages_distributions())


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cache_path() -> Any:
    from churn_experiments.store import cache_dir

    return cache_dir() / CACHE_FILE


def _read_cache() -> dict[str, Any]:
    try:
        return json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(cache: dict[str, Any]) -> None:
    """Replace the cache file atomically; a cache that cannot be written is skipped."""
    path = _cache_path()
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(cache, indent=1, sort_keys=True))
        os.replace(partial, path)
