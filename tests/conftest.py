"""Shared fixtures: the real dataset, composed configs and throwaway MLflow stores."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

PROJECT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT / "conf"
DATA_DIR = Path(os.environ.get("CHURN_DATA_DIR", PROJECT.parent / "shared" / "data"))
DATA_FILE = DATA_DIR / "Customertravel.csv"
MODELS = ("lr", "rf", "svc", "gb")


def compose_config(
    overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """Compose ``conf/config.yaml`` with ``overrides``, as the app would."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(
            "config", overrides=list(overrides), return_hydra_config=return_hydra_config
        )


def compose_job(overrides: Sequence[str] = ()) -> DictConfig:
    """A job's config as Hydra gives it to the task: HydraConfig set, no ``hydra``."""
    from hydra.core.hydra_config import HydraConfig

    cfg = compose_config(overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


@pytest.fixture(scope="session", autouse=True)
def data_dir() -> Path:
    """The tutorial dataset (``../shared/data`` unless ``CHURN_DATA_DIR`` says else)."""
    if not DATA_FILE.exists():
        pytest.exit(f"{DATA_FILE} is missing: set CHURN_DATA_DIR to its folder", 2)
    os.environ["CHURN_DATA_DIR"] = str(DATA_DIR)
    return DATA_DIR


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite store: copying it costs ms, migrating it ~3 s."""
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_store(
    tmp_path: Path, store_template: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh store in ``tmp_path`` (the test's working directory) for one test."""
    import mlflow

    shutil.copy(store_template, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return uri


@dataclass(frozen=True)
class Sweep:
    """What an in-process sweep left behind."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    run_ids: dict[str, str]  # model choice -> child run id (finished ones)


def run_sweep_in_process(models: Sequence[str], overrides: Sequence[str] = ()) -> Sweep:
    """Run a sweep through the real callback and job code, without a subprocess.

    The callback gets the multirun config (with its ``hydra`` node) and each job its
    own composed config, as Hydra's basic launcher would give them. A failing job is
    recorded and skipped, as in a real sweep.
    """
    from churn_experiments import tracking
    from churn_experiments.sweep_callback import MlflowSweepCallback
    from churn_experiments.train import train

    callback = MlflowSweepCallback()
    sweep_cfg = compose_config(overrides, return_hydra_config=True)
    with open_dict(sweep_cfg):
        sweep_cfg.hydra.overrides.task = [f"model={','.join(models)}", *overrides]
    callback.on_multirun_start(sweep_cfg)
    context = tracking.sweep_context()
    run_ids = {}
    for model in models:
        try:
            job = compose_job([f"model={model}", *overrides])
            run_ids[model] = train(job)["run_id"]
        except Exception:  # recorded on its FAILED run; the sweep goes on
            pass
    with contextlib.suppress(SystemExit):  # raised when a job failed
        callback.on_multirun_end(sweep_cfg)
    return Sweep(
        tracking.configure(sweep_cfg.tracking),
        context["experiment_id"],
        context["parent_run_id"],
        run_ids,
    )


@pytest.fixture
def run_sweep(mlflow_store: str) -> Callable[..., Sweep]:
    """Run an in-process sweep into this test's own store."""
    return run_sweep_in_process


@pytest.fixture(scope="session")
def tutorial_sweep(
    tmp_path_factory: pytest.TempPathFactory, store_template: Path
) -> Iterator[Sweep]:
    """The four-model sweep, once per session, in a store tests must only read.

    Tests that change the store (register, promote) copy it with ``copy_store``.
    """
    import mlflow

    folder = tmp_path_factory.mktemp("tutorial_sweep")
    shutil.copy(store_template, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    saved_cwd, saved_uri = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(folder)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    try:
        yield run_sweep_in_process(MODELS)
    finally:
        os.chdir(saved_cwd)
        if saved_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_uri
