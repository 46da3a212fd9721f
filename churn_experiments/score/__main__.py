"""``churn-score input=customers.csv output=scores.csv`` (``python -m
churn_experiments.score``): score a customer table with a registered model."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command
from churn_experiments.errors import ConfigError
from churn_experiments.sources import Sources

if TYPE_CHECKING:
    from churn_experiments.score import ScoreSettings


EXIT_REJECTED = 3  # every other row was scored, some were rejected


def settings_from_config(
    cfg: DictConfig, sources: Sources | None = None
) -> ScoreSettings:
    """Validate ``conf/score.yaml`` and its groups (errors name the files ``sources``
    tell); build the scoring's settings."""
    from churn_experiments import tracking
    from churn_experiments.score import ScoreSettings
    from churn_experiments.validation import validate_config, validate_group

    for key in ("input", "output"):
        if OmegaConf.is_missing(cfg, key):
            raise ConfigError(f"{key}=PATH is required (a .csv or .parquet file)")
    sources = sources or Sources()
    validate_config(cfg, groups=("dataset", "tracking", "explain"), sources=sources)
    own = {
        k: v
        for k, v in OmegaConf.to_container(cfg, resolve=True).items()
        if k not in ("dataset", "tracking", "explain", "seed")
    }
    validate_group("score", own, sources.file("score"))
    tracking.configure(cfg.tracking)
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    ids = own["id_columns"] or [
        name for name, spec in dataset["columns"].items() if spec.get("role") == "id"
    ]
    return ScoreSettings(
        **{**own, "id_columns": tuple(ids)},
        dataset=dataset,
        explain=OmegaConf.to_container(cfg.explain, resolve=True),
        artifact_location=cfg.tracking.get("artifact_location"),
    )


# the scoring's own bar is the one to watch, not one per downloaded model file
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="score")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Score the input, print where the results went; exit 3 when rows were rejected."""
    from hydra.core.hydra_config import HydraConfig

    from churn_experiments.score import score

    result = score(settings_from_config(cfg, Sources.from_hydra(HydraConfig.get())))
    print(
        f"Scored {result.scored:,} of {result.rows:,} rows in {result.seconds:.1f} s"
        f" with {result.model_uri}"
        + (f" (version {result.model_version})" if result.model_version else "")
        + f": {result.output} ({result.churn_share:.1%} predicted to churn)"
    )
    if result.rejected:
        print(f"Rejected {result.rejected:,} rows: {result.rejects} says why per row")
    print(f"Recorded as run {result.run_id}")
    if result.rejected:
        sys.exit(EXIT_REJECTED)


def cli() -> None:
    """The console script ``churn-score``."""
    run_command(main)


if __name__ == "__main__":
    exit_after(cli)
