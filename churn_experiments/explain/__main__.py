"""``python -m churn_experiments.explain run_id=<id>``: explain an existing run again.

The run's logged ``config.yaml`` rebuilds its exact split, its logged model is loaded,
and the explanation replaces the run's ``explanations/`` (metrics get a new value).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from churn_experiments import store
from churn_experiments.errors import ChurnExperimentsError
from churn_experiments.explain.explainers import Explanation, explain
from churn_experiments.explain.store import log_explanation

log = logging.getLogger("churn_experiments.explain")

# fills what a run's logged config lacks (it predates conf/explain or explain.agnostic)
DEFAULT_SETTINGS = Path(__file__).resolve().parents[2] / "conf/explain/default.yaml"
OPTIONS = {"run_id", "tracking_uri", "explain"}


def reexplain(
    run_id: str, overrides: Mapping[str, Any], tracking_uri: str | None = None
) -> Explanation:
    """Explain run ``run_id`` with its logged config and ``overrides`` (explain keys).

    ``explain.enabled`` is ignored: asking for an explanation is the point.
    """
    store.prepare(tracking_uri or store.active_uri(), create=False)
    import mlflow

    from churn_experiments.data import load_dataset, split_dataset
    from churn_experiments.validation import validate_group

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    cfg = OmegaConf.create(
        mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.yaml")
    )
    defaults = OmegaConf.load(DEFAULT_SETTINGS)
    logged = cfg.get("explain") or {}
    known = {key: logged[key] for key in logged if key in defaults}  # older runs
    cfg.explain = OmegaConf.merge(defaults, known, dict(overrides))
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


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``key=value`` arguments and explain the run they name."""
    parser = argparse.ArgumentParser(
        prog="python -m churn_experiments.explain",
        description=(
            "Explain an existing run again: rebuild its split from its logged "
            "config.yaml, load its logged model, log SHAP values and plots under "
            "explanations/ of the same run."
        ),
        epilog=(
            "example: python -m churn_experiments.explain run_id=0a1b2c "
            "explain.explainer=kernel explain.max_rows=500"
        ),
    )
    parser.add_argument(
        "options",
        nargs="+",
        metavar="key=value",
        help=(
            "run_id=<id> (required); tracking_uri=<uri> (default: "
            "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here); explain.<key>=<value>"
            " for any key of conf/explain (explainer, rows_from, max_rows, "
            "background_size, seed, agnostic.rows, agnostic.background, "
            "agnostic.evaluations)"
        ),
    )
    args = parser.parse_args(argv)
    try:
        options = OmegaConf.from_dotlist(list(args.options))
    except Exception as err:  # omegaconf's grammar errors have several types
        parser.error(f"cannot read {args.options}: {err}")
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        parser.error(f"unknown key(s) {unknown}; allowed: {sorted(OPTIONS)}")
    if "run_id" not in options:
        parser.error("run_id=<id> is required")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        explanation = reexplain(
            str(options.run_id),
            OmegaConf.to_container(options.get("explain") or OmegaConf.create()),
            options.get("tracking_uri"),
        )
    except ChurnExperimentsError as err:
        log.error("%s", err)
        sys.exit(1)
    log.info(
        "run %s: %s SHAP (%s); mean |SHAP| by column:\n%s",
        options.run_id,
        explanation.explainer,
        explanation.output_space,
        explanation.by_column().mean_abs().round(4).to_string(),
    )


if __name__ == "__main__":
    main()
