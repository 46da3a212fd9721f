"""Which sweep's runs compete: only a sweep whose parent run is FINISHED."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from churn_experiments import owners
from churn_experiments.policy.spec import PolicyError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

log = logging.getLogger(__name__)


def latest_sweep(client: MlflowClient, experiment_id: str) -> str | None:
    """The parent run id of the experiment's latest FINISHED sweep, if any.

    A later sweep that is still running stops the search with an error (its jobs
    are not all there yet); later ones that were KILLED or FAILED, or whose process
    is gone, are skipped with a warning.
    """
    runs = client.search_runs(
        [experiment_id],
        filter_string="tags.sweep = 'true'",
        order_by=["attributes.start_time DESC"],
        max_results=100,
    )
    for run in runs:
        try:
            check_finished(run)
        except UnfinishedSweep as err:
            log.warning("skipping %s", err)
            continue
        return run.info.run_id
    return None


def unfinished_sweeps(client: MlflowClient, experiment_id: str) -> frozenset[str]:
    """Parent run ids of the experiment's sweeps that are not FINISHED.

    Their runs never compete, not even under ``scope: experiment``: a sweep still
    running has not logged all its jobs, and one that was stopped is incomplete.
    """
    runs = client.search_runs(
        [experiment_id],
        filter_string="tags.sweep = 'true' and attributes.status != 'FINISHED'",
        max_results=1000,
    )
    found = frozenset(run.info.run_id for run in runs)
    if found:
        log.warning(
            "the runs of %d unfinished sweep(s) do not compete: %s",
            len(found),
            ", ".join(f"{run.info.run_id} ({run.info.status})" for run in runs),
        )
    return found


class UnfinishedSweep(PolicyError):
    """The sweep ended KILLED or FAILED, or its process is gone."""


def check_finished(sweep: Run) -> None:
    """Raise unless the sweep's parent run is FINISHED: only then do its runs compete.

    A sweep still running (its process alive, or on another host) raises
    PolicyError; one that ended otherwise raises :class:`UnfinishedSweep`.
    """
    status, run_id = sweep.info.status, sweep.info.run_id
    if status == "FINISHED":
        return
    if status == "RUNNING":
        if not owners.owner_gone(sweep.data.tags, sweep.info.start_time / 1000):
            raise PolicyError(
                f"sweep {run_id} is still running; wait for it or name sweep=RUN_ID"
            )
        status = "RUNNING, but its process is gone"
    raise UnfinishedSweep(
        f"sweep {run_id} ({status}): only the runs of a FINISHED sweep compete"
    )


def competing_sweep(
    client: MlflowClient, experiment: Any, sweep_id: str | None, source: str
) -> str:
    """``sweep_id`` if that sweep is FINISHED, else the latest FINISHED sweep's id."""
    from mlflow.exceptions import MlflowException

    if sweep_id:
        try:
            run = client.get_run(sweep_id)
        except MlflowException:
            raise PolicyError(f"no run {sweep_id} in the tracking store") from None
        check_finished(run)
        return sweep_id
    found = latest_sweep(client, experiment.experiment_id)
    if found is None:
        raise PolicyError(
            f"{source}: candidates come from a sweep, but experiment "
            f"{experiment.name!r} holds no finished one; run a sweep or pass its id"
        )
    return found
