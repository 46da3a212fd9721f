"""Start-up time of ``python -m churn_experiments --cfg job`` (target: <= 1.5 s).

Run: ``python benchmarks/startup.py [--repeat 7]``. Prints each run and the median,
beside a bare ``python -c pass`` and ``import mlflow, sklearn, shap`` for scale.
"""

from __future__ import annotations

import argparse

from _common import PROJECT, median, run_timed

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -m churn_experiments --cfg job": [
        "-m",
        "churn_experiments",
        "--cfg",
        "job",
    ],
    "import mlflow, sklearn, shap": ["-c", "import mlflow, sklearn.ensemble, shap"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="runs per command")
    args = parser.parse_args()
    print(f"{'command':<42} {'median s':>9}  runs")
    for label, command in COMMANDS.items():
        times = [run_timed(command, PROJECT)[0] for _ in range(args.repeat)]
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"{label:<42} {median(times):>9.2f}  {runs}")


if __name__ == "__main__":
    main()
