"""Tiny Hydra app for the Ray launcher test: each job reports where it ran."""

import json
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> str:
    if cfg.x == "fail":
        raise ValueError("job asked to fail")
    if cfg.x == "crash":
        os._exit(3)
    report = {
        "x": cfg.x,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "parent_run_id": os.environ.get("CHURN_PARENT_RUN_ID"),
        "overrides": list(HydraConfig.get().overrides.task),
        "output_dir": HydraConfig.get().runtime.output_dir,
    }
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"job_{cfg.x}.json").write_text(json.dumps(report))
    return str(cfg.x)


if __name__ == "__main__":
    main()
