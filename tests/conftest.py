"""Shared fixtures: the real dataset, composed configs and throwaway MLflow stores."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from support import (
    DATA_DIR,
    DATA_FILE,
    FIXTURES,
    MODELS,
    Sweep,
    run_sweep_in_process,
    tracking_to,
)

pytest_plugins = ["session_checks"]


@pytest.fixture(scope="session", autouse=True)
def hear_ctrl_c() -> None:
    """Tests started in the background (``&`` in a script, nohup) ignore SIGINT, and
    a child inherits an ignored signal: Ctrl-C sent to a command a test started (a
    sweep, a server) went unheard, so the sweep ran on and the server never stopped."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def data_dir() -> Path:
    """The tutorial dataset (``../shared/data`` unless ``CHURN_DATA_DIR`` says else)."""
    if not DATA_FILE.exists():
        pytest.exit(f"{DATA_FILE} is missing: set CHURN_DATA_DIR to its folder", 2)
    os.environ["CHURN_DATA_DIR"] = str(DATA_DIR)
    return DATA_DIR


@pytest.fixture(scope="session", autouse=True)
def figures_in_the_job() -> None:
    """Jobs draw their figures in their own process (``CHURN_FIGURES_IN_PROCESS=1``,
    inherited by the commands the tests start): the test workers keep both cores busy,
    where a figure worker only adds ~2 s of CPU to start per command. The tests of
    the worker itself ask for :func:`figure_worker`."""
    from churn_experiments import figures

    os.environ[figures.IN_PROCESS_ENV] = "1"


@pytest.fixture
def figure_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Figures drawn in the worker process, as by default outside the tests."""
    from churn_experiments import figures

    monkeypatch.delenv(figures.IN_PROCESS_ENV)
    figures.release()  # the test starts without one
    yield
    figures.release()


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


@pytest.hookimpl(trylast=True)  # after xdist started its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the controller builds the store template while the workers start
    and collect: their first test copies it instead of waiting for the migrations."""
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("dist", "no") == "no":
        return
    from churn_experiments import store

    os.environ[store.CACHE_DIR_ENV] = str(_cache_dir(config._tmp_path_factory))
    threading.Thread(target=store.template, daemon=True).start()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _freeze_survivors()


@pytest.hookimpl(trylast=True)  # after pytest tore down the module's fixtures
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if getattr(nextitem, "module", None) is not getattr(item, "module", None):
        _freeze_survivors()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The interpreter's exit collects the whole heap again (~3 s per worker): not
    what the tests left, which the process's end frees anyway."""
    gc.freeze()


def _freeze_survivors() -> None:
    """What outlives the collection or a test module (imported modules, caches,
    session fixtures) is collected once, then frozen out of the garbage collector's
    sight: each later collection walks only what the next tests make. Unfrozen,
    ~1 M objects cost each worker ~8 s of collections."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty, migrated SQLite store new stores are copied from, built once per
    session (by the xdist controller, or the first worker, under the store's own
    file lock) in a cache folder of its own (subprocesses inherit it): copying it
    costs ms, migrating ~2 s.
    """
    from churn_experiments import store

    os.environ[store.CACHE_DIR_ENV] = str(_cache_dir(tmp_path_factory))
    return store.template()


def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's cache folder (the store template), shared by xdist workers."""
    cache = session_root(tmp_path_factory) / "cache"
    cache.mkdir(exist_ok=True)
    return cache


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
) -> Sweep:
    """The four-model sweep, once per session (the first xdist worker that needs it
    runs it, the others wait and read what it recorded), in a store tests must only
    read.

    Tests that change the store (register, promote) copy it: see the ``store``
    fixture of ``tests/policy``.
    """
    root = session_root(tmp_path_factory)
    folder, record = root / "tutorial_sweep", root / "tutorial_sweep.json"
    with FileLock(root / "tutorial_sweep.lock"):
        if not record.exists():
            folder.mkdir()
            shutil.copy(store_template, folder / "mlflow.db")
            with _tracking_to(folder):
                sweep = run_sweep_in_process(MODELS)
            record.write_text(json.dumps(dataclasses.asdict(sweep)))
    return Sweep(**json.loads(record.read_text()))


@pytest.fixture(scope="session", autouse=True)
def tutorial_sweep_first(request: pytest.FixtureRequest) -> None:
    """Under xdist, worker gw0 runs the tutorial sweep before its first test, if a
    test needs it: the other workers start on the tests that do not (they come
    first, see ``session_checks``) instead of waiting for it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0" and any(
        "tutorial_sweep" in getattr(item, "fixturenames", ())
        for item in request.session.items
    ):
        request.getfixturevalue("tutorial_sweep")


@contextlib.contextmanager
def _tracking_to(folder: Path) -> Iterator[None]:
    """Work in ``folder`` with its ``mlflow.db`` as the tracking store, then put the
    working directory, ``MLFLOW_TRACKING_URI`` and MLflow's URI back."""
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    saved_cwd, saved_env = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(folder)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        with tracking_to(uri):
            yield
    finally:
        os.chdir(saved_cwd)
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder, shared by all xdist workers of one run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture
def user_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's config folder (a copy of ``tests/data/conf``) on the search path.

    Its dataset files read the fixture CSVs of ``tests/data``.
    """
    folder = shutil.copytree(FIXTURES / "conf", tmp_path / "user_conf")
    monkeypatch.setenv("CHURN_CONFIG_PATH", str(folder))
    monkeypatch.setenv("CHURN_FIXTURES", str(FIXTURES))
    return folder
