"""SHAP explanations of each run, in the encoded features and in the user's columns.

``explain_and_log`` runs inside a job's MLflow run (``conf/explain``); ``load(run_id)``
reads an explanation back; ``churn-explain run_id=<id>``
explains an existing run. SHAP itself is imported only when explaining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.data import Split
from churn_experiments.explain.explainers import Explanation, explain
from churn_experiments.explain.store import load, log_explanation

__all__ = ["Explanation", "explain", "explain_and_log", "load", "log_explanation"]


def explain_and_log(
    pipeline: Any, split: Split, settings: Mapping[str, Any] | DictConfig
) -> Explanation | None:
    """Explain ``pipeline`` as ``conf/explain`` says; log it on the active run.

    Inside a sweep run in this process, only the cheap part happens here (the
    explainer chosen and checked, rows sampled and encoded: a mistake still fails
    the run); SHAP runs in the figure worker while the next model fits, and its
    files, metrics and tags reach the run when the sweep collects its figures. None
    is returned then; otherwise the explanation.
    """
    import mlflow

    from churn_experiments import figures
    from churn_experiments.explain.explainers import compute, plan
    from churn_experiments.explain.store import submit_explanation

    if isinstance(settings, DictConfig):
        settings = OmegaConf.to_container(settings, resolve=True)
    decided = plan(pipeline, split, settings)
    run_id = mlflow.active_run().info.run_id
    if figures.deferred():
        submit_explanation(decided, run_id)
        return None
    explanation = compute(decided)
    log_explanation(explanation, run_id)
    return explanation
