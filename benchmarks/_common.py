"""Helpers shared by the benchmark scripts: timing subprocesses in fresh folders."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def registered_model() -> str:
    """The default dataset's registered model, as config.yaml derives it."""
    from churn_experiments.naming import dataset_model

    return dataset_model()


DATA_DIR = os.environ.get("CHURN_DATA_DIR", str(PROJECT.parent / "shared" / "data"))


def run_timed(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``python args...`` in ``cwd``; return wall seconds and the process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, "CHURN_DATA_DIR": DATA_DIR, **(env or {})},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return elapsed, result


def fresh_dir(prefix: str) -> Path:
    """A new empty temporary folder (kept for inspection, under the system temp)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def median(values: Sequence[float]) -> float:
    """The median, for quoting noisy timings on a shared machine."""
    return statistics.median(values)


def train_champion(folder: Path, name: str) -> tuple[str, str]:
    """Train gb into ``folder``'s store, register it as ``name@champion``.

    ``MLFLOW_TRACKING_URI`` must name the store. Returns the run id and the URI.
    """
    import mlflow

    run_timed(["-m", "churn_experiments", "model=gb"], folder)
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    (run_id,) = mlflow.search_runs(search_all_experiments=True)["run_id"]
    version = mlflow.register_model(f"runs:/{run_id}/model", name).version
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version)
    return run_id, f"models:/{name}@champion"


def held_out_rows(run_id: str) -> object:
    """The test split of the run's own dataset config (raw input columns)."""
    import mlflow
    from omegaconf import OmegaConf

    from churn_experiments.data import load_dataset, split_dataset

    cfg = OmegaConf.create(mlflow.artifacts.load_text(f"runs:/{run_id}/config.yaml"))
    dataset = OmegaConf.to_container(cfg.dataset)
    return split_dataset(load_dataset(dataset), dataset).X_test


def in_fresh_store(prefix: str) -> Path:
    """A new folder holding the store: the working directory and tracking URI."""
    folder = fresh_dir(prefix)
    os.chdir(folder)
    os.environ["CHURN_DATA_DIR"] = DATA_DIR
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    return folder
