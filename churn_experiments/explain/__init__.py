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
) -> Explanation:
    """Explain ``pipeline`` as ``conf/explain`` says; log it on the active run."""
    import mlflow

    if isinstance(settings, DictConfig):
        settings = OmegaConf.to_container(settings, resolve=True)
    explanation = explain(pipeline, split, settings)
    log_explanation(explanation, mlflow.active_run().info.run_id)
    return explanation
