"""How long a policy takes to decide over a large experiment.

Run: ``python benchmarks/policy.py [--runs 10000] [--repeat 7]``. It builds a SQLite
store holding one experiment of ``--runs`` finished runs (100 per sweep, each with
the eight metrics a job logs, a model output and a ``config.yaml``), then times
:func:`churn_experiments.policy.decide` (the median of ``--repeat`` calls) for a
policy over the whole experiment and one over a single sweep, and, for contrast,
loading every run with ``search_runs``. The timed code uses MLflow's public API
only; the store is built with MLflow's own SQLAlchemy tables because creating 10,000
runs through the client takes minutes.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

import numpy as np
from _common import fresh_dir, median

RUNS_PER_SWEEP = 100
FAMILIES = ("lr", "rf", "svc", "gb")
CONFIG = """dataset:
  name: travel_churn
  dir: data
  file: Customertravel.csv
"""


def build_store(folder: Path, runs: int) -> tuple[str, str]:
    """A store with ``runs`` finished runs; returns its URI and the last sweep's id."""
    import mlflow
    import sqlalchemy
    from mlflow.store.tracking.dbmodels import models

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    experiment_id = client.create_experiment(
        "customer_churn_prediction", artifact_location=(folder / "art").as_uri()
    )
    artifacts = folder / "art" / "shared" / "artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "config.yaml").write_text(CONFIG)
    rng = np.random.default_rng(0)
    now = int(time.time() * 1000)
    rows: dict[str, list[dict]] = {
        "runs": [],
        "tags": [],
        "latest_metrics": [],
        "metrics": [],
        "inputs": [],
    }
    sweep_id = ""
    for index in range(runs):
        run_id = uuid.uuid4().hex
        if index % RUNS_PER_SWEEP == 0:
            sweep_id = uuid.uuid4().hex
            _add_run(rows, sweep_id, experiment_id, now + index, artifacts)
            rows["tags"].append({"key": "sweep", "value": "true", "run_uuid": sweep_id})
        _add_run(rows, run_id, experiment_id, now + index, artifacts)
        for key, value in (
            ("model_family", FAMILIES[index % 4]),
            ("sweep_id", sweep_id),
            ("mlflow.parentRunId", sweep_id),
        ):
            rows["tags"].append({"key": key, "value": value, "run_uuid": run_id})
        test = rng.uniform(0.3, 0.95, size=6)
        values = {
            "train_accuracy": min(test[0] + rng.uniform(0, 0.15), 1.0),
            "test_accuracy": test[0],
            "test_precision": test[1],
            "test_recall": test[2],
            "test_f1": test[3],
            "test_roc_auc": test[4],
            "test_log_loss": 1 - test[5],
            "fit_seconds": rng.uniform(0.01, 1.0),
        }
        for key, value in values.items():
            metric = {
                "key": key,
                "value": float(value),
                "timestamp": now,
                "step": 0,
                "is_nan": False,
                "run_uuid": run_id,
            }
            rows["latest_metrics"].append(metric)
            rows["metrics"].append(metric)
        rows["inputs"].append(
            {
                "input_uuid": uuid.uuid4().hex,
                "source_type": "RUN_OUTPUT",
                "source_id": run_id,
                "destination_type": "MODEL_OUTPUT",
                "destination_id": f"m-{uuid.uuid4().hex}",
                "step": 0,
            }
        )
    tables = {
        "runs": models.SqlRun,
        "tags": models.SqlTag,
        "latest_metrics": models.SqlLatestMetric,
        "metrics": models.SqlMetric,
        "inputs": models.SqlInput,
    }
    engine = sqlalchemy.create_engine(uri)
    with engine.begin() as connection:
        for name, model in tables.items():
            connection.execute(model.__table__.insert(), rows[name])
    engine.dispose()
    return uri, sweep_id


def _add_run(
    rows: dict[str, list[dict]],
    run_id: str,
    experiment_id: str,
    start: int,
    artifacts: Path,
) -> None:
    rows["runs"].append(
        {
            "run_uuid": run_id,
            "name": run_id[:8],
            "status": "FINISHED",
            "start_time": start,
            "end_time": start + 1000,
            "lifecycle_stage": "active",
            "artifact_uri": artifacts.as_uri(),
            "experiment_id": int(experiment_id),
            "source_type": "LOCAL",
            "source_name": "benchmark",
            "entry_point_name": "",
            "user_id": "benchmark",
            "source_version": "",
        }
    )


def time_decide(uri: str, scope: str, sweep_id: str, repeat: int) -> list[float]:
    """Seconds per decide() call for a best-F1 policy over ``scope``."""
    import mlflow

    from churn_experiments.policy import decide, load_policies

    policy = load_policies(
        {
            f"bench_{scope}": {
                "candidates": {
                    "scope": scope,
                    "experiment": "customer_churn_prediction",
                    "filter": "tags.model_family != 'svc'",
                },
                "select": {
                    "metric": "test_f1",
                    "tie_breakers": [{"metric": "test_roc_auc"}],
                },
                "guards": [
                    "test_roc_auc >= 0.5",
                    "train_accuracy - test_accuracy <= 0.1",
                ],
                "actions": {"alias": "champion"},
            }
        }
    )[0]
    client = mlflow.MlflowClient(uri)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        decision = decide(policy, client, sweep_id)
        seconds.append(time.perf_counter() - started)
    assert decision.winner is not None
    return seconds


def time_load_all(uri: str, repeat: int) -> list[float]:
    """Seconds to load every run of the experiment (what users did by hand)."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("customer_churn_prediction")
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        mlflow.search_runs([experiment.experiment_id], max_results=50_000)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    """Build the store, time the decisions, print the figures."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--runs", type=int, default=10_000)
    arguments.add_argument("--repeat", type=int, default=7)
    args = arguments.parse_args()

    folder = fresh_dir("bench-policy-")
    started = time.perf_counter()
    uri, sweep_id = build_store(folder, args.runs)
    mlflow.set_tracking_uri(uri)
    print(
        f"store: {args.runs} runs in {args.runs // RUNS_PER_SWEEP} sweeps, built in "
        f"{time.perf_counter() - started:.1f} s ({folder})"
    )
    for scope in ("experiment", "sweep"):
        seconds = time_decide(uri, scope, sweep_id, args.repeat)
        print(
            f"decide, candidates = {scope:<10}: median {median(seconds):.3f} s, "
            f"max {max(seconds):.3f} s over {args.repeat} calls"
        )
    seconds = time_load_all(uri, max(1, args.repeat // 3))
    print(f"for contrast, loading all {args.runs} runs: median {median(seconds):.2f} s")


if __name__ == "__main__":
    main()
