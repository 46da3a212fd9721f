"""Batch scoring of 1,000,000 customers: wall time, rows/s and peak memory.

Run: ``python benchmarks/score.py [--rows 1000000] [--cases CASE ...]``. In a fresh
temporary folder it trains the tutorial's gradient boosting model, registers it as the
champion, builds an input by sampling the tutorial file with replacement (a
``CustomerId`` added), and
runs ``python -m churn_experiments.score`` once for each case:

- the local engine without reasons (target: at most 10 s, peak memory under 1 GB),
- the local engine with ``reasons=3`` (Tree SHAP),
- ``engine=ray`` on a local 2-CPU cluster.

"wall s" is the whole command (Python start-up, imports, model load included),
"scoring s" the scoring run's own ``seconds`` metric; "peak MB" is the command's
maximum resident memory (for Ray, the driver's; workers are separate processes).
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import DATA_DIR, PROJECT, fresh_dir, registered_model

MODEL_NAME = registered_model()
CASES = {
    "local, no reasons": [],
    "local, reasons=3 (gb)": ["reasons=3"],
    "ray, 2 CPUs": ["engine=ray"],
}


def train_champion(folder: Path) -> str:
    """Train gb into a store in ``folder``, make it the champion; the store's URI."""
    import mlflow
    from hydra import compose, initialize_config_dir

    from churn_experiments.train import train

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    with initialize_config_dir(str(PROJECT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["model=gb", "explain.enabled=false"])
    run_id = train(cfg)["run_id"]
    version = mlflow.register_model(f"runs:/{run_id}/model", MODEL_NAME).version
    mlflow.MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version)
    return uri


def build_input(path: Path, rows: int) -> None:
    """``rows`` customers sampled from the tutorial file, with ids."""
    tutorial = pd.read_csv(Path(DATA_DIR) / "Customertravel.csv", encoding="utf-8-sig")
    sample = tutorial.drop(columns=["Target"]).sample(
        n=rows, replace=True, random_state=np.random.default_rng(124)
    )
    sample.insert(0, "CustomerId", [f"C{i:07d}" for i in range(rows)])
    sample.to_csv(path, index=False)


def run_case(folder: Path, uri: str, extra: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and stdout of one scoring command."""
    command = [
        sys.executable, "-m", "churn_experiments.score", "input=customers.csv",
        "output=scores.csv", "id_columns=[CustomerId]", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=folder,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "CHURN_DATA_DIR": DATA_DIR},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {out}")
    return seconds, usage.ru_maxrss / 1024, out


def scoring_seconds(uri: str, stdout: str) -> float:
    """The ``seconds`` metric of the run the command printed."""
    import mlflow

    run_id = stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    return mlflow.MlflowClient(uri).get_run(run_id).data.metrics["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--cases", nargs="+", choices=list(CASES), default=list(CASES), metavar="CASE"
    )
    args = parser.parse_args()
    folder = fresh_dir("bench-score-")
    os.chdir(folder)
    uri = train_champion(folder)
    build_input(folder / "customers.csv", args.rows)
    size = (folder / "customers.csv").stat().st_size / 1e6
    print(f"input: {args.rows:,} rows, {size:.0f} MB CSV, in {folder}")
    print("| case | wall s | scoring s | rows/s (scoring) | peak MB |")
    print("|---|---:|---:|---:|---:|")
    for name in args.cases:
        wall, peak, out = run_case(folder, uri, CASES[name])
        seconds = scoring_seconds(uri, out)
        print(
            f"| {name} | {wall:.1f} | {seconds:.1f} | {args.rows / seconds:,.0f}"
            f" | {peak:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
