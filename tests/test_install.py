"""A non-editable install carries its configs and plugins: a sweep runs from an empty
folder with nothing but the installed package (``pkg://churn_experiments.conf``)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from support import CHEAP, DATA_DIR, PROJECT

pytestmark = pytest.mark.slow

SOURCES = (
    "pyproject.toml",
    "README.md",
    "churn_experiments",
    "conf",
    "plugins",
)


def run(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the project's wheel; its dependencies come from this venv."""
    root = tmp_path_factory.mktemp("install")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    (root / "src").mkdir()
    for name in SOURCES:  # build from a copy: the build writes beside its sources
        source = PROJECT / name
        if source.is_dir():
            # keep churn_experiments/conf a symlink to conf/, as in a checkout
            shutil.copytree(source, root / "src" / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy(source, root / "src" / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        str(root / "dist"),
        str(root / "src"),
    )
    run(sys.executable, "-m", "venv", str(root / "venv"))
    python = root / "venv" / "bin" / "python"
    purelib = run(
        str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
    )
    # this venv's packages (hydra, mlflow...) after the new venv's own, not its .pth
    Path(purelib.stdout.strip(), "deps.pth").write_text(
        site.getsitepackages()[0] + "\n"
    )
    (wheel,) = (root / "dist").glob("churn_experiments-*.whl")
    run(
        str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)
    )
    return root / "venv"


def test_the_installed_copy_is_the_one_imported(venv: Path, tmp_path: Path) -> None:
    done = run(
        str(venv / "bin" / "python"), "-c",
        "import churn_experiments.conf, hydra_plugins.churn_searchpath as p;"
        "print(churn_experiments.conf.__file__); print(p.__file__)",
        cwd=tmp_path, env=_env(tmp_path),
    )  # fmt: skip
    assert all(line.startswith(str(venv)) for line in done.stdout.splitlines())


def test_a_sweep_runs_from_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    done = run(
        str(venv / "bin" / "churn"), "-m", "model=lr", *CHEAP,
        cwd=tmp_path, env=_env(tmp_path),
    )  # fmt: skip
    assert "Leaderboard" in done.stdout + done.stderr
    assert (tmp_path / "mlflow.db").exists()


def test_the_search_path_plugin_is_installed(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "mine" / "model").mkdir(parents=True)
    (tmp_path / "mine" / "model" / "tiny.yaml").write_text(
        "_target_: sklearn.linear_model.LogisticRegression\nC: 0.5\n"
    )
    env = {**_env(tmp_path), "CHURN_CONFIG_PATH": str(tmp_path / "mine")}
    done = run(
        str(venv / "bin" / "churn-promote"), "--cfg", "job", "model=tiny",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "C: 0.5" in done.stdout


def _env(folder: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {
        **env,
        "CHURN_DATA_DIR": str(DATA_DIR),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
    }
