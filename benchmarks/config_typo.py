"""How long a config mistake takes to fail (target: under 2 s, median of 5).

Run: ``python benchmarks/config_typo.py [--repeat 5]``. Each mistake runs in a fresh
folder with its own ``MLFLOW_TRACKING_URI``; the script checks that it exits 1 with one
line and leaves no store behind. Runs are interleaved with ``python -c pass`` and
``--cfg job`` for scale (timings on a shared machine drift).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from _common import DATA_DIR, PROJECT, fresh_dir, median

FIXTURES = PROJECT / "tests" / "fixtures"
CASES = {
    "python -c pass": (["-c", "pass"], 0),
    "--cfg job": (["-m", "churn_experiments", "--cfg", "job"], 0),
    "typo: +dataset.split.stratfy=true": (
        ["-m", "churn_experiments", "+dataset.split.stratfy=true"],
        1,
    ),
    "typo: model.n_estimator (rf)": (
        ["-m", "churn_experiments", "model=rf", "+model.n_estimator=10"],
        1,
    ),
    "undeclared column (reads the file)": (
        ["-m", "churn_experiments", "--config-dir", "conf", "dataset=telco_like"],
        1,
    ),
}


def run_case(args: list[str], expected: int) -> float:
    """Run one case in a fresh folder; check its result, return its wall time."""
    folder = fresh_dir("config_typo_")
    for part in ("conf", "data"):
        shutil.copytree(FIXTURES / part, folder / part)
    spec = folder / "conf" / "dataset" / "telco_like.yaml"
    spec.write_text(spec.read_text().replace("  gender: {role: ignore}\n", ""))
    env = {
        **os.environ,
        "CHURN_DATA_DIR": DATA_DIR,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != expected or (folder / "mlflow.db").exists():
        raise RuntimeError(f"{args}: exit {result.returncode}\n{result.stderr[-2000:]}")
    shutil.rmtree(folder)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per case")
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label in CASES}
    for _ in range(args.repeat):  # interleaved: each round runs every case once
        for label, (command, expected) in CASES.items():
            times[label].append(run_case(command, expected))
    print(f"{'case':<40} {'median s':>9}  runs")
    for label, runs in times.items():
        listed = " ".join(f"{t:.2f}" for t in runs)
        print(f"{label:<40} {median(runs):>9.2f}  {listed}")


if __name__ == "__main__":
    main()
