"""One job of a sweep: fit one configured pipeline and record it as an MLflow run."""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments import labels, owners, tracking
from churn_experiments.interrupts import signal_name
from churn_experiments.sources import Sources

if TYPE_CHECKING:
    from churn_experiments.search import Trial

log = logging.getLogger(__name__)


def train(
    cfg: DictConfig, sources: Sources | None = None, trial: Trial | None = None
) -> dict[str, Any]:
    """Fit, score and log one model; return its metrics and run id.

    ``sources`` (what the entry point read from Hydra) give the model's choice name
    and the files that errors name; without them the run is named after the model's
    class.

    A single job checks its config and data before the store is touched
    (:mod:`.checks`), so a mistake leaves nothing behind. A sweep's job (the sweep
    checked the shared config) checks its own overrides inside its run; that and
    anything else that goes wrong in the run (an invalid hyperparameter value) is
    recorded on a FAILED run with the error, and re-raised. A search's ``trial`` tags
    the run; when its pruner stops the trial the run ends KILLED with a
    ``search_pruned`` tag.
    """
    from churn_experiments.checks import check_config
    from churn_experiments.search import is_pruned

    sources = sources or Sources()
    context = tracking.sweep_context()
    in_sweep = bool(context["parent_run_id"])
    if not in_sweep:
        tracking.check_server(cfg.tracking)
        check_config(cfg, sources=sources)
    tracking.configure(cfg.tracking)
    import mlflow

    experiment_id = context["experiment_id"] or tracking.ensure_experiment(
        cfg.experiment_name, cfg.tracking.artifact_location
    )
    family = sources.model_family(cfg)
    tags = {
        "model_family": family,
        "model_class": str(cfg.model.get("_target_")),
        **owners.owner_tags(),
    }
    swept = labels.swept_from_env() if in_sweep else None
    name = labels.job_label(family, sources.overrides, swept)  # rf max_depth=5
    if context["sweep_id"]:
        tags["sweep_id"] = context["sweep_id"]
    if in_sweep and name != family:  # the leaderboard's column of swept values
        tags["swept"] = labels.swept_values(sources.overrides, swept)
    commit = tracking.git_commit()
    if commit:
        tags["git_commit"] = commit
    if trial is not None:
        tags |= trial.tags()
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=name,
        parent_run_id=context["parent_run_id"],
        tags=tags,
    ) as run:
        try:
            if in_sweep:
                check_config(cfg, sources=sources)
            with tracking.quiet_known_warnings():
                metrics = _fit_and_log(cfg, sources, trial)
        except KeyboardInterrupt as err:
            mlflow.set_tag(owners.REASON_TAG, f"interrupted by {signal_name(err)}")
            mlflow.end_run("KILLED")
            log.warning("run %s (%s) recorded as KILLED", run.info.run_id, name)
            raise
        except Exception as err:
            if is_pruned(err):
                mlflow.set_tag("search_pruned", str(err))
                mlflow.end_run("KILLED")
                log.info("run %s (%s) pruned: %s", run.info.run_id, name, err)
                raise
            mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:5000])
            mlflow.log_text(traceback.format_exc(), "error.txt")
            log.info("run %s (%s) recorded as FAILED", run.info.run_id, name)
            raise
    log.info("run %s (%s): %s", run.info.run_id, name, _brief(metrics))
    return {**metrics, "run_id": run.info.run_id}


def _fit_and_log(
    cfg: DictConfig, sources: Sources, trial: Trial | None
) -> dict[str, float]:
    import mlflow

    from churn_experiments import evaluation, figures, reference
    from churn_experiments.columns import contract as input_contract
    from churn_experiments.data import load_dataset, split_dataset
    from churn_experiments.pipeline import build_pipeline, flat_params

    mlflow.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    frame = load_dataset(dataset)
    split = split_dataset(frame, dataset)
    pipeline = build_pipeline(cfg.features, cfg.model, dataset, sources.file("model"))
    classifier = pipeline.named_steps["classifier"]
    mlflow.log_params({"seed": cfg.seed, **flat_params(classifier)})
    mlflow.log_input(tracking.dataset_record(frame, dataset), context="training")

    metrics = _cross_validate(cfg, pipeline, split, dataset, trial)
    started = time.perf_counter()
    pipeline.fit(split.X_train, split.y_train)
    metrics["fit_seconds"] = time.perf_counter() - started
    predictions = evaluation.predict(pipeline, split)
    metrics |= evaluation.score_predictions(predictions, split)
    mlflow.log_metrics(metrics)
    run_id = mlflow.active_run().info.run_id
    figures.submit(
        run_id,
        "plots",
        evaluation.evaluation_figures,
        split.y_test.to_numpy(),
        predictions.test_labels,
        predictions.test_scores,
        split.positive,
    )
    contract = input_contract(dataset)
    tracking.log_pipeline(
        pipeline, tracking.model_signature(dataset), split.X_test.head(5), contract
    )
    reference.log_reference(split.X_train, contract, cfg.seed)  # for batch scoring
    if cfg.get("explain") and cfg.explain.get("enabled"):
        from churn_experiments.explain import explain_and_log

        explain_and_log(pipeline, split, cfg.explain)
    figures.collect_unless_deferred()
    return metrics


def _cross_validate(
    cfg: DictConfig, pipeline: Any, split: Any, dataset: dict, trial: Trial | None
) -> dict[str, float]:
    """``cv_<metric>_mean``/``_std`` when ``evaluation.cv.folds`` is set, else none.

    Runs before the final fit, so that a pruned trial stops early.
    """
    from churn_experiments.cross_validation import cv_scores

    folds = OmegaConf.select(cfg, "evaluation.cv.folds")
    if not folds:
        return {}
    return cv_scores(
        pipeline,
        split,
        folds,
        cfg.seed,
        group_duplicates=dataset["split"].get("strategy") == "group_duplicates",
        on_fold=trial.fold_reporter(cfg.leaderboard.sort_by) if trial else None,
    )


def _brief(metrics: dict[str, float]) -> str:
    return ", ".join(
        f"{k}={v:.3f}" for k, v in metrics.items() if k.startswith("test_")
    )
