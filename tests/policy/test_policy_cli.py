"""``churn-promote``: apply, dry run, history, rollback, strict exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from policy_helpers import MODEL, snapshot
from support import promote

from churn_experiments.errors import ConfigError
from churn_experiments.policy.spec import PolicyError
from churn_experiments.promote import EXIT_REFUSED


def test_dry_run_prints_the_decision_table_and_changes_nothing(
    store, client, capsys
) -> None:
    before = snapshot(client)
    assert (
        promote("policy=best_f1", "dry_run=true", f"sweep={store.parent_run_id}") == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("DRY RUN: nothing is changed or recorded.")
    assert "Policy best_f1 [" in out and f"-> {MODEL}@champion" in out
    assert "would PROMOTE" in out
    assert (
        f"| 1      | {client.get_run(store.run_ids['gb']).data.tags['model_family']}"
        in out
    )
    assert "| test_roc_auc >= 0.80 " in out
    assert "point @champion at it (now: none)" in out
    assert snapshot(client) == before


def test_the_latest_sweep_is_the_default(store, capsys) -> None:
    assert promote("policy=best_recall", "dry_run=true") == 0
    assert f"sweep {store.parent_run_id}" in capsys.readouterr().out


def test_history_and_rollback_commands(store, client, capsys) -> None:
    assert promote("action=history") == 0
    assert "No decisions recorded yet." in capsys.readouterr().out
    promote("policy=[best_f1,best_recall]", f"sweep={store.parent_run_id}")
    capsys.readouterr()
    assert promote("action=history", "alias=champion") == 0
    history = capsys.readouterr().out
    assert f"| best_f1  | applied   | {MODEL}@champion | - -> 1" in history
    assert "best_recall" not in history
    with pytest.raises(PolicyError, match="nothing to roll back to"):
        promote("action=rollback", "alias=champion")
    with pytest.raises(ConfigError, match="needs alias=NAME"):
        promote("action=rollback")


def test_apply_needs_a_policy_and_a_known_action(store) -> None:
    with pytest.raises(ConfigError, match="select a policy"):
        promote()
    with pytest.raises(ConfigError, match="allowed: apply, history, rollback, unlock"):
        promote("action=undo")


def test_strict_exits_3_when_a_policy_is_refused(store, capsys) -> None:
    refused = ("policy=best_f1", "policy.best_f1.guards=['test_roc_auc >= 0.99']")
    assert promote(*refused, "dry_run=true") == 0
    assert "would REFUSE" in capsys.readouterr().out
    assert promote(*refused, "dry_run=true", "strict=true") == EXIT_REFUSED
    assert promote("policy=best_f1", "dry_run=true", "strict=true") == 0


def promote_process(uri: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m churn_experiments.promote ARGS`` on the store at ``uri``."""
    return subprocess.run(
        [sys.executable, "-m", "churn_experiments.promote", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        timeout=120,
    )


@pytest.mark.slow
def test_promote_runs_as_a_module(store, client) -> None:
    done = promote_process(store.tracking_uri, "policy=[best_f1,best_recall]")
    assert done.returncode == 0, done.stderr
    assert "Policy best_f1 [" in done.stdout and "APPLIED (version 1)" in done.stdout
    assert (
        "Policy best_recall [" in done.stdout and "APPLIED (version 2)" in done.stdout
    )
    assert (
        client.get_model_version_by_alias(MODEL, "champion").run_id
        == (store.run_ids["gb"])
    )
    refused = promote_process(
        store.tracking_uri,
        "policy=best_recall",
        "policy.best_recall.guards=['test_roc_auc >= 0.99']",
        "strict=true",
    )
    assert refused.returncode == EXIT_REFUSED, refused.stderr
    assert "strict=true: refused by best_recall" in refused.stderr
    failed = promote_process("http://127.0.0.1:9", "policy=best_f1")  # closed port
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "error: cannot reach the tracking store http://127.0.0.1:9 (connection "
        "refused); check that it runs and that MLFLOW_TRACKING_URI (or tracking.uri) "
        "is right"
    ]
