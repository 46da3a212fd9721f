"""Helpers shared by the benchmark scripts: timing subprocesses in fresh folders."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DATA_DIR = os.environ.get("CHURN_DATA_DIR", str(PROJECT.parent / "shared" / "data"))


def run_timed(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``python args...`` in ``cwd``; return wall seconds and the process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, "CHURN_DATA_DIR": DATA_DIR, **(env or {})},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return elapsed, result


def fresh_dir(prefix: str) -> Path:
    """A new empty temporary folder (kept for inspection, under the system temp)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def median(values: Sequence[float]) -> float:
    """The median, for quoting noisy timings on a shared machine."""
    return statistics.median(values)
