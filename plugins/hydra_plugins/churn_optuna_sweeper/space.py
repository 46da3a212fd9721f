"""Hydra's sweep grammar as Optuna distributions, checked before the first trial.

``interval(a, b)`` is a float range, ``int(interval(a, b))`` an integer one,
``tag(log, interval(...))`` either on a log scale; ``range(a, b, step)`` is a stepped
integer (or float) range without ``b``; ``choice(...)`` is categorical. An override
that is not a sweep is passed to every trial as it is. Optuna is imported lazily:
Hydra imports this module at every start.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    Glob,
    IntervalSweep,
    Override,
    RangeSweep,
)
from hydra.errors import CompactHydraException, ConfigCompositionException
from omegaconf import DictConfig, OmegaConf


class SearchSpaceError(CompactHydraException):
    """A search space that cannot be searched: one line naming the key."""


@dataclass(frozen=True)
class SearchSpace:
    """The swept keys with their distributions, and the overrides every trial gets."""

    distributions: dict[str, Any]
    fixed: tuple[str, ...]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The overrides of one trial: the fixed ones, then its sampled values."""
        return [*self.fixed, *(f"{key}={_encode(v)}" for key, v in params.items())]

    def first(self) -> dict[str, Any]:
        """Each key at its first value: the low end, or the first choice."""
        return {key: _ends(d)[0] for key, d in self.distributions.items()}

    def ends(self) -> Iterator[tuple[str, Any]]:
        """(key, value) for each other end of the space: high ends, other choices."""
        for key, distribution in self.distributions.items():
            for value in _ends(distribution)[1:]:
                yield key, value


def parse_space(params: Mapping[str, str], arguments: Sequence[str]) -> SearchSpace:
    """``hydra.sweeper.params`` and the command line's overrides as a search space."""
    parser = OverridesParser.create()
    distributions: dict[str, Any] = {}
    fixed: list[str] = []
    lines = [f"{key}={value}" for key, value in params.items()] + list(arguments)
    for line in lines:
        try:
            [override] = parser.parse_overrides([line])
        except Exception as err:  # Hydra's grammar errors come in several types
            raise SearchSpaceError(f"search space: {line}: {_one_line(err)}") from None
        key = override.get_key_element()
        if override.is_sweep_override():
            distributions[key] = _distribution(override)
        else:
            fixed.append(line)
    return SearchSpace(distributions, tuple(fixed))


def check_space(
    space: SearchSpace, config: DictConfig, config_loader: Any, check: str | None
) -> None:
    """Compose a job's config at each end of the space; ``check`` may reject one.

    An unknown key fails composition; ``check`` (a dotted path to a function of the
    composed config) rejects values the application cannot use. The ends are tried
    one key at a time from the first values; when those fail, the key whose other
    end passes is named.
    """
    from hydra.utils import get_method

    function = get_method(check) if check else None

    def rejection(params: dict[str, Any]) -> str | None:
        try:
            job = config_loader.load_sweep_config(config, space.overrides(params))
        except ConfigCompositionException as err:  # "Key 'x' is not in struct"
            cause = f" {_one_line(err.__cause__)}" if err.__cause__ else ""
            raise SearchSpaceError(
                f"search space: {_one_line(err)}{cause}{_allowed_keys(err, config)}"
            ) from None
        if function is None:
            return None
        try:
            function(job)
        except Exception as err:
            return _one_line(err)
        return None

    first = space.first()
    at_first = rejection(first)
    for key, value in space.ends():
        error = rejection({**first, key: value})
        if error and not at_first:
            raise SearchSpaceError(
                f"search space: {key}={_encode(value)} is rejected: {error}"
            )
        if at_first and not error:
            raise SearchSpaceError(
                f"search space: {key}={_encode(first[key])} is rejected: {at_first}"
            )
    if at_first:
        values = ", ".join(f"{k}={_encode(v)}" for k, v in first.items())
        raise SearchSpaceError(f"search space: {values} is rejected: {at_first}")


def _allowed_keys(err: Exception, config: DictConfig) -> str:
    """``; keys under model: C, max_iter, ...`` when ``err`` is Hydra's "Could not
    override 'model.x'" for a key its node does not hold; else nothing."""
    found = re.match(r"Could not override '([^']+)'", str(err))
    if not found or "." not in found.group(1):
        return ""
    parent = found.group(1).lstrip("+").rsplit(".", 1)[0]
    node = OmegaConf.select(config, parent)
    if not isinstance(node, DictConfig):
        return ""
    keys = sorted(str(k) for k in node if not str(k).startswith("_"))
    return f"; keys under {parent}: {', '.join(keys)}"


def _distribution(override: Override) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    where = f"search space: {override.input_line}"
    value = override.value()
    if isinstance(value, Glob):
        raise SearchSpaceError(f"{where}: glob() is not supported; list the choices")
    if override.is_choice_sweep() or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(list(override.sweep_string_iterator()))
    if isinstance(value, RangeSweep):
        values = list(override.sweep_iterator())
        if not values:
            raise SearchSpaceError(f"{where}: the range holds no value")
        if all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=int(value.step))
        return FloatDistribution(values[0], values[-1], step=value.step)
    assert isinstance(value, IntervalSweep)  # the last kind of sweep
    low, high, log = value.start, value.end, "log" in value.tags
    if low > high:
        raise SearchSpaceError(
            f"{where}: the low end {low} is above the high end {high}"
        )
    if log and low <= 0:
        raise SearchSpaceError(f"{where}: a log scale needs a low end above 0")
    if isinstance(low, int) and isinstance(high, int):
        return IntDistribution(low, high, log=log)
    return FloatDistribution(float(low), float(high), log=log)


def _ends(distribution: Any) -> list[Any]:
    if hasattr(distribution, "choices"):
        return list(distribution.choices)
    return [distribution.low, distribution.high]


def _encode(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _one_line(err: BaseException) -> str:
    """The lines of an error message that say what is wrong, joined."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    kept = [
        line
        for line in lines
        if not line.startswith(("To append", "full_key", "object_type"))
    ]
    return " ".join(kept) or type(err).__name__
