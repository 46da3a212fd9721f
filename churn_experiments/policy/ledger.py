"""The append-only ledger: one run per decision in the ``policy-decisions`` experiment,
and the rollback it makes possible.

Each run's tags summarise the decision (policy, hashes, previous and new alias
holder, outcome, reason) and its ``decision.json`` artifact holds all of it (ranked
candidates with their metrics, guards, comparison, actions). A decision that changes
the registry is opened as ``pending`` before the first change and marked ``applied``
only after the last one; a failure marks it ``failed`` (the run is FAILED). A
process that dies half-way leaves it ``pending`` (the run RUNNING); the next
promotion on the same host closes it as ``abandoned`` (the run KILLED), saying what
was and was not done and where the alias now points.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING

from churn_experiments import owners
from churn_experiments.policy import registry
from churn_experiments.policy.decision import (
    ABANDONED,
    APPLIED,
    FAILED,
    PENDING,
    Decision,
)
from churn_experiments.policy.spec import PolicyError
from churn_experiments.tracking import ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

log = logging.getLogger(__name__)

EXPERIMENT = "policy-decisions"


def experiment_id(client: MlflowClient, artifact_location: str | None = None) -> str:
    """The ledger experiment's id, created (race-safe) with ``artifact_location``."""
    return ensure_experiment(EXPERIMENT, artifact_location, client)


def open_entry(
    client: MlflowClient, decision: Decision, artifact_location: str | None
) -> str:
    """Start the decision's run as ``pending``; sets and returns its run id."""
    decision.outcome = PENDING
    return _start(client, decision, artifact_location)


def close_entry(client: MlflowClient, decision: Decision) -> None:
    """Write the decision's final tags and ``decision.json``, and end its run."""
    from mlflow.entities import RunTag

    run_id = decision.ledger_run_id
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in decision.tags().items()])
    client.log_text(run_id, json.dumps(decision.to_dict(), indent=2), "decision.json")
    client.set_terminated(
        run_id, "FAILED" if decision.outcome == FAILED else "FINISHED"
    )
    log.info(
        "ledger: %s %s (%s) recorded as run %s",
        decision.kind,
        decision.policy,
        decision.outcome,
        run_id,
    )


def record(
    client: MlflowClient, decision: Decision, artifact_location: str | None
) -> None:
    """Record, in one go, a decision that changed nothing (refused, unchanged)."""
    _start(client, decision, artifact_location)
    close_entry(client, decision)


def _start(
    client: MlflowClient, decision: Decision, artifact_location: str | None
) -> str:
    run = client.create_run(
        experiment_id(client, artifact_location),
        run_name=f"{decision.policy} {decision.decided_at}",
        tags={**decision.tags(), **owners.owner_tags()},
    )
    decision.ledger_run_id = run.info.run_id
    return run.info.run_id


def close_abandoned(client: MlflowClient) -> list[str]:
    """Close as ``abandoned`` the pending entries whose process on this host is gone.

    Each one's reason says what of its plan the registry shows done and not done,
    and where its alias points now; a warning repeats it. Returns those reasons.
    """
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.outcome = '{PENDING}' and attributes.status = 'RUNNING'",
        max_results=1000,
    )
    reasons = []
    for found_run in runs:
        if not owners.owner_gone(found_run.data.tags, found_run.info.start_time / 1000):
            continue
        run = owners.still_open(client, found_run.info.run_id)  # closed meanwhile?
        if run is None or run.data.tags.get("outcome") != PENDING:
            continue
        reason = (
            f"ledger entry {run.info.run_id} ({run.data.tags.get('policy')}) was left "
            f"pending by {owners.describe(run.data.tags)}, which ended: "
            f"{_what_was_done(client, run)}"
        )
        client.set_tag(run.info.run_id, "outcome", ABANDONED)
        client.set_tag(run.info.run_id, "reason", reason[:5000])
        client.set_terminated(run.info.run_id, "KILLED")
        log.warning("%s; closed as %s", reason, ABANDONED)
        reasons.append(reason)
    return reasons


def _what_was_done(client: MlflowClient, entry: Run) -> str:
    """``done: ...; not done: ...; now @alias -> version N`` for a pending entry."""
    tags = entry.data.tags
    name, alias, winner = (
        tags["registered_model"],
        tags.get("alias"),
        tags.get("winner_run_id"),
    )
    done, not_done = [], []
    version = registry.find_version(client, name, winner) if winner else None
    if winner:
        if version is None:
            not_done.append(f"register run {winner}")
        else:
            done.append(f"version {version.version} registered from run {winner}")
            tagged = version.tags.get(f"policy.{tags['policy']}.decision")
            (done if tagged == entry.info.run_id else not_done).append(
                f"tag version {version.version} with this decision"
            )
    holder = registry.alias_holder(client, name, alias) if alias else None
    if alias and version is not None:
        moved = holder is not None and holder.version == str(version.version)
        (done if moved else not_done).append(f"point @{alias} at it")
    now = f"@{alias} -> " + (f"version {holder.version}" if holder else "none")
    return (
        f"done: {', '.join(done) or 'nothing'}; not done: "
        f"{', '.join(not_done) or 'nothing'}; now {name}{now if alias else ''}"
    )


def history(
    client: MlflowClient,
    registered_model: str | None = None,
    alias: str | None = None,
    policy: str | None = None,
    limit: int = 20,
) -> list[Run]:
    """The latest ``limit`` decisions, newest first, optionally narrowed."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return []
    clauses = [
        f"tags.{key} = '{value}'"
        for key, value in (
            ("registered_model", registered_model),
            ("alias", alias),
            ("policy", policy),
        )
        if value
    ]
    return list(
        client.search_runs(
            [found.experiment_id],
            filter_string=" and ".join(clauses),
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )
    )


def last_promotion(
    client: MlflowClient, registered_model: str, alias: str, version: str
) -> Run | None:
    """The latest applied promotion that pointed ``alias`` at ``version``."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=(
            f"tags.registered_model = '{registered_model}' and tags.alias = '{alias}' "
            f"and tags.kind = 'promote' and tags.outcome = '{APPLIED}' "
            f"and tags.new_version = '{version}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def rollback(
    registered_model: str,
    alias: str,
    client: MlflowClient | None = None,
    dry_run: bool = False,
) -> Decision:
    """Point ``alias`` back at the version it held before its latest promotion.

    The promotion is the latest applied one in the ledger that set ``alias`` to its
    current holder; the rollback is itself recorded as a decision.
    """
    import mlflow

    client = client or mlflow.MlflowClient()
    name = registered_model
    guard = contextlib.nullcontext() if dry_run else registry.lock(client, name)
    with guard:
        current = registry.alias_holder(client, name, alias)
        if current is None:
            raise PolicyError(f"{name}@{alias} is not set: nothing to roll back")
        entry = last_promotion(client, name, alias, current.version)
        if entry is None:
            raise PolicyError(
                f"no applied promotion in the ledger set {name}@{alias} to version "
                f"{current.version}, so its previous holder is unknown"
            )
        target = entry.data.tags.get("previous_version")
        if not target:
            raise PolicyError(
                f"decision {entry.info.run_id} ({entry.data.tags.get('policy')}) set "
                f"@{alias} to version {current.version} when no version held it: "
                "nothing to roll back to"
            )
        decision = Decision(
            kind="rollback",
            policy="rollback",
            policy_hash="-",
            registered_model=name,
            alias=alias,
            verdict="promote",
            reason=f"roll back decision {entry.info.run_id} "
            f"({entry.data.tags.get('policy')}): @{alias} version "
            f"{current.version} -> {target}",
            previous_version=current.version,
            actions=[f"point @{alias} at version {target} (now: {current.version})"],
        )
        client.get_model_version(name, target)  # fails clearly if it was deleted
        if dry_run:
            return decision
        run_id = open_entry(client, decision, None)
        try:
            client.set_registered_model_alias(name, alias, target)
            client.set_model_version_tag(
                name, target, "policy.rollback.decision", run_id
            )
        except Exception as err:
            decision.outcome = FAILED
            decision.reason = f"failed while applying: {type(err).__name__}: {err}"
            with contextlib.suppress(Exception):
                close_entry(client, decision)
            raise PolicyError(f"rollback of {name}@{alias}: {decision.reason}") from err
        decision.new_version = target
    decision.outcome = APPLIED
    close_entry(client, decision)
    return decision
