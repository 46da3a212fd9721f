"""The model registry side: versions, descriptions, tags, aliases, stages, the lock.

The lock is a registered model named ``<name>.policy-lock``: creating a registered
model whose name exists fails in every MLflow backend (the name is the primary key),
so creating it is an atomic test-and-set that works for a local SQLite store and a
shared tracking server alike. It is held only while the registry is changed and
records its owner's host and pid and the time. A lock whose owner was a process of
this host that no longer exists is broken at once; one held from another host is
broken only when older than ``stale_after`` seconds. ``unlock`` breaks it on purpose.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from churn_experiments import owners
from churn_experiments.policy.spec import PolicyError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".policy-lock"
# the wait between two tries of a held lock doubles from the first to the longest, each
# drawn between its half and itself: twenty waiting processes neither hammer a shared
# server (the held lock's owner waits on it too) nor retry in step
FIRST_WAIT, LONGEST_WAIT = 0.05, 1.0


@dataclass(frozen=True)
class Holder:
    """The model version an alias points at."""

    version: str
    run_id: str | None


def version_uri(name: str, version: str) -> str:
    """``models:/<name>/<version>``."""
    return f"models:/{name}/{version}"


def alias_holder(client: MlflowClient, name: str, alias: str) -> Holder | None:
    """The version ``alias`` points at, or None (no such alias or model)."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = model.aliases.get(alias)
    if version is None:
        return None
    found = client.get_model_version(name, str(version))
    return Holder(str(version), found.run_id)


def find_version(client: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    """The first version of ``name`` registered from ``run_id``, if any."""
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    return min(versions, key=lambda v: int(v.version), default=None)


def register(
    client: MlflowClient, name: str, model_id: str, run_id: str
) -> tuple[ModelVersion, bool]:
    """The version registered from ``run_id``, registering its logged model if needed.

    Returns the version and whether it was created now.
    """
    from mlflow.exceptions import MlflowException

    existing = find_version(client, name, run_id)
    if existing is not None:
        return existing, False
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        name, source=f"models:/{model_id}", run_id=run_id, model_id=model_id
    )
    return version, True


def annotate(
    client: MlflowClient,
    version: ModelVersion,
    description: str | None,
    tags: Mapping[str, str],
) -> None:
    """Set ``tags``, and ``description`` unless the version already has one."""
    if description and not version.description:
        client.update_model_version(version.name, version.version, description)
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)


def transition(
    client: MlflowClient, name: str, version: str, stage: str, archive_existing: bool
) -> None:
    """Move ``version`` to a (deprecated) registry stage; the policy opted in."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        client.transition_model_version_stage(
            name, version, stage, archive_existing_versions=archive_existing
        )


@contextlib.contextmanager
def lock(
    client: MlflowClient,
    name: str,
    timeout: float = 60.0,
    stale_after: float = 300.0,
) -> Iterator[None]:
    """Hold the registry lock of ``name`` (see the module docstring)."""
    from mlflow.exceptions import MlflowException

    lock_name = name + LOCK_SUFFIX
    owner = owners.owner_tags()
    deadline = time.monotonic() + timeout
    wait = FIRST_WAIT
    while True:
        try:
            client.create_registered_model(
                lock_name,
                tags={**owner, "acquired_at": f"{time.time():.3f}"},
                description=f"Held while a policy changes {name}; broken when its "
                f"owner is gone or after {stale_after:g} s, or by "
                "`churn-promote action=unlock`.",
            )
            break
        except MlflowException as err:
            # A tracking server answers a lost INSERT race by re-reading the model; if
            # its holder released it in between, that read says it does not exist.
            if err.error_code not in (
                "RESOURCE_ALREADY_EXISTS",
                "RESOURCE_DOES_NOT_EXIST",
            ):
                raise
        held = _break_if_stale(client, lock_name, stale_after)
        if time.monotonic() > deadline:
            raise PolicyError(
                f"{lock_name} is still held by {owners.describe(held)} after "
                f"{timeout:g} s; if that process is gone, run `churn-promote "
                f"action=unlock registered_model={name}` and retry"
            )
        time.sleep(random.uniform(wait / 2, wait))
        wait = min(2 * wait, LONGEST_WAIT)
    try:
        yield
    finally:
        client.delete_registered_model(lock_name)


def unlock(client: MlflowClient, name: str) -> str:
    """Break the lock of ``name`` whoever holds it; what was done, in words."""
    from mlflow.exceptions import MlflowException

    lock_name = name + LOCK_SUFFIX
    try:
        held = client.get_registered_model(lock_name)
        client.delete_registered_model(lock_name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return f"{name} is not locked"
    return f"broke {lock_name}, held by {owners.describe(held.tags)} {_age(held.tags)}"


def _break_if_stale(
    client: MlflowClient, lock_name: str, stale_after: float
) -> dict[str, str]:
    """Break the lock if its owner is gone or it is too old; the holder's tags."""
    from mlflow.exceptions import MlflowException

    try:
        tags = dict(client.get_registered_model(lock_name).tags)
        acquired = float(tags.get("acquired_at", "inf"))
        if owners.owner_gone(tags, acquired):
            why = "its owner is gone"
        elif time.time() - acquired > stale_after:
            why = f"older than {stale_after:g} s"
        else:
            return tags
        log.warning(
            "breaking %s held by %s %s: %s",
            lock_name,
            owners.describe(tags),
            _age(tags),
            why,
        )
        client.delete_registered_model(lock_name)
    except MlflowException:  # released meanwhile
        return {}
    return tags


def _age(tags: Mapping[str, str]) -> str:
    acquired = float(tags.get("acquired_at", "nan"))
    return f"for {time.time() - acquired:.0f} s" if math.isfinite(acquired) else ""
