"""Promotions racing in separate processes never leave the alias on a loser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from policy_helpers import BASE_SPEC, MODEL, only_run

from churn_experiments.policy import ledger

# Each worker decides first (no champion yet: each would promote its run), waits
# until all have decided, then applies: all but the first to take the registry lock
# find @champion moved and must decide again against the new holder.
WORKER = """
import json, os, sys, time
import mlflow
from churn_experiments.policy import decide, engine, load_policies, promote
policy = load_policies(json.loads(sys.argv[1]))[0]
ready, go = sys.argv[2], sys.argv[3]
client = mlflow.MlflowClient()
decision = decide(policy, client, None)
location = client.get_experiment_by_name(policy.candidates.experiment).artifact_location
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
try:
    decision, retried = engine.apply(decision, policy, client, location), False
except engine.HolderChanged:
    decision, retried = promote(policy, client), True
print(json.dumps({"outcome": decision.outcome, "retried": retried}))
"""


@pytest.mark.slow
def test_racing_promotions_leave_the_best_holder(store, client, tmp_path) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.tracking_uri,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    workers = []
    for model in ("lr", "rf", "gb"):
        spec = BASE_SPEC | {
            "candidates": only_run(store.run_ids[model]),
            "compare_to": {"alias": "champion", "margin": 0.0},
        }
        ready = tmp_path / f"{model}.ready"
        workers.append(
            (
                ready,
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        WORKER,
                        json.dumps({f"race_{model}": spec}),
                        str(ready),
                        str(tmp_path / "go"),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in workers):
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)
    Path(tmp_path / "go").touch()
    results = []
    for _, process in workers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["retried"] for r in results) == len(workers) - 1

    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == store.run_ids["gb"]
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert len({v.run_id for v in versions}) == len(versions)  # none registered twice
    assert client.search_registered_models(f"name = '{MODEL}.policy-lock'") == []

    # the applied decisions form one chain, each beating the holder it replaced
    entries = ledger.history(client, MODEL, "champion", limit=100)
    assert len(entries) == len(workers)  # one decision each, retries included
    assert all(e.data.tags["outcome"] != "pending" for e in entries)
    applied = sorted(
        (e for e in entries if e.data.tags["outcome"] == "applied"),
        key=lambda e: e.info.start_time,
    )
    holder = None
    for entry in applied:
        tags = entry.data.tags
        assert tags.get("previous_version") == holder
        if holder is None:
            assert "no version holds @champion" in tags["reason"]
        else:
            assert "beats @champion" in tags["reason"], tags["reason"]
        holder = tags["new_version"]
    assert holder == str(champion.version)
