"""``churn-explain run_id=<id>`` (``python -m churn_experiments.explain``): explain an
existing run again.

The run's logged ``config.yaml`` rebuilds its exact split, its logged model is loaded,
and the explanation replaces the run's ``explanations/`` (metrics get a new value).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from churn_experiments import store
from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command
from churn_experiments.errors import ChurnExperimentsError
from churn_experiments.explain.explainers import Explanation, explain
from churn_experiments.explain.store import log_explanation

log = logging.getLogger("churn_experiments.explain")


def reexplain(
    run_id: str,
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any],
    tracking_uri: str | None = None,
) -> Explanation:
    """Explain run ``run_id`` with its logged config and ``overrides`` (explain keys).

    ``defaults`` (``conf/explain/default.yaml``) fill what the logged config lacks
    (it predates conf/explain or explain.agnostic). ``explain.enabled`` is ignored:
    asking for an explanation is the point.
    """
    run = store.get_run(run_id, tracking_uri)
    import mlflow

    from churn_experiments.data import load_dataset, split_dataset
    from churn_experiments.validation import validate_group

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    cfg = OmegaConf.create(
        mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml")
    )
    logged = cfg.get("explain") or {}
    known = {key: logged[key] for key in logged if key in defaults}  # older runs
    cfg.explain = OmegaConf.merge(dict(defaults), known, dict(overrides))
    settings = validate_group("explain", cfg.explain, f"explain settings of {run_id}")
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    models = run.outputs.model_outputs if run.outputs else []
    if not models:
        raise ChurnExperimentsError(f"run {run_id} has no logged model to explain")
    pipeline = mlflow.sklearn.load_model(f"models:/{models[0].model_id}")
    explanation = explain(pipeline, split, settings)
    log_explanation(explanation, run_id, client)
    return explanation


def chosen_settings(cfg: DictConfig, overrides: Sequence[str]) -> dict[str, Any]:
    """The ``explain.*`` keys the command line set, with their composed values."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    chosen = OmegaConf.create()
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if key.startswith("explain."):
            OmegaConf.update(
                chosen, key.removeprefix("explain."), OmegaConf.select(cfg, key)
            )
    return OmegaConf.to_container(chosen)  # type: ignore[return-value]


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="explain")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Explain run ``cfg.run_id`` again and log the mean |SHAP| by column."""
    from hydra.core.hydra_config import HydraConfig

    explanation = reexplain(
        str(cfg.run_id),
        OmegaConf.to_container(cfg.explain),  # ${seed} resolves in the run's config
        chosen_settings(cfg, HydraConfig.get().overrides.task),
        cfg.tracking_uri,
    )
    log.info(
        "run %s: %s SHAP (%s); mean |SHAP| by column:\n%s",
        cfg.run_id,
        explanation.explainer,
        explanation.output_space,
        explanation.by_column().mean_abs().round(4).to_string(),
    )


def cli() -> None:
    """The console script ``churn-explain``."""
    run_command(main)


if __name__ == "__main__":
    exit_after(cli)
