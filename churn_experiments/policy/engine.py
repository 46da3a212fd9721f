"""Decide, then apply: a policy's winner through guards and comparison to the registry.

Applying is a compare-and-set under the registry lock (:func:`registry.lock`): the
holder of the compared alias is read again right before anything changes; if it is
not the version the winner was compared with, the decision is taken again (at most
``ATTEMPTS`` times) and otherwise refused. Every decision is recorded in the ledger.

What the lock does not cover: a writer that bypasses it (the MLflow UI, another
script) can still move an alias between the re-read and the set, and breaking a
stale lock (its holder died) is itself a read-then-delete that two waiters could
race. Both windows are milliseconds wide and need such an outside writer or a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from churn_experiments import owners
from churn_experiments.metric_names import held_out_score
from churn_experiments.policy import compare, ledger, registry, rules, sweeps
from churn_experiments.policy.decision import (
    APPLIED,
    FAILED,
    REFUSED,
    UNCHANGED,
    Decision,
)
from churn_experiments.policy.spec import Policy, PolicyError

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

ATTEMPTS = 3


class HolderChanged(Exception):
    """The compared alias moved between deciding and applying."""


def apply_policies(
    policies: Sequence[Policy],
    sweep_run_id: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> list[Decision]:
    """Decide (and unless ``dry_run`` apply) each of the validated ``policies``.

    Called by the sweep callback with the sweep's parent run id, and after a single
    run with its ``run_id`` (see :func:`decide`); the decision tables are logged.
    """
    from churn_experiments.policy.plan import render

    decisions = []
    for policy in policies:
        decision = promote(
            policy, sweep_id=sweep_run_id, dry_run=dry_run, run_id=run_id
        )
        log.info("%s", render(decision))
        decisions.append(decision)
    return decisions


def promote(
    policy: Policy,
    client: MlflowClient | None = None,
    sweep_id: str | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
) -> Decision:
    """Decide ``policy``; unless ``dry_run``, apply and record the decision."""
    import mlflow

    client = client or mlflow.MlflowClient()
    if not dry_run:
        close_abandoned_work(client, policy)
    for attempt in range(1, ATTEMPTS + 1):
        decision = decide(policy, client, sweep_id, run_id)
        if dry_run:
            return decision
        location = _artifact_location(client, policy)
        if decision.verdict != "promote":
            decision.outcome = REFUSED if decision.verdict == "refuse" else UNCHANGED
            ledger.record(client, decision, location)
            return decision
        try:
            return apply(decision, policy, client, location)
        except HolderChanged as changed:
            log.warning(
                "policy %s: %s; deciding again (attempt %d of %d)",
                policy.name,
                changed,
                attempt,
                ATTEMPTS,
            )
    decision.verdict, decision.outcome, decision.actions = "refuse", REFUSED, []
    decision.reason = (
        f"the holder of @{decision.compare_alias} changed during each of "
        f"{ATTEMPTS} attempts; nothing was changed"
    )
    ledger.record(client, decision, location)
    return decision


def close_abandoned_work(client: MlflowClient, policy: Policy) -> None:
    """Close what dead processes of this host left open: runs RUNNING in the
    candidates' experiment (KILLED) and pending ledger entries (``abandoned``)."""
    found = client.get_experiment_by_name(policy.candidates.experiment)
    if found is not None:
        owners.close_orphaned_runs(client, [found.experiment_id], "a promotion")
    ledger.close_abandoned(client)


def decide(
    policy: Policy,
    client: MlflowClient,
    sweep_id: str | None,
    run_id: str | None = None,
) -> Decision:
    """Rank the candidates, check the guards, compare with the alias holder.

    After a single run (``run_id``), a policy of scope ``sweep`` has that run as its
    only candidate: the run is a sweep of one. Reads only: the registry and the
    store are left as they are.
    """
    experiment = _experiment(client, policy)
    excluded: frozenset[str] = frozenset()
    single = run_id if policy.candidates.scope == "sweep" else None
    if policy.candidates.scope == "sweep" and not single:
        sweep_id = sweeps.competing_sweep(client, experiment, sweep_id, policy.source)
    else:
        excluded = sweeps.unfinished_sweeps(client, experiment.experiment_id)
    name = policy.registered_model
    decision = Decision(
        kind="promote",
        policy=policy.name,
        policy_hash=policy.content_hash,
        registered_model=name,
        alias=policy.actions.alias,
        sweep_id=sweep_id if policy.candidates.scope == "sweep" else None,
        run_id=single,
        experiment=experiment.name,
        ranked_by=[f"{metric} {mode}" for metric, mode in rules.ranking(policy)],
        candidates=rules.search_candidates(
            client, experiment.experiment_id, policy, sweep_id, excluded, single
        ),
    )
    winner = decision.winner
    if winner is None:
        decision.reason = (
            f"no FINISHED run with a logged model and {policy.select.metric} matches "
            f"{rules.candidate_filter(policy, sweep_id, single)!r}"
        )
        return decision
    decision.guards = [rules.check_guard(g, winner.metrics) for g in policy.guards]
    decision.config_hash = hashlib.sha256(
        compare.run_config_text(winner.run_id, winner.artifact_uri).encode()
    ).hexdigest()[:16]
    existing = registry.find_version(client, name, winner.run_id)
    decision.existing_version = str(existing.version) if existing else None
    previous = (
        registry.alias_holder(client, name, policy.actions.alias)
        if policy.actions.alias
        else None
    )
    decision.previous_version = previous.version if previous else None
    failed = [g for g in decision.guards if not g.passed]
    if failed:
        decision.reason = f"{winner.model} (run {winner.run_id}) fails " + "; ".join(
            f"guard '{g.guard}': {g.detail}" for g in failed
        )
        return decision
    if previous is not None and previous.run_id == winner.run_id:
        decision.verdict = "unchanged"
        decision.reason = (
            f"version {previous.version} ({winner.model}, run {winner.run_id}) "
            f"already holds @{policy.actions.alias}"
        )
        return decision
    metric = policy.select.metric
    decision.reason = (
        f"{winner.model} ranks first by {metric} ({winner.metrics[metric]:.4f}) "
        f"and passes its {len(policy.guards)} guard(s)"
    )
    if policy.compare_to and not _compare(policy, decision, client):
        return decision
    decision.verdict = "promote"
    decision.actions = planned_actions(policy, decision, existing)
    return decision


def _compare(policy: Policy, decision: Decision, client: MlflowClient) -> bool:
    """Fill in the comparison; False (with the reason) when the winner loses it."""
    rule, winner, name = policy.compare_to, decision.winner, policy.registered_model
    holder = registry.alias_holder(client, name, rule.alias)
    decision.compare_alias = rule.alias
    decision.compare_holder = holder.version if holder else None
    select = policy.select
    if holder is None:
        decision.reason += f"; no version holds @{rule.alias}"
        return True
    if holder.run_id == winner.run_id:
        decision.reason += f"; it already holds @{rule.alias}"
        return True
    try:
        decision.comparison = compare.compare(
            rule,
            held_out_score(select.metric),  # a cross-validated mean: its test score
            select.mode,
            winner,
            holder,
            registry.version_uri(name, holder.version),
            client.get_run(holder.run_id).info.artifact_uri if holder.run_id else None,
        )
    except compare.ContractMismatch as mismatch:
        decision.reason = f"{winner.model} not compared with @{rule.alias}: {mismatch}"
        return False
    outcome = "beats" if decision.comparison.passed else "does not beat"
    decision.reason = (
        f"{winner.model} {outcome} @{rule.alias}: {decision.comparison.reason}"
    )
    return decision.comparison.passed


def planned_actions(
    policy: Policy, decision: Decision, existing: Any | None
) -> list[str]:
    """What applying will do, in order, in words."""
    winner, actions = decision.winner, policy.actions
    planned = [
        f"reuse version {existing.version} (already registered from run "
        f"{winner.run_id})"
        if existing
        else f"register {winner.model_uri} (run {winner.run_id}) as a new version "
        f"of {policy.registered_model}"
    ]
    if actions.description and not (existing and existing.description):
        planned.append(f"describe it: {description(policy, decision)!r}")
    tags = {**_tags(policy), f"policy.{policy.name}.decision": "<ledger run id>"}
    planned.append("tag it: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
    if actions.alias:
        planned.append(
            f"point @{actions.alias} at it (now: "
            f"{_version_label(decision.previous_version)})"
        )
    if actions.stage:
        archive = (
            f", archiving the versions now in {actions.stage}"
            if actions.archive_existing_versions
            else ""
        )
        planned.append(f"move it to stage {actions.stage}{archive} (deprecated)")
    return planned


def description(policy: Policy, decision: Decision) -> str:
    """The version description from the policy's template."""
    winner = decision.winner
    return policy.actions.description.format_map(
        {
            "policy": policy.name,
            "metric": policy.select.metric,
            "value": winner.metrics[policy.select.metric],
            "model": winner.model,
            "run_id": winner.run_id,
            "sweep_id": decision.sweep_id or "-",
            "experiment": decision.experiment,
        }
    )


def apply(
    decision: Decision, policy: Policy, client: MlflowClient, location: str | None
) -> Decision:
    """Carry out a ``promote`` decision under the registry lock, and record it."""
    name, actions = policy.registered_model, policy.actions
    with registry.lock(client, name):
        if decision.compare_alias:
            now = registry.alias_holder(client, name, decision.compare_alias)
            if (now.version if now else None) != decision.compare_holder:
                raise HolderChanged(
                    f"@{decision.compare_alias} moved from "
                    f"{_version_label(decision.compare_holder)} to "
                    f"{_version_label(now.version if now else None)}"
                )
        if actions.alias:
            now = registry.alias_holder(client, name, actions.alias)
            if now is not None and now.run_id == decision.winner.run_id:
                return _already_applied(decision, client, location, now.version)
            decision.previous_version = now.version if now else None
        entry = ledger.open_entry(client, decision, location)
        try:
            _change_registry(decision, policy, client, entry)
        except Exception as err:
            decision.outcome = FAILED
            decision.reason = f"failed while applying: {type(err).__name__}: {err}"
            with contextlib.suppress(Exception):  # the store may be what failed
                ledger.close_entry(client, decision)
            raise PolicyError(
                f"policy {policy.name}: {decision.reason} (ledger run {entry} "
                f"records it as {FAILED}; the registry may be partly changed: "
                f"new version {_version_label(decision.new_version)})"
            ) from err
    decision.outcome = APPLIED
    ledger.close_entry(client, decision)
    return decision


def _already_applied(
    decision: Decision, client: MlflowClient, location: str | None, version: str
) -> Decision:
    """Record ``decision`` as unchanged: a concurrent promotion of the same run
    set the alias between deciding and taking the lock."""
    winner = decision.winner
    decision.verdict, decision.outcome, decision.actions = "unchanged", UNCHANGED, []
    decision.previous_version = version
    decision.reason = (
        f"version {version} ({winner.model}, run {winner.run_id}) already holds "
        f"@{decision.alias}: another promotion set it while this one was deciding"
    )
    ledger.record(client, decision, location)
    return decision


def _change_registry(
    decision: Decision, policy: Policy, client: MlflowClient, entry: str
) -> None:
    name, actions, winner = policy.registered_model, policy.actions, decision.winner
    version, created = registry.register(client, name, winner.model_id, winner.run_id)
    decision.new_version = str(version.version)
    log.info(
        "policy %s: %s version %s of %s",
        policy.name,
        "registered" if created else "reusing",
        version.version,
        name,
    )
    registry.annotate(
        client,
        version,
        description(policy, decision) if actions.description else None,
        {
            **_tags(policy),
            f"policy.{policy.name}.decision": entry,
            f"policy.{policy.name}.decided_at": decision.decided_at,
        },
    )
    if actions.alias:
        client.set_registered_model_alias(name, actions.alias, str(version.version))
    if actions.stage:
        registry.transition(
            client,
            name,
            str(version.version),
            actions.stage,
            actions.archive_existing_versions,
        )


def _tags(policy: Policy) -> dict[str, str]:
    """The version tags the policy sets, as the strings the registry stores."""
    return {str(key): str(value) for key, value in policy.actions.tags.items()}


def _experiment(client: MlflowClient, policy: Policy) -> Any:
    found = client.get_experiment_by_name(policy.candidates.experiment)
    if found is None:
        raise PolicyError(
            f"{policy.source}: experiment {policy.candidates.experiment!r} does not "
            "exist in the tracking store"
        )
    return found


def _artifact_location(client: MlflowClient, policy: Policy) -> str:
    """Ledger artifacts go where the candidates' experiment keeps its own."""
    return _experiment(client, policy).artifact_location


def _version_label(version: str | None) -> str:
    return f"version {version}" if version else "none"
