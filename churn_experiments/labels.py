"""What tells runs apart: the swept keys, and each job's label built from them.

``-m model=rf model.n_estimators=50,100 model.max_depth=5,null`` names its runs (and
their sweep folders, leaderboard rows and bars) ``rf n_estimators=50 max_depth=5``
and so on, while ``-m model=lr,rf,svc,gb`` still names them ``lr``, ``rf``... Only
swept keys appear: those whose value differs across the sweep's jobs (a search's
parameters); a single run shows its own model overrides. The sweep callback passes
the swept keys to its jobs in ``CHURN_SWEPT_KEYS``, beside the parent run's id.

Imported with the package (``${churn.job_dir:...}`` in ``conf/hydra/default.yaml``):
keep it light.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

SWEPT_KEYS_ENV = "CHURN_SWEPT_KEYS"
RESOLVER = "churn.job_dir"
MODEL_PREFIX = "model."


def varying_keys(jobs: Iterable[Sequence[str]]) -> list[str]:
    """The keys whose value differs across ``jobs`` (each a list of overrides)."""
    values: dict[str, set[str]] = {}
    for job in jobs:
        for key, value in parse(job).items():
            values.setdefault(key, set()).add(value)
    return [key for key, seen in values.items() if len(seen) > 1]


def parse(overrides: Iterable[str]) -> dict[str, str]:
    """``{key: value}`` of ``key=value`` overrides (``+``/``++`` stripped), in order."""
    pairs = {}
    for override in overrides:
        key, sep, value = str(override).partition("=")
        if sep and not key.startswith("~"):
            pairs[key.lstrip("+")] = value
    return pairs


def display_key(key: str) -> str:
    """A key as the run's params name it: ``model.estimator.C`` -> ``estimator__C``."""
    if key.startswith(MODEL_PREFIX):
        return key.removeprefix(MODEL_PREFIX).replace(".", "__")
    return key


def swept_values(overrides: Iterable[str], swept: Sequence[str] | None) -> str:
    """``n_estimators=50 max_depth=null``: the job's value of each swept key.

    ``swept`` None (a single run): the job's own ``model.`` overrides.
    """
    given = parse(overrides)
    keys = swept if swept is not None else [k for k in given if k.startswith("model.")]
    return " ".join(
        f"{display_key(key)}={given[key]}"
        for key in keys
        if key in given and key != "model"
    )


def job_label(
    family: str, overrides: Iterable[str], swept: Sequence[str] | None
) -> str:
    """The run's name: the model's family, then :func:`swept_values`."""
    return " ".join(filter(None, (family, swept_values(overrides, swept))))


def swept_from_env() -> list[str] | None:
    """The swept keys the sweep callback published; None outside a sweep."""
    text = os.environ.get(SWEPT_KEYS_ENV)
    return json.loads(text) if text else None


def job_dir(family: str, overrides: Iterable[str]) -> str:
    """A sweep job's folder name: its label, commas for spaces (``rf,n_estimators=50``).

    Read by ``hydra.sweep.subdir`` as ``${churn.job_dir:<model choice>,<overrides>}``.
    """
    label = job_label(str(family), overrides, swept_from_env() or [])
    return label.replace(" ", ",").replace(os.sep, "_")[:200]


def register_resolver() -> None:
    """Make ``${churn.job_dir:...}`` resolvable (Hydra resolves it in each job)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_dir)
