"""Tests of the Ray launcher plugin (``hydra/launcher=ray``)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = Path(__file__).resolve().parent / "ray_app"
PARENT_RUN_ID = "0123456789abcdef"


@pytest.fixture
def ray() -> ModuleType:
    return pytest.importorskip(
        "ray", reason="Ray is not installed: pip install -e '.[ray]'"
    )


def test_ray_launcher_is_discovered() -> None:
    names = [
        f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Launcher)
    ]
    assert "hydra_plugins.churn_ray_launcher.ray_launcher.RayLauncher" in names


def test_ray_launcher_config_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with initialize_config_dir(version_base="1.3", config_dir=str(APP_DIR)):
        options = (
            GlobalHydra.instance().config_loader().get_group_options("hydra/launcher")
        )
        cfg = compose(
            config_name="config",
            overrides=["hydra/launcher=ray"],
            return_hydra_config=True,
        )
        assert "ray" in options
        launcher = cfg.hydra.launcher
        assert launcher._target_.endswith("churn_ray_launcher.ray_launcher.RayLauncher")
        assert launcher.address is None  # null: start a local cluster
        assert launcher.num_cpus_per_job == 1
        assert launcher.shutdown_after is True
        monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
        assert launcher.address == "ray://head:10001"


def test_driver_state_is_applied_then_restored(
    ray: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hydra_plugins.churn_ray_launcher._core import DriverState

    for key in list(os.environ):
        if key.startswith(("CHURN_", "MLFLOW_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CHURN_PARENT_RUN_ID", PARENT_RUN_ID)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///driver.db")
    monkeypatch.setenv("UNRELATED", "driver")
    state = DriverState.capture()
    assert state.env == {
        "CHURN_PARENT_RUN_ID": PARENT_RUN_ID,
        "MLFLOW_TRACKING_URI": "sqlite:///driver.db",
    }

    # what a worker of another cluster may have
    monkeypatch.delenv("CHURN_PARENT_RUN_ID")
    monkeypatch.setenv("CHURN_SWEEP_ID", "stale")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///worker.db")
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    extra = tmp_path / "driver_code"
    extra.mkdir()
    state = DriverState(
        cwd=state.cwd, sys_path=(*state.sys_path, str(extra)), env=state.env
    )

    with state.applied():
        assert os.environ["CHURN_PARENT_RUN_ID"] == PARENT_RUN_ID
        assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:///driver.db"
        assert "CHURN_SWEEP_ID" not in os.environ
        assert os.getcwd() == state.cwd
        assert str(extra) in sys.path
    assert "CHURN_PARENT_RUN_ID" not in os.environ
    assert os.environ["CHURN_SWEEP_ID"] == "stale"
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:///worker.db"
    assert os.environ["UNRELATED"] == "driver"
    assert os.getcwd() == str(tmp_path)
    assert sys.path == path_before


@pytest.fixture
def ray_temp_dir() -> Iterator[Path]:
    # Ray's socket paths must stay short: not under pytest's long tmp_path
    path = Path(tempfile.mkdtemp(prefix="ray-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _ray_processes(temp_dir: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True)
    return [line for line in ps.stdout.splitlines() if str(temp_dir) in line]


def _run_app(
    cwd: Path, *overrides: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the app's multirun; return the process and the driver's pid."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins")])
    env["CHURN_PARENT_RUN_ID"] = PARENT_RUN_ID
    args = [
        sys.executable,
        str(APP_DIR / "app.py"),
        "-m",
        "hydra/launcher=ray",
        "hydra.sweep.dir=multirun",  # relative: resolved in the driver's cwd
        f"out_dir={cwd / 'out'}",
        *overrides,
    ]
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        output, _ = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, output), proc.pid


def _reports(cwd: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (cwd / "out").glob("*.json")}


def _assert_cluster_stopped(temp_dir: Path) -> None:
    deadline = time.monotonic() + 15
    while _ray_processes(temp_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ray_processes(temp_dir) == []


@pytest.mark.slow
@pytest.mark.ray
def test_sweep_runs_on_a_local_cluster(
    ray: ModuleType, tmp_path: Path, ray_temp_dir: Path
) -> None:
    result, driver_pid = _run_app(
        tmp_path,
        "hydra.launcher.num_cpus=2",
        f"++hydra.launcher.init_kwargs._temp_dir={ray_temp_dir}",
        "x=1,2,3",
    )

    assert result.returncode == 0, result.stdout
    assert (
        "Ray launcher: submitting 3 jobs to a local cluster (2 CPUs)" in result.stdout
    )
    reports = _reports(tmp_path)
    assert sorted(reports) == ["job_1", "job_2", "job_3"]
    for x, report in enumerate(sorted(reports.values(), key=lambda r: r["x"]), 1):
        assert report["pid"] != driver_pid  # ran in a Ray worker process
        assert report["parent_run_id"] == PARENT_RUN_ID
        assert report["cwd"] == str(tmp_path)
        assert f"x={x}" in report["overrides"]
        assert report["output_dir"] == str(tmp_path / "multirun" / str(x - 1))
    _assert_cluster_stopped(ray_temp_dir)


@pytest.mark.slow
@pytest.mark.ray
def test_failed_jobs_fail_the_multirun(
    ray: ModuleType, tmp_path: Path, ray_temp_dir: Path
) -> None:
    result, _ = _run_app(
        tmp_path,
        "hydra.launcher.num_cpus=2",
        f"++hydra.launcher.init_kwargs._temp_dir={ray_temp_dir}",
        "x=1,fail,2,crash",
    )

    assert result.returncode != 0
    assert sorted(_reports(tmp_path)) == ["job_1", "job_2"]  # the others still ran
    assert re.search(r"job 2/4 failed \(.*x=fail.*\): ValueError", result.stdout)
    # the worker process died: Ray's error comes back as the job's failure
    assert re.search(
        r"job 4/4 failed \(.*x=crash.*\): WorkerCrashedError", result.stdout
    )
    assert "ValueError: job asked to fail" in result.stdout
    assert "Traceback in Ray worker pid" in result.stdout
    _assert_cluster_stopped(ray_temp_dir)


@pytest.fixture
def existing_cluster(
    ray: ModuleType, ray_temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A cluster started by this test process, without the jobs' env vars."""
    for key in list(os.environ):
        if key.startswith(("CHURN_", "MLFLOW_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "plugins")])
    )
    ray.init(address="local", num_cpus=2, _temp_dir=str(ray_temp_dir))
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
    _assert_cluster_stopped(ray_temp_dir)


@pytest.mark.slow
@pytest.mark.ray
def test_sweep_runs_on_an_existing_cluster(
    existing_cluster: str, tmp_path: Path
) -> None:
    result, _ = _run_app(tmp_path, "x=1,2", env={"RAY_ADDRESS": existing_cluster})

    assert result.returncode == 0, result.stdout
    assert f"submitting 2 jobs to {existing_cluster} (2 CPUs)" in result.stdout
    reports = _reports(tmp_path)
    assert sorted(reports) == ["job_1", "job_2"]
    for report in reports.values():
        assert report["parent_run_id"] == PARENT_RUN_ID  # not in the cluster's env
        assert report["cwd"] == str(tmp_path)  # the cluster runs from elsewhere


@pytest.mark.slow
@pytest.mark.ray
def test_a_ray_worker_draws_its_jobs_figures_itself(
    ray: ModuleType, existing_cluster: str
) -> None:
    """A figure process would take a core Ray did not reserve for the job; this
    process, Ray's driver, keeps drawing in a worker (the cluster's env lacks
    ``CHURN_FIGURES_IN_PROCESS``: see the fixture)."""
    from churn_experiments import figures

    assert figures._cores() < 2 or not figures._draws_here()
    assert ray.get(ray.remote(figures._draws_here).remote())
