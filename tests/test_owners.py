"""Runs and ledger entries left open by a process that is gone are closed, and only
those: one its owner closed just before ending is left as its owner left it."""

from __future__ import annotations

import mlflow
import pytest

from churn_experiments import owners
from churn_experiments.policy import ledger

PENDING_ENTRY = {"outcome": ledger.PENDING, "policy": "best_f1", **owners.owner_tags()}


def open_run(client: mlflow.MlflowClient, experiment: str, tags: dict) -> str:
    """A RUNNING run of ``experiment`` (created if needed) tagged ``tags``."""
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id if found else client.create_experiment(experiment)
    )
    return client.create_run(experiment_id, tags=tags).info.run_id


def owner_ends_then_dies(
    client: mlflow.MlflowClient, monkeypatch: pytest.MonkeyPatch, **tags: str
) -> None:
    """The owner's last writes land between the closer's search and its check that
    the owner is gone: it sets ``tags``, ends its runs FINISHED, then exits."""

    def gone(run_tags, since=None):
        for run in client.search_runs(
            [e.experiment_id for e in client.search_experiments()],
            "attributes.status = 'RUNNING'",
        ):
            for key, value in tags.items():
                client.set_tag(run.info.run_id, key, value)
            client.set_terminated(run.info.run_id, "FINISHED")
        return True

    monkeypatch.setattr(owners, "owner_gone", gone)


def test_a_run_its_owner_ended_before_ending_itself_stays_finished(
    mlflow_store, monkeypatch
):
    client = mlflow.MlflowClient()
    run_id = open_run(client, "sweeps", owners.owner_tags())
    owner_ends_then_dies(client, monkeypatch)

    experiment = client.get_experiment_by_name("sweeps").experiment_id
    assert owners.close_orphaned_runs(client, [experiment], "the next sweep") == []
    assert client.get_run(run_id).info.status == "FINISHED"
    assert owners.REASON_TAG not in client.get_run(run_id).data.tags


def test_a_run_left_running_by_a_gone_owner_is_killed(mlflow_store, monkeypatch):
    client = mlflow.MlflowClient()
    run_id = open_run(client, "sweeps", owners.owner_tags())
    monkeypatch.setattr(owners, "owner_gone", lambda tags, since=None: True)

    experiment = client.get_experiment_by_name("sweeps").experiment_id
    assert owners.close_orphaned_runs(client, [experiment], "the next sweep") == [
        run_id
    ]
    closed = client.get_run(run_id)
    assert closed.info.status == "KILLED"
    assert "found by the next sweep" in closed.data.tags[owners.REASON_TAG]


def test_a_ledger_entry_its_owner_closed_before_ending_is_not_abandoned(
    mlflow_store, monkeypatch
):
    client = mlflow.MlflowClient()
    entry = open_run(client, ledger.EXPERIMENT, PENDING_ENTRY)
    owner_ends_then_dies(client, monkeypatch, outcome="applied")

    assert ledger.close_abandoned(client) == []
    closed = client.get_run(entry)
    assert (closed.info.status, closed.data.tags["outcome"]) == ("FINISHED", "applied")
