"""The ask/tell loop (imported only when a sweep starts: it imports Optuna)."""

import logging
import math
from typing import Any

import optuna
from hydra.core.utils import JobReturn
from hydra.utils import instantiate
from optuna.trial import TrialState

from .optuna_sweeper import OptunaSweeper
from .space import check_space, parse_space

log = logging.getLogger(__name__)


def sweep(sweeper: OptunaSweeper, arguments: list[str]) -> optuna.Study:
    """Run ``n_trials`` trials, ``n_jobs`` at a time, and return the study.

    Trials are asked in this process, so parallel jobs get distinct numbers; each
    job learns its number from ``hydra.sweeper.trial``. A failed job is told as a
    FAIL, a job that raised ``optuna.TrialPruned`` as PRUNED; the sweep goes on.
    """
    assert sweeper.config is not None and sweeper.hydra_context is not None
    optuna.logging.disable_default_handler()  # Optuna's notes go through Hydra's log
    optuna.logging.enable_propagation()
    space = parse_space(sweeper.params, arguments)
    if not space.distributions:
        raise ValueError("search space: hydra.sweeper.params sweeps no key")
    check_space(
        space, sweeper.config, sweeper.hydra_context.config_loader, sweeper.check
    )
    study = optuna.create_study(
        study_name=sweeper.study_name,
        storage=sweeper.storage,
        direction=sweeper.direction,
        pruner=instantiate(sweeper.pruner) if sweeper.pruner else None,
        load_if_exists=True,
    )
    previous = len(study.trials)
    study.sampler = _sampler(sweeper.sampler, previous)
    log.info(
        "Study %s (%s): %d trial(s) so far, adding %d, %d at a time",
        study.study_name,
        sweeper.storage or "in memory",
        previous,
        sweeper.n_trials,
        sweeper.n_jobs,
    )
    job_idx = 0
    while job_idx < sweeper.n_trials:
        batch = [
            study.ask(space.distributions)
            for _ in range(min(sweeper.n_jobs, sweeper.n_trials - job_idx))
        ]
        overrides = [
            [*space.overrides(trial.params), f"hydra.sweeper.trial={trial.number}"]
            for trial in batch
        ]
        returns = sweeper.launcher.launch(overrides, initial_job_idx=job_idx)
        job_idx += len(batch)
        for trial, result in zip(batch, returns, strict=True):
            _tell(study, trial, result)
    _log_best(study)
    return study


def _sampler(config: dict[str, Any] | None, previous: int) -> Any:
    """The configured sampler; a resumed study offsets its seed by the trials so far.

    Otherwise a resumed seeded sampler would draw its first trials again.
    """
    config = dict(config or {"_target_": "optuna.samplers.TPESampler"})
    if config.get("seed") is not None and previous:
        config["seed"] = int(config["seed"]) + previous
    return instantiate(config)


def _tell(study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> None:
    try:
        value = float(result.return_value)
    except optuna.TrialPruned as pruned:
        log.info("trial %d pruned: %s", trial.number, pruned)
        study.tell(trial, state=TrialState.PRUNED)
        return
    except Exception as err:  # the job raised, or returned no number
        log.warning("trial %d failed: %s: %s", trial.number, type(err).__name__, err)
        study.tell(trial, state=TrialState.FAIL)
        return
    if not math.isfinite(value):
        log.warning("trial %d returned %s: recorded as failed", trial.number, value)
        study.tell(trial, state=TrialState.FAIL)
        return
    study.tell(trial, value)


def _log_best(study: optuna.Study) -> None:
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        log.warning("Study %s: no trial completed", study.study_name)
        return
    log.info(
        "Study %s: best trial %d, value %.4f, params %s",
        study.study_name,
        best.number,
        best.value,
        best.params,
    )
