"""A tracking server that is down: every command says so in one line, at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import CHEAP, run_module
from test_store import closed_port

from churn_experiments.store import HINT

pytestmark = pytest.mark.slow

COMMANDS = {
    "sweep": ["churn_experiments", "-m", "model=lr", *CHEAP],
    "run": ["churn_experiments", "model=lr", *CHEAP],
    "promote": ["churn_experiments.promote", "policy=best_f1"],
    "explain": ["churn_experiments.explain", "run_id=0123abcd"],
    "serve": [
        "churn_experiments.serve",
        "target.model_uri=models:/churn_model@champion",
    ],
}
# how each command starts its error line
PREFIXES = {
    "sweep": "error: while starting the sweep: ",
    "run": "error: ",
    "promote": "error: ",
    "explain": "error: ",
    "serve": "error: ",
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_closed_port_is_one_line_naming_the_uri(tmp_path: Path, command: str) -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = run_module(*COMMANDS[command], cwd=tmp_path, env=env)
    assert done.returncode == 1
    message = f"cannot reach the tracking store {uri} (connection refused); {HINT}"
    (line,) = (done.stdout + done.stderr).splitlines()
    assert line.startswith(PREFIXES[command]) and line.endswith(message)
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "outputs"])  # nothing stored
