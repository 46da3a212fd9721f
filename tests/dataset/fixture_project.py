"""A user's project in a temporary folder: the fixture CSVs and dataset YAML, and the
command run on them from that folder, as a user would (``--config-dir``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support import run_in_process

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def make_project(folder: Path) -> Path:
    """Copy ``tests/fixtures/{conf,data}`` into ``folder``; return its config dir."""
    for part in ("conf", "data"):
        shutil.copytree(FIXTURES / part, folder / part)
    return folder / "conf"


def edit_yaml(path: Path, old: str, new: str) -> None:
    """Replace one line's text in a YAML file, as a user editing it would."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def run_command(
    folder: Path, *args: str, module: str = "churn_experiments"
) -> subprocess.CompletedProcess:
    """``python -m <module> ARGS`` from ``folder``, with its own SQLite store there:
    the command's function run in this process (the tests are about what it does;
    tests/test_configs.py runs the process itself)."""
    from churn_experiments import __main__ as churn
    from churn_experiments.dataset import __main__ as dataset

    command = {"churn_experiments": churn.run, "churn_experiments.dataset": dataset.cli}
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return run_in_process(
        command[module], *args, cwd=folder, env={"MLFLOW_TRACKING_URI": uri}
    )
