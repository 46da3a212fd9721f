"""Figures drawn in the worker process land on their run; a failure loses nothing."""

from __future__ import annotations

import operator
import os
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from churn_experiments import figures, leaderboard

TABLE = pd.DataFrame({"model": ["lr"], "test_f1": [0.27]})


def test_figures_are_drawn_in_the_worker_and_a_failure_is_tagged(
    mlflow_store, figure_worker
):
    client = mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    table = pd.DataFrame({"model": ["lr", "rf"], "test_f1": [0.27, 0.64]})
    figures.submit(run_id, "charts", operator.truediv, 1, 0)  # raises in the worker
    figures.submit(run_id, "charts", leaderboard.figures, table, "test_f1")
    assert figures._executor is not None  # the worker draws them
    figures.collect()
    listed = [a.path for a in client.list_artifacts(run_id, "charts")]
    assert listed == ["charts/leaderboard.png"]
    png = client.download_artifacts(run_id, "charts/leaderboard.png")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get_run(run_id).data.tags["figures_error"] == (
        "charts: division by zero"
    )


def test_a_sweep_that_fails_to_start_leaves_figures_to_each_job(mlflow_store):
    """A refused sweep start must not leave this process deferring its figures."""
    from support import compose_config

    from churn_experiments.sweep_callback import MlflowSweepCallback

    config = compose_config(["dataset.split.test_size=7"], return_hydra_config=True)
    with pytest.raises(SystemExit):
        MlflowSweepCallback().on_multirun_start(config)
    client = mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    figures.submit(run_id, "charts", leaderboard.figures, TABLE, "test_f1")
    figures.collect_unless_deferred()
    assert [a.path for a in client.list_artifacts(run_id, "charts")] == [
        "charts/leaderboard.png"
    ]


def test_files_and_figures_of_a_run_land_together_after_the_worker_restarts(
    mlflow_store, figure_worker
):
    """A released worker ends; the next figure starts a new one. Ready files
    (add_files) and drawn figures of a run, in several folders, are all logged."""
    client = mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    figures.start()
    figures.release()
    figures.submit(run_id, "charts", leaderboard.figures, TABLE, "test_f1")
    figures.add_files(run_id, "data", {"note.txt": b"kept\n"})
    figures.collect()
    listed = {a.path for a in client.list_artifacts(run_id, "charts")} | {
        a.path for a in client.list_artifacts(run_id, "data")
    }
    assert listed == {"charts/leaderboard.png", "data/note.txt"}
    note = client.download_artifacts(run_id, "data/note.txt")
    assert Path(note).read_text() == "kept\n"


@pytest.mark.parametrize("because", ["CHURN_FIGURES_IN_PROCESS=1", "one core"])
def test_the_job_draws_its_figures_itself(
    mlflow_store, figure_worker, monkeypatch, because
):
    if because == "one core":
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    else:
        monkeypatch.setenv(figures.IN_PROCESS_ENV, "1")
    client = mlflow.MlflowClient()
    run_id = client.create_run("0").info.run_id
    figures.start()
    figures.submit(run_id, "charts", leaderboard.figures, TABLE, "test_f1")
    assert figures._executor is None  # no worker was started
    figures.collect()
    assert [a.path for a in client.list_artifacts(run_id, "charts")] == [
        "charts/leaderboard.png"
    ]
