"""The four-model sweep on synthetic data of growing size: wall time and peak memory.

Run: ``python benchmarks/scale.py [--sizes 10000 100000 1000000]``. For each size it
runs ``python -m churn_experiments -m model=lr,rf,svc_linear,gb
dataset=travel_churn_synthetic dataset.synthetic.rows=N`` in a fresh folder (basic
launcher, one process, a pre-migrated SQLite store) and prints the wall time, the
process's peak RSS, each model's ``fit_seconds`` and job duration from MLflow, and how
each grew from one size to the next. The 1M-row sweep takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import DATA_DIR, fresh_dir

MODELS = ("lr", "rf", "svc_linear", "gb")
SVC_NOTE = (
    "svc: linear-time alternative. model=svc_linear (sklearn.svm.LinearSVC) stands in "
    "for model=svc\n(RBF SVC: fit time grows with rows squared, scoring with support "
    "vectors x rows)."
)


def run_sweep(folder: Path, store: Path, rows: int) -> tuple[float, float]:
    """Run the sweep in ``folder``; return its wall seconds and peak RSS in MiB."""
    shutil.copy(store, folder / "mlflow.db")
    command = [
        *(sys.executable, "-m", "churn_experiments", "-m"),
        f"model={','.join(MODELS)}",
        "dataset=travel_churn_synthetic",
        f"dataset.synthetic.rows={rows}",
    ]
    env = {
        **os.environ,
        "CHURN_DATA_DIR": DATA_DIR,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
    }
    started = time.perf_counter()
    with (folder / "sweep.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        # wait4: this child's own peak RSS (KiB on Linux), not the max of all children
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = (folder / "sweep.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"the {rows}-row sweep failed:\n{tail}")
    return wall, usage.ru_maxrss / 1024


def job_seconds(store: Path) -> dict[str, tuple[float, float]]:
    """model -> (fit_seconds, whole job seconds), read from the sweep's child runs."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("travel_churn_synthetic")  # its own
    runs = client.search_runs(
        [experiment.experiment_id], "tags.mlflow.parentRunId LIKE '%'"
    )
    return {
        run.data.tags["model_family"]: (
            run.data.metrics["fit_seconds"],
            (run.info.end_time - run.info.start_time) / 1e3,
        )
        for run in runs
    }


def migrated_store() -> Path:
    """An empty SQLite store with MLflow's schema (creating one costs ~3 s)."""
    import mlflow

    path = fresh_dir("churn_scale_store_") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    sizes = sorted(parser.parse_args().sizes)
    print(SVC_NOTE)
    store = migrated_store()
    results = {}
    for rows in sizes:
        folder = fresh_dir(f"churn_scale_{rows}_")
        wall, peak = run_sweep(folder, store, rows)
        results[rows] = (wall, peak, job_seconds(folder / "mlflow.db"))
        print(f"  {rows:>9,} rows: {wall:7.1f} s wall, {peak:7.0f} MiB peak ({folder})")

    header = f"{'rows':>9} {'wall s':>8} {'peak MiB':>9}" + "".join(
        f" {m + ' fit/job s':>22}" for m in MODELS
    )
    print("\n" + header + "\n" + "-" * len(header))
    for rows, (wall, peak, jobs) in results.items():
        cells = "".join(f" {jobs[m][0]:>10.2f} / {jobs[m][1]:>8.1f}" for m in MODELS)
        print(f"{rows:>9,} {wall:>8.1f} {peak:>9.0f}{cells}")

    for small, large in zip(sizes, sizes[1:], strict=False):
        (wall_s, _, jobs_s), (wall_l, _, jobs_l) = results[small], results[large]
        print(
            f"\n{small:,} -> {large:,} rows (x{large / small:.0f}): "
            f"wall x{wall_l / wall_s:.1f}; {growth(jobs_s, jobs_l)}"
        )


def growth(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> str:
    """How much each model's fit and job time grew from one size to the next."""
    parts = []
    for model in MODELS:
        (fit_a, job_a), (fit_b, job_b) = before[model], after[model]
        parts.append(f"{model} fit x{fit_b / fit_a:.1f} job x{job_b / job_a:.1f}")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
