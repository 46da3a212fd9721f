"""A user's project in a temporary folder: the fixture CSVs and dataset YAML, and the
command run on them in a subprocess, as a user would (``--config-dir``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    folder: Path, *args: str, module: str = "churn_experiments", timeout: int = 300
) -> subprocess.CompletedProcess:
    """``python -m <module> ARGS`` from ``folder``, with its own SQLite store there."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
