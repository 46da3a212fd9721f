"""Shared fixtures: the real dataset, composed configs and throwaway MLflow stores."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import (
    DATA_DIR,
    DATA_FILE,
    FIXTURES,
    MODELS,
    Sweep,
    run_sweep_in_process,
)


@pytest.fixture(scope="session", autouse=True)
def data_dir() -> Path:
    """The tutorial dataset (``../shared/data`` unless ``CHURN_DATA_DIR`` says else)."""
    if not DATA_FILE.exists():
        pytest.exit(f"{DATA_FILE} is missing: set CHURN_DATA_DIR to its folder", 2)
    os.environ["CHURN_DATA_DIR"] = str(DATA_DIR)
    return DATA_DIR


@pytest.fixture(autouse=True)
def _tracking_uri_per_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts on the session's read-only sweep store, if it uses it, and
    leaves MLflow's global tracking URI as it found it (``runs:/`` URIs resolve there).
    """
    import mlflow

    saved = mlflow.get_tracking_uri()
    if "tutorial_sweep" in request.fixturenames:
        mlflow.set_tracking_uri(request.getfixturevalue("tutorial_sweep").tracking_uri)
    yield
    mlflow.set_tracking_uri(saved)


@pytest.fixture(autouse=True)
def _no_hydra_state() -> Iterator[None]:
    """Each test starts and ends without Hydra's global config (HydraConfig), which
    an in-process Hydra app or launcher sets: library code must not depend on it."""
    from hydra.core.hydra_config import HydraConfig

    HydraConfig.instance().cfg = None
    yield
    HydraConfig.instance().cfg = None


@pytest.fixture(scope="session", autouse=True)
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty, migrated SQLite store new stores are copied from, built once per
    session in a cache folder of its own (subprocesses inherit it): copying it costs
    ms, migrating ~3 s.
    """
    from churn_experiments import store

    os.environ[store.CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("cache"))
    return store.template()


@pytest.fixture
def mlflow_store(
    tmp_path: Path, store_template: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh store in ``tmp_path`` (the test's working directory) for one test.

    Its default experiment keeps artifacts in ``tmp_path/mlruns``, not where the
    template was built (the checkout).
    """
    import mlflow

    from churn_experiments import store

    store.install_copy(
        store_template, tmp_path / "mlflow.db", str(tmp_path / "mlruns" / "0")
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return uri


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


@pytest.fixture
def user_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's config folder (a copy of ``tests/data/conf``) on the search path.

    Its dataset files read the fixture CSVs of ``tests/data``.
    """
    folder = shutil.copytree(FIXTURES / "conf", tmp_path / "user_conf")
    monkeypatch.setenv("CHURN_CONFIG_PATH", str(folder))
    monkeypatch.setenv("CHURN_FIXTURES", str(FIXTURES))
    return folder
