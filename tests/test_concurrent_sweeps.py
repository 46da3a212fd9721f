"""Sweeps started at the same instant in a new folder share one new SQLite store."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import mlflow
import pytest
from support import CHEAP, start_sweep

from churn_experiments import store

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sweeps", [3])  # more than the cores: they interleave
def test_sweeps_started_together_in_a_new_folder_all_record_their_runs(
    tmp_path: Path, sweeps: int
) -> None:
    env = {
        key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"
    }
    # a cache without the template: the sweeps also race to build it
    env[store.CACHE_DIR_ENV] = str(tmp_path / "cache")
    barrier = threading.Barrier(sweeps)
    results: dict[int, tuple[int, str]] = {}

    def sweep(number: int) -> None:
        barrier.wait()
        process = start_sweep(
            tmp_path, "model=lr", f"hydra.sweep.dir=multirun/{number}", *CHEAP, env=env
        )
        out, err = process.communicate(timeout=600)
        results[number] = (process.returncode, out + err)

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(sweeps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for code, output in results.values():
        assert code == 0, output[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("customer_churn_prediction")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweep") == "true"]
    jobs = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == len(jobs) == sweeps
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {j.data.tags["mlflow.parentRunId"] for j in jobs} == {
        p.info.run_id for p in parents
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cache", "mlartifacts", "mlflow.db", "multirun"
    ]  # fmt: skip
