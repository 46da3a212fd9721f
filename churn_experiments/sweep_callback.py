"""The Hydra callback that turns a multirun into one MLflow parent run with children."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from churn_experiments import figures, labels, owners, search, tracking
from churn_experiments.errors import ChurnExperimentsError
from churn_experiments.sweep_plan import planned_jobs

if TYPE_CHECKING:
    from churn_experiments.policy.spec import Policy

log = logging.getLogger(__name__)

PLANNED_JOBS_TAG = "planned_jobs"


class MlflowSweepCallback(Callback):
    """Open the parent run before the jobs start and close it when they are done.

    The parent's ids travel to the jobs in environment variables, which every launcher
    passes on (in-process, joblib workers, Ray tasks). Creating the experiment and the
    store here, once, means parallel jobs never race to create them. The policies
    are validated here, once, and applied when the sweep is done.
    """

    def __init__(self) -> None:
        self._policies: list[Policy] = []

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        figures.set_deferred(True)  # jobs run here in-process draw while the next fits
        explains = bool(OmegaConf.select(config, "explain.enabled"))
        # its imports overlap with the checks and the store below
        figures.start(*(["shap"] if explains else []))
        try:
            with _stop_on_error("starting the sweep"):
                self._open_parent_run(config)
        except BaseException:  # no sweep: later figures of this process are not ours
            figures.set_deferred(False)
            raise

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        with _stop_on_error("closing the sweep"):
            try:
                self._close_parent_run(config)
            finally:
                figures.set_deferred(False)

    def _open_parent_run(self, config: DictConfig) -> None:
        from churn_experiments.checks import check_command
        from churn_experiments.sources import Sources

        tracking.check_server(config.tracking)
        # before the store: a mistake leaves no run behind
        self._policies = check_command(config, sources=Sources.from_hydra(config.hydra))
        search.preflight(config)  # a bad search space stops before the store is touched
        jobs = planned_jobs(config)
        uri = tracking.configure(config.tracking)
        import mlflow

        experiment_id = tracking.ensure_experiment(
            config.experiment_name, config.tracking.artifact_location
        )
        client = mlflow.MlflowClient()
        owners.close_orphaned_runs(client, [experiment_id], "the next sweep")
        overrides = " ".join(config.hydra.overrides.task) or "(none)"
        tags = {"sweep": "true", "hydra_sweep_dir": str(config.hydra.sweep.dir)}
        planned = (
            len(jobs) if jobs is not None else config.hydra.sweeper.get("n_trials")
        )
        if planned is not None:
            tags[PLANNED_JOBS_TAG] = str(planned)
        parent = client.create_run(
            experiment_id,
            run_name=f"sweep-{datetime.now():%Y%m%d-%H%M%S}",
            tags={**tags, **owners.owner_tags()},
        )
        run_id = parent.info.run_id
        log.info("Sweep %s started in %s (overrides: %s)", run_id, uri, overrides)
        # from here on an interrupt ends the parent run (see end_open_sweep)
        os.environ[tracking.PARENT_RUN_ENV] = run_id
        os.environ[tracking.SWEEP_ID_ENV] = run_id
        os.environ[tracking.EXPERIMENT_ID_ENV] = experiment_id
        swept = (
            labels.varying_keys(jobs) if jobs is not None else search.swept_keys(config)
        )
        os.environ[labels.SWEPT_KEYS_ENV] = json.dumps(swept)  # names the jobs' runs
        try:
            tracking.log_sweep_dataset(
                run_id, OmegaConf.to_container(config.dataset, resolve=True)
            )
            if config.get("profile") and config.profile.get("enabled"):
                from churn_experiments.profile import log_profile

                log_profile(config, run_id)
        except Exception as err:  # bad data: no job would get further
            _forget_sweep()
            client.set_tag(run_id, "error", f"{type(err).__name__}: {err}"[:5000])
            client.set_terminated(run_id, "FAILED")
            raise
        os.environ["MLFLOW_TRACKING_URI"] = uri

    def _close_parent_run(self, config: DictConfig) -> None:
        import mlflow

        from churn_experiments import leaderboard

        context = tracking.sweep_context()
        parent_run_id, experiment_id = (
            context["parent_run_id"],
            context["experiment_id"],
        )
        if not parent_run_id or not experiment_id:
            return
        _forget_sweep()
        client = mlflow.MlflowClient()
        runs = leaderboard.child_runs(experiment_id, parent_run_id)
        table = leaderboard.build_leaderboard(
            runs,
            config.leaderboard.sort_by,
            config.leaderboard.ascending,
            params=search.swept_params(config) if search.is_search(config) else (),
        )
        markdown = leaderboard.render(table)
        client.log_text(parent_run_id, table.to_csv(index=False), "leaderboard.csv")
        client.log_text(parent_run_id, markdown + "\n", "leaderboard.md")
        if len(table):
            figures.submit(
                parent_run_id,
                "",
                leaderboard.figures,
                table,
                config.leaderboard.sort_by,
            )
        figures.collect()  # this sweep's figures, before its parent run closes
        log.info(
            "Leaderboard (by %s), sweep run %s:\n%s",
            config.leaderboard.sort_by,
            parent_run_id,
            markdown,
        )
        study = search.study_of(config)
        if study is not None:
            from churn_experiments.search.summary import log_study_summary

            log_study_summary(client, parent_run_id, experiment_id, *study)
        failed = leaderboard.failed_jobs(runs)
        client.set_terminated(parent_run_id, "FAILED" if failed else "FINISHED")
        if failed:
            skipped = "; no policy was applied" if self._policies else ""
            raise SystemExit(
                f"{len(failed)} job(s) of sweep {parent_run_id} failed{skipped}:\n  "
                + "\n  ".join(failed)
            )
        if self._policies:
            from churn_experiments.policy import apply_policies

            apply_policies(self._policies, sweep_run_id=parent_run_id)


def end_open_sweep(status: str, reason: str) -> str | None:
    """End the sweep this process left open: its RUNNING jobs and parent get
    ``status`` and ``reason``; a one-line summary, or None when no sweep is open.
    """
    context = tracking.sweep_context()
    parent_run_id, experiment_id = context["parent_run_id"], context["experiment_id"]
    if not parent_run_id or not experiment_id:
        return None
    _forget_sweep()
    import mlflow

    client = mlflow.MlflowClient()
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        max_results=10000,
    )
    for run in runs:
        if run.info.status == "RUNNING":
            _end(client, run.info.run_id, status, reason)
    _end(client, parent_run_id, status, reason)
    finished = sum(run.info.status == "FINISHED" for run in runs)
    planned = client.get_run(parent_run_id).data.tags.get(PLANNED_JOBS_TAG)
    of = f" of {planned}" if planned else ""
    jobs = "job" if int(planned or finished) == 1 else "jobs"
    return f"{finished}{of} {jobs} finished; parent run {parent_run_id} {status}"


def _end(client: Any, run_id: str, status: str, reason: str) -> None:
    client.set_tag(run_id, owners.REASON_TAG, reason)
    client.set_terminated(run_id, status)


def _forget_sweep() -> None:
    """This process runs no sweep any more: no parent ids, no deferred figures."""
    figures.set_deferred(False)
    for name in (
        tracking.PARENT_RUN_ENV,
        tracking.SWEEP_ID_ENV,
        tracking.EXPERIMENT_ID_ENV,
        labels.SWEPT_KEYS_ENV,
    ):
        os.environ.pop(name, None)


@contextlib.contextmanager
def _stop_on_error(step: str) -> Iterator[None]:
    """Turn an error into SystemExit: Hydra would only warn about a callback's error."""
    try:
        yield
    except ChurnExperimentsError as err:
        raise SystemExit(f"error: while {step}: {err}") from err
    except Exception as err:
        log.exception("Error while %s", step)
        raise SystemExit(f"error: while {step}: {type(err).__name__}: {err}") from err
