"""A tracking server that is down: every command says so in one line, at once.

Each command's own function runs in this process (what it prints and its exit code);
``tests/policy/test_policy_cli.py`` sees the same line end a real ``churn-promote``
process with exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import CHEAP, run_in_process
from test_store import closed_port

from churn_experiments import __main__ as churn
from churn_experiments import promote, serve
from churn_experiments.explain import __main__ as explain
from churn_experiments.store import HINT

pytestmark = pytest.mark.slow

COMMANDS = {
    "sweep": (churn.run, ["-m", "model=lr", *CHEAP]),
    "run": (churn.run, ["model=lr", *CHEAP]),
    "promote": (promote.cli, ["policy=best_f1"]),
    "explain": (explain.cli, ["run_id=0123abcd"]),
    "serve": (serve.cli, ["target.model_uri=models:/churn_model@champion"]),
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
    function, args = COMMANDS[command]
    done = run_in_process(
        function, *args, cwd=tmp_path, env={"MLFLOW_TRACKING_URI": uri}
    )
    assert done.returncode == 1
    message = f"cannot reach the tracking store {uri} (connection refused); {HINT}"
    (line,) = (done.stdout + done.stderr).splitlines()
    assert line.startswith(PREFIXES[command]) and line.endswith(message)
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "outputs"])  # nothing stored
