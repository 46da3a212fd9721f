"""The study's summary on the sweep's parent run: best trial, value, Optuna's plots."""

from __future__ import annotations

import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)

PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "param_importances.png": "plot_param_importances",
}


def log_study_summary(
    client: Any, run_id: str, experiment_id: str, study_name: str, storage: str
) -> None:
    """Record the whole study (resumed trials included) on the parent run ``run_id``.

    Tags ``search_study``, ``search_best_trial`` and ``search_best_run_id``; metric
    ``search_best_value``; ``search/study.json`` (every trial: state, value,
    parameters) and Optuna's matplotlib plots under ``search/``.
    """
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    client.set_tag(run_id, "search_study", study_name)
    client.log_dict(
        run_id,
        {
            "study": study_name,
            "direction": study.direction.name.lower(),
            "trials": [
                {
                    "number": t.number,
                    "state": t.state.name,
                    "value": t.value,
                    "params": t.params,
                }
                for t in trials
            ],
        },
        "search/study.json",
    )
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        log.warning("study %s has no completed trial", study_name)
        return
    best = study.best_trial
    client.set_tag(run_id, "search_best_trial", str(best.number))
    client.log_metric(run_id, "search_best_value", best.value)
    best_run = client.search_runs(
        [experiment_id],
        filter_string=f"tags.search_study = '{study_name}' and "
        f"tags.search_trial = '{best.number}' and attributes.status = 'FINISHED'",
        max_results=1,
    )
    if best_run:
        client.set_tag(run_id, "search_best_run_id", best_run[0].info.run_id)
    log.info(
        "Study %s: %d trial(s), %d complete; best trial %d, value %.4f, params %s",
        study_name,
        len(trials),
        len(complete),
        best.number,
        best.value,
        best.params,
    )
    _log_plots(client, run_id, study)


def _log_plots(client: Any, run_id: str, study: Any) -> None:
    """Optuna's own matplotlib plots; one that cannot be drawn is skipped (logged)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    for name, function in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "experimental" and small-study notes
                axes = getattr(plots, function)(study)
        except (ValueError, RuntimeError) as err:  # too few trials to draw it
            log.info("search/%s not drawn: %s", name, err)
            continue
        figure = axes.figure
        figure.set_size_inches(7, 4.5)
        figure.tight_layout()
        client.log_figure(run_id, figure, f"search/{name}")
        plt.close(figure)
