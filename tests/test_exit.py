"""Console scripts end the process without Python's teardown (cli.exit_after), yet
as Python would: threads joined, atexit handlers run, output flushed, exit codes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from churn_experiments.cli import exit_after

def command():
    print("working", end="")  # unflushed when the process ends
    worker = threading.Thread(target=lambda: (time.sleep(0.3), Path("thread").touch()))
    worker.start()
    atexit.register(lambda: Path("atexit").write_text("ran"))
    {ending}

exit_after(command)
"""


@pytest.mark.parametrize(
    ("ending", "code", "stderr"),
    [
        ("", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('error: no such run')", 1, "error: no such run\n"),
    ],
)
def test_exit_after_ends_as_python_would(tmp_path, ending, code, stderr):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT.format(ending=ending))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        code,
        "working",
        stderr,
    )
    assert (tmp_path / "thread").exists()
    assert (tmp_path / "atexit").read_text() == "ran"


def test_an_unexpected_error_keeps_its_traceback(tmp_path):
    script = "from churn_experiments.cli import exit_after\nexit_after(lambda: 1 / 0)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_console_scripts_end_through_exit_after():
    from importlib.metadata import entry_points

    scripts = {
        e.name: e.value
        for e in entry_points(group="console_scripts")
        if e.name.startswith("churn")
    }
    assert len(scripts) == 8
    assert all(v.startswith("churn_experiments.commands:") for v in scripts.values())
