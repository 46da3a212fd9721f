"""Helpers shared by the policy tests: policies, filters, registry snapshots."""

from __future__ import annotations

import copy
from typing import Any

import mlflow
from support import EXPERIMENT, MODEL

from churn_experiments.policy import Policy, load_policies

BASE_SPEC: dict[str, Any] = {
    "registered_model": MODEL,
    "candidates": {"scope": "experiment", "experiment": EXPERIMENT},
    "select": {"metric": "test_f1", "mode": "max"},
    "actions": {"alias": "champion"},
}


def make_policy(name: str = "test_policy", **sections: Any) -> Policy:
    """A validated policy: ``BASE_SPEC`` with ``sections`` replacing its keys."""
    spec = copy.deepcopy(BASE_SPEC) | sections
    return load_policies({name: spec})[0]


def only_run(run_id: str) -> dict[str, Any]:
    """A ``candidates`` section that admits exactly one run."""
    return {
        "scope": "experiment",
        "experiment": EXPERIMENT,
        "filter": f"attributes.run_id = '{run_id}'",
    }


def snapshot(client: mlflow.MlflowClient) -> dict[str, Any]:
    """Everything a policy may change: registered models, versions, ledger runs."""
    models = {
        m.name: (dict(m.aliases), dict(m.tags), m.description)
        for m in client.search_registered_models()
    }
    versions = {
        (v.name, v.version): (v.current_stage, v.description, dict(v.tags), v.run_id)
        for v in client.search_model_versions()
    }
    ledger = client.get_experiment_by_name("policy-decisions")
    runs = (
        [r.info.run_id for r in client.search_runs([ledger.experiment_id])]
        if ledger
        else None
    )
    return {"models": models, "versions": versions, "ledger": runs}
