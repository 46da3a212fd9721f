"""A promotion that dies holding the lock, and locks held by others."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import mlflow
import pytest
from policy_helpers import MODEL
from support import promote, run_in_process

from churn_experiments.policy import registry
from churn_experiments.policy.spec import PolicyError
from churn_experiments.promote import cli as promote_cli

LOCK = MODEL + registry.LOCK_SUFFIX
HOST = socket.gethostname()

# promote, but die (SIGKILL) right after tagging the new version, holding the lock
PROMOTE_AND_DIE = """
import os, signal, sys
from churn_experiments.policy import registry
from churn_experiments.promote import cli

tag_version = registry.annotate

def tag_then_die(*args, **kwargs):
    tag_version(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

registry.annotate = tag_then_die
sys.argv = ["churn-promote", "policy=best_f1"]
cli()
"""


def hold_lock(client: mlflow.MlflowClient, host: str, pid: int) -> None:
    """The lock as a process ``pid`` of ``host`` leaves it."""
    client.create_registered_model(
        LOCK, tags={"host": host, "pid": str(pid), "acquired_at": f"{time.time():.3f}"}
    )


def dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return ended.pid


@pytest.mark.slow
def test_a_promotion_killed_holding_the_lock_is_closed_by_the_next_one(
    store, client
) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": store.tracking_uri}
    killed = subprocess.run(
        [sys.executable, "-c", PROMOTE_AND_DIE], env=env, capture_output=True, text=True
    )
    assert killed.returncode == -9
    lock = client.get_registered_model(LOCK)
    assert lock.tags["pid"] != str(os.getpid()) and lock.tags["host"] == HOST
    (entry,) = client.search_runs(
        [client.get_experiment_by_name("policy-decisions").experiment_id]
    )
    assert (entry.info.status, entry.data.tags["outcome"]) == ("RUNNING", "pending")
    winner = entry.data.tags["winner_run_id"]

    again = run_in_process(promote_cli, "policy=best_f1", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    owner = f"pid {lock.tags['pid']} on {HOST}"
    abandoned, broken = again.stderr.splitlines()[:2]
    assert abandoned == (
        f"[WARNING] ledger entry {entry.info.run_id} (best_f1) was left pending by "
        f"{owner}, which ended: done: version 1 registered from run {winner}, tag "
        "version 1 with this decision; not done: point @champion at it; now "
        f"{MODEL}@champion -> none; closed as abandoned"
    )
    # broken because its owner is dead, not after the lock's 60 s timeout
    assert broken.startswith(f"[WARNING] breaking {LOCK} held by {owner} for ")
    assert broken.endswith(": its owner is gone")

    entry = client.get_run(entry.info.run_id)
    assert (entry.info.status, entry.data.tags["outcome"]) == ("KILLED", "abandoned")
    assert registry.alias_holder(client, MODEL, "champion").version == "1"
    assert LOCK not in {m.name for m in client.search_registered_models()}


def test_a_lock_of_a_dead_process_of_this_host_is_broken_at_once(
    mlflow_store: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = mlflow.MlflowClient()
    pid = dead_pid()
    hold_lock(client, HOST, pid)
    caplog.set_level("WARNING", logger="churn_experiments.policy.registry")
    with registry.lock(client, MODEL, timeout=5):
        assert client.get_registered_model(LOCK).tags["pid"] == str(os.getpid())
    (record,) = caplog.records
    assert record.getMessage().startswith(f"breaking {LOCK} held by pid {pid} on")
    assert record.getMessage().endswith(": its owner is gone")


def test_a_lock_held_from_another_host_times_out_and_unlock_breaks_it(
    mlflow_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = mlflow.MlflowClient()
    hold_lock(client, "another-host", 1)
    with pytest.raises(PolicyError) as raised, registry.lock(client, MODEL, 0.5):
        pass
    assert str(raised.value) == (
        f"{LOCK} is still held by pid 1 on another-host after 0.5 s; if that process "
        f"is gone, run `churn-promote action=unlock registered_model={MODEL}` "
        "and retry"
    )
    assert promote("action=unlock") == 0
    assert capsys.readouterr().out.startswith(
        f"broke {LOCK}, held by pid 1 on another-host for "
    )
    assert promote("action=unlock", f"registered_model={MODEL}") == 0
    assert capsys.readouterr().out == f"{MODEL} is not locked\n"
