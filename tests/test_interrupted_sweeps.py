"""Sweeps that are interrupted, killed or refused leave every run in a true state."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
from support import (
    CHEAP,
    compose_config,
    promote,
    run_in_process,
    run_sweep_in_process,
    start_sweep,
)

from churn_experiments.policy.spec import PolicyError
from churn_experiments.sweep_callback import MlflowSweepCallback, end_open_sweep

# the first job is quick; the next ones fit 2,000 trees, long enough to be caught
SLOW_SECOND_JOB = ("model=rf", "model.n_estimators=5,2000,2001,2002", *CHEAP)
EXPERIMENT = compose_config().experiment_name


def sweep_runs(uri: str) -> tuple[list, list]:
    """The sweeps' parent runs and their jobs' runs, oldest first."""
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return [], []
    runs = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time ASC"]
    )
    parents = [r for r in runs if r.data.tags.get("sweep") == "true"]
    jobs = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, jobs


def wait_for_second_job(process: subprocess.Popen[str], uri: str) -> None:
    """Until the first job is FINISHED and the second one RUNNING."""
    while True:
        if process.poll() is not None:
            pytest.fail("the sweep ended early:\n" + process.communicate()[1][-3000:])
        _, jobs = sweep_runs(uri) if Path(uri[10:]).exists() else ([], [])
        if [j.info.status for j in jobs] == ["FINISHED", "RUNNING"]:
            return
        time.sleep(0.1)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_marks_the_running_job_and_the_sweep_killed(
    tmp_path: Path, env: dict[str, str], signum: int
) -> None:
    uri = env["MLFLOW_TRACKING_URI"]
    sweep = start_sweep(tmp_path, *SLOW_SECOND_JOB, env=env)
    wait_for_second_job(sweep, uri)
    sweep.send_signal(signum)
    _, err = sweep.communicate(timeout=300)

    (parent,), (first, second) = sweep_runs(uri)
    name = signal.Signals(signum).name
    label = "interrupted" if signum == signal.SIGINT else f"interrupted ({name})"
    assert err.splitlines()[-1] == (
        f"{label}: 1 of 4 jobs finished; parent run {parent.info.run_id} KILLED"
    )
    assert "Traceback" not in err
    assert sweep.returncode == 128 + signum  # 130 for Ctrl-C
    assert (first.info.status, second.info.status, parent.info.status) == (
        "FINISHED",
        "KILLED",
        "KILLED",
    )
    for run in (second, parent):
        assert run.data.tags["killed_reason"] == f"interrupted by {name}"


@pytest.mark.slow
def test_runs_of_a_killed_sweep_are_closed_by_the_next_sweep_and_skipped_by_promote(
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = env["MLFLOW_TRACKING_URI"]
    sweep = start_sweep(tmp_path, *SLOW_SECOND_JOB, env=env)
    wait_for_second_job(sweep, uri)
    sweep.kill()
    sweep.communicate()
    (killed,), jobs = sweep_runs(uri)
    assert [r.info.status for r in (killed, *jobs)] == [
        "RUNNING",
        "FINISHED",
        "RUNNING",
    ]
    assert killed.data.tags["host"] == socket.gethostname()
    assert killed.data.tags["pid"] == str(sweep.pid)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    caplog.set_level("WARNING", logger="churn_experiments.owners")
    latest = run_sweep_in_process(["lr"], CHEAP)

    closed = [r for r in caplog.records if r.name == "churn_experiments.owners"]
    said = [
        r.getMessage().split(" was left RUNNING: marked KILLED, ")[0] for r in closed
    ]
    assert sorted(said) == sorted(
        f"run {run.info.run_id} ({run.info.run_name})" for run in (killed, jobs[1])
    )
    assert f"its process (pid {sweep.pid} on {socket.gethostname()}) ended " in (
        closed[0].getMessage()
    )
    parents, jobs = sweep_runs(uri)
    assert [r.info.status for r in parents] == ["KILLED", "FINISHED"]
    assert [r.info.status for r in jobs] == ["FINISHED", "KILLED", "FINISHED"]
    assert (
        parents[0]
        .data.tags["killed_reason"]
        .startswith(
            f"its process (pid {sweep.pid} on {socket.gethostname()}) ended without "
            "closing it; found by the next sweep at "
        )
    )

    caplog.clear()
    assert promote("policy=best_f1", "dry_run=true") == 0
    assert f"sweep {latest.parent_run_id}" in capsys.readouterr().out


def test_a_misspelled_model_stops_the_sweep_before_anything_is_recorded(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from churn_experiments import __main__ as churn

    uri = {"MLFLOW_TRACKING_URI": env["MLFLOW_TRACKING_URI"]}
    done = run_in_process(churn.run, "-m", "model=lr,xyz", cwd=tmp_path, env=uri)
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == [
        "error: while starting the sweep: the sweep's job 'model=xyz': In 'config': "
        "Could not find 'model/xyz' Available options in 'model': gb lr rf svc "
        "svc_linear"
    ]
    assert not (tmp_path / "mlflow.db").exists()  # no store, so no RUNNING parent


def test_promote_refuses_the_runs_of_a_sweep_still_running(
    mlflow_store: str,
) -> None:
    callback = MlflowSweepCallback()
    config = compose_config(["model=lr", *CHEAP], return_hydra_config=True)
    callback.on_multirun_start(config)  # this process is the sweep's owner: alive
    try:
        (parent,), _ = sweep_runs(mlflow_store)
        with pytest.raises(PolicyError) as raised:
            promote("policy=best_f1", "dry_run=true")
        assert str(raised.value) == (
            f"sweep {parent.info.run_id} is still running; wait for it or name "
            "sweep=RUN_ID"
        )
        with pytest.raises(PolicyError) as raised:
            promote("policy=best_f1", f"sweep={parent.info.run_id}")
        assert str(raised.value).startswith(f"sweep {parent.info.run_id} is still")
    finally:
        summary = end_open_sweep("KILLED", "the test is over")
    assert summary == f"0 of 1 job finished; parent run {parent.info.run_id} KILLED"
