"""Two figures of issue 10: creating a new SQLite store, and failing on a dead server.

Run: ``python benchmarks/faults.py [--repeat 3]``. Prints the seconds MLflow's
migrations and our template copy take to create a new store (interleaved, in one
process, medians), then, for each command, the wall seconds until it gives up on
a tracking URI whose port is closed, with the line it printed.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

from _common import DATA_DIR, fresh_dir, median

COMMANDS = {
    "sweep": ["-m", "churn_experiments", "-m", "model=lr"],
    "promote": ["-m", "churn_experiments.promote", "policy=best_f1"],
    "explain": ["-m", "churn_experiments.explain", "run_id=0123abcd"],
    "serve": ["-m", "churn_experiments.serve", "target.model_uri=models:/m@champion"],
}


def new_store_seconds(repeat: int) -> tuple[list[float], list[float]]:
    """Seconds to create a store: MLflow's migrations, then our template copy."""
    import mlflow

    from churn_experiments import store

    store.template()  # built once per MLflow version; not what is measured
    migrate, copy = [], []
    for _ in range(repeat):
        folder = fresh_dir("faults-store-")
        started = time.perf_counter()
        mlflow.MlflowClient(f"sqlite:///{folder / 'migrated.db'}").search_experiments()
        migrate.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.prepare(f"sqlite:///{folder / 'copied.db'}")
        copy.append(time.perf_counter() - started)
    return migrate, copy


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="stores per method")
    args = parser.parse_args()
    migrate, copy = new_store_seconds(args.repeat)
    print(
        f"new SQLite store: MLflow migrations {median(migrate):.2f} s, template copy "
        f"{median(copy):.3f} s (medians of {args.repeat}, interleaved)"
    )
    uri = f"http://127.0.0.1:{closed_port()}"
    print(f"\nMLFLOW_TRACKING_URI={uri} (closed port)")
    print(f"{'command':<8} {'exit':>4} {'seconds':>8}  first line printed")
    for label, command in COMMANDS.items():
        env = {**os.environ, "CHURN_DATA_DIR": DATA_DIR, "MLFLOW_TRACKING_URI": uri}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *command],
            cwd=fresh_dir("faults-cli-"),
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        first = (done.stderr or done.stdout).splitlines()[:1] or [""]
        print(f"{label:<8} {done.returncode:>4} {seconds:>8.1f}  {first[0]}")


if __name__ == "__main__":
    main()
