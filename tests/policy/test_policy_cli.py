"""``python -m churn_experiments.promote``: apply, dry run, history, rollback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from policy_helpers import MODEL, snapshot

from churn_experiments.policy.spec import PolicyError
from churn_experiments.promote import run


def test_dry_run_prints_the_decision_table_and_changes_nothing(
    store, client, capsys
) -> None:
    before = snapshot(client)
    assert run(["policy=best_f1", "--dry-run", "--sweep", store.parent_run_id]) == 0
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
    assert run(["policy=best_recall", "--dry-run"]) == 0
    assert f"sweep {store.parent_run_id}" in capsys.readouterr().out


def test_history_and_rollback_commands(store, client, capsys) -> None:
    assert run(["history"]) == 0
    assert "No decisions recorded yet." in capsys.readouterr().out
    run(["policy=[best_f1,best_recall]", f"--sweep={store.parent_run_id}"])
    capsys.readouterr()
    assert run(["history", "--alias", "champion"]) == 0
    history = capsys.readouterr().out
    assert f"| best_f1  | applied   | {MODEL}@champion | - -> 1" in history
    assert "best_recall" not in history
    with pytest.raises(PolicyError, match="nothing to roll back to"):
        run(["rollback", "--alias", "champion"])
    with pytest.raises(SystemExit):
        run(["rollback"])  # --alias is required
    assert "--alias" in capsys.readouterr().err


def test_apply_needs_a_policy(store, capsys) -> None:
    with pytest.raises(SystemExit):
        run(["apply"])
    assert "select a policy" in capsys.readouterr().err


@pytest.mark.slow
def test_promote_runs_as_a_module(store, client) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "churn_experiments.promote",
            "policy=[best_f1,best_recall]",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": store.tracking_uri},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Policy best_f1 [" in done.stdout and "APPLIED (version 1)" in done.stdout
    assert (
        "Policy best_recall [" in done.stdout and "APPLIED (version 2)" in done.stdout
    )
    assert (
        client.get_model_version_by_alias(MODEL, "champion").run_id
        == (store.run_ids["gb"])
    )
    failed = subprocess.run(
        [sys.executable, "-m", "churn_experiments.promote", "policy=best_f1"],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},  # closed
        timeout=120,
    )
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "error: cannot reach the tracking store http://127.0.0.1:9 (connection "
        "refused); check that it runs and that MLFLOW_TRACKING_URI (or tracking.uri) "
        "is right"
    ]
