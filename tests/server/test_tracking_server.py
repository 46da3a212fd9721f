"""Sweeps and promotions against a team server: `mlflow server` on PostgreSQL."""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import mlflow
import pytest
from omegaconf import OmegaConf
from support import CHEAP, MODEL, MODELS, compose_config
from test_parallel import joblib_sweep, sweep_runs

from churn_experiments.data import load_dataset
from churn_experiments.policy import load_policies, promote
from churn_experiments.policy.ledger import EXPERIMENT as LEDGER

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

RACE_MODEL = "churn_race_model"  # a registry entry of its own for the race
PROMOTERS_PER_RUN = 5  # 4 runs x 5 = 20 concurrent promotions
# what a promotion imports, loaded once by the racing processes' fork server
PRELOADED = [
    "mlflow.pyfunc",
    "mlflow.sklearn",
    "sklearn.ensemble",
    "skops.io",  # its import lists every public type: ~0.7 s, 2 s in the race
    "churn_experiments.evaluation",
    "churn_experiments.policy.compare",
    "churn_experiments.policy.engine",
]


@pytest.fixture(scope="module")
def server_sweep(tracking_server, tmp_path_factory) -> mlflow.MlflowClient:
    """The four-model sweep on 2 joblib workers, ``tracking=server policy=best_f1``
    (explanations and the profile under joblib: see ``tests/test_parallel.py``)."""
    done = joblib_sweep(
        tmp_path_factory.mktemp("server_sweep"),
        tracking_server.uri,
        "tracking=server",
        "policy=best_f1",
        *CHEAP,
    )
    assert "database is locked" not in done.stdout + done.stderr
    return mlflow.MlflowClient(tracking_server.uri)


@pytest.fixture
def server_is_global(tracking_server) -> Iterator[None]:
    """Point MLflow's process-wide tracking URI at the server for one test.

    ``models:/name@alias`` resolves through it: ``download_artifacts(...,
    registry_uri=...)`` still asks the global registry for the alias (MLflow 3.17).
    """
    saved = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_server.uri)
    yield
    mlflow.set_tracking_uri(saved)


def test_joblib_sweep_records_four_finished_children_on_the_server(
    tracking_server, server_sweep
):
    parent, children = sweep_runs(server_sweep)
    assert parent.info.status == "FINISHED"
    assert sorted(run.data.tags["model_family"] for run in children) == sorted(MODELS)
    assert {run.info.status for run in children} == {"FINISHED"}
    # artifacts go through the server into its --artifacts-destination
    for run in (parent, *children):
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert list(tracking_server.artifacts.rglob("leaderboard.csv"))
    assert len(list(tracking_server.artifacts.rglob("MLmodel"))) == len(MODELS)


def test_best_f1_policy_promotes_the_best_model_through_the_server(
    server_sweep, server_is_global
):
    _, children = sweep_runs(server_sweep)
    best = max(children, key=lambda run: run.data.metrics["test_f1"])
    champion = server_sweep.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == best.info.run_id
    assert best.data.tags["model_family"] == "gb"  # as with the basic launcher
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    rows = load_dataset(OmegaConf.to_container(compose_config().dataset, resolve=True))
    assert len(model.predict(rows.drop(columns="Target").head(5))) == 5


def race_policy(run_id: str) -> Any:
    """Promote exactly ``run_id`` to @champion if it beats the holder on test_f1."""
    (policy,) = load_policies(
        {
            "race": {
                "registered_model": RACE_MODEL,
                "candidates": {
                    "scope": "experiment",
                    "experiment": compose_config().experiment_name,
                    "filter": f"attributes.run_id = '{run_id}'",
                },
                "select": {"metric": "test_f1", "mode": "max"},
                "compare_to": {"alias": "champion", "margin": 0.0},
                "actions": {"alias": "champion"},
            }
        }
    )
    return policy


def promote_after_barrier(
    tracking_uri: str, run_id: str, barrier: Any, results: Any
) -> None:
    """One competing process: wait for all the others, then promote ``run_id``."""
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    try:
        policy, client = race_policy(run_id), mlflow.MlflowClient(tracking_uri)
        barrier.wait(timeout=300)
        decision = promote(policy, client)
        results.put((run_id, decision.outcome, decision.reason))
    except Exception:  # reported to the test, which fails on it
        results.put((run_id, "error", traceback.format_exc()))


def racing_processes() -> multiprocessing.context.BaseContext:
    """Processes forked from a server that imported MLflow, scikit-learn and the
    policy engine once: each competitor is a process of its own, as on a team's
    machines, without 20 cold imports of MLflow (about 4 s of CPU each)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOADED, promote_after_barrier.__module__])
    return context


def test_concurrent_promotions_never_leave_champion_on_a_loser(
    tracking_server, server_sweep
):
    _, children = sweep_runs(server_sweep)
    f1 = {run.info.run_id: run.data.metrics["test_f1"] for run in children}
    context = racing_processes()
    barrier = context.Barrier(len(f1) * PROMOTERS_PER_RUN)
    results = context.Queue()
    processes = [
        context.Process(
            target=promote_after_barrier,
            args=(tracking_server.uri, run_id, barrier, results),
        )
        for run_id in f1
        for _ in range(PROMOTERS_PER_RUN)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    log.info("race outcomes: %s", Counter(outcome for _, outcome, _ in outcomes))

    client = server_sweep
    ledger = client.search_runs(
        [client.get_experiment_by_name(LEDGER).experiment_id],
        f"tags.registered_model = '{RACE_MODEL}'",
        order_by=["attributes.start_time ASC"],
    )
    # The applied moves form one chain, each from the version the previous one set,
    # and each one beat the version it replaced.
    applied = [run.data.tags for run in ledger if run.data.tags["outcome"] == "applied"]
    previous = None
    for tags in applied:
        assert tags.get("previous_version") == previous
        previous = tags["new_version"]
    chain = [f1[tags["winner_run_id"]] for tags in applied]
    assert chain == sorted(set(chain))
    champion = client.get_model_version_by_alias(RACE_MODEL, "champion")
    assert champion.version == previous
    losers = {
        run.data.tags["winner_run_id"]
        for run in ledger
        if "does not beat" in run.data.tags.get("reason", "")
    }
    assert champion.run_id not in losers
    assert f1[champion.run_id] == max(chain)
    # and every process got to a decision, recorded once
    errors = [detail for _, outcome, detail in outcomes if outcome == "error"]
    assert not errors, "\n".join(errors)
    assert len(ledger) == len(processes)
