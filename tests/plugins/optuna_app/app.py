"""Tiny Hydra app for the Optuna sweeper test: each job reports its trial."""

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    if cfg.x > 4.5:
        raise ValueError("x too large")
    trial = HydraConfig.get().sweeper.trial
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "trial": trial,
        "x": cfg.x,
        "overrides": list(HydraConfig.get().overrides.task),
    }
    (out_dir / f"trial_{trial}.json").write_text(json.dumps(report))
    return (cfg.x - 2) ** 2


if __name__ == "__main__":
    main()
