"""Our local target against plain ``mlflow models serve``, side by side in one run.

Run: ``python benchmarks/serve.py [--starts 3] [--requests 200] [--seconds 5]``.

Trains one gb model into a temporary store and registers it as the champion, then
compares three servers:

- ``ours``: ``python -m churn_experiments.serve`` (the CLI: our layer in front of
  MLflow's scoring app, the data-contract check) serving the champion;
- ``plain``: ``mlflow models serve --env-manager local`` of the same champion;
- ``sklearn``: ``mlflow models serve`` of the same pipeline logged with plain
  ``mlflow.sklearn.log_model`` (no data-contract check): the seed's way.

Figures: cold start from launch to the first ``/ping`` (median of ``--starts``;
launches alternate between servers), p50/p95 latency of single-row requests and rows/s
of sequential 100-row batches (about ``--seconds`` per server). Requests take turns
between the three running servers, so a busy neighbour on the machine slows them
alike. Slowdown is ours/other for times, other/ours for rows/s; the target is <= 1.10
against ``sklearn`` for latency and rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from _common import (
    fresh_dir,
    held_out_rows,
    in_fresh_store,
    median,
    registered_model,
    train_champion,
)

from churn_experiments.deploy import payloads
from churn_experiments.deploy.local import Server, free_port

NAME = registered_model()
BATCH_ROWS = 100


def build_store(folder: Path) -> tuple[str, str, object]:
    """Train gb into ``folder``; return the champion URI, a sklearn-only URI, X_test."""
    import mlflow
    import skops.io

    from churn_experiments import tracking

    run_id, champion = train_champion(folder, NAME)
    pipeline = mlflow.sklearn.load_model(champion)
    model = mlflow.models.Model.load(champion)
    x_test = held_out_rows(run_id)
    with mlflow.start_run(run_name="sklearn-only"):
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
        plain = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=model.signature,
            input_example=x_test.head(5),
            pip_requirements=tracking.model_requirements(),
            serialization_format="skops",
            skops_trusted_types=trusted,
        )
    return champion, plain.model_uri, x_test


def launch(command: list[str], port: int) -> Server:
    """Start ``command`` in its own process group, output to a throwaway log."""
    log_file = fresh_dir("churn-bench-serve-") / "server.log"
    with open(log_file, "wb") as out:
        process = subprocess.Popen(
            command,
            env=plain_env(),
            cwd=os.getcwd(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(process, "127.0.0.1", port, log_file)


def plain_env() -> dict[str, str]:
    """The environment with this Python's bin first on PATH.

    ``mlflow models serve`` execs ``uvicorn`` found on PATH.
    """
    bin_dir = str(Path(sys.executable).parent)  # not resolved: the venv's own bin
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]])}


def ours(model_uri: str, port: int) -> Server:
    return launch(
        [sys.executable, "-m", "churn_experiments.serve",
         f"target.model_uri={model_uri}", f"target.port={port}"],
        port,
    )  # fmt: skip


def plain(model_uri: str, port: int) -> Server:
    mlflow_cli = str(Path(sys.executable).parent / "mlflow")
    return launch(
        [mlflow_cli, "models", "serve", "-m", model_uri, "--env-manager", "local",
         "--host", "127.0.0.1", "-p", str(port)],
        port,
    )  # fmt: skip


def timed_requests(
    sessions: dict[str, requests.Session], urls: dict[str, str], body: dict, n: int
) -> dict[str, list[float]]:
    """Seconds per request, ``n`` requests per server, taking turns request by request.

    Taking turns spreads a busy neighbour's load evenly over the servers.
    """
    times: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(n):
        for name, url in urls.items():
            started = time.perf_counter()
            sessions[name].post(url, json=body).raise_for_status()
            times[name].append(time.perf_counter() - started)
    return times


def slowdown(ours: float, other: float, higher_is_better: bool) -> float:
    """How many times worse ours is (below 1: better)."""
    return other / ours if higher_is_better else ours / other


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=3, help="cold starts per server")
    parser.add_argument("--requests", type=int, default=200, help="single-row requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="of 100-row batches")
    args = parser.parse_args()

    folder = in_fresh_store("churn-bench-serve-store-")
    print(f"training gb into {folder} ...", flush=True)
    champion, sklearn_only, x_test = build_store(folder)
    servers: dict[str, tuple[Callable[[str, int], Server], str]] = {
        "ours": (ours, champion),
        "plain": (plain, champion),
        "sklearn": (plain, sklearn_only),
    }

    cold: dict[str, list[float]] = {name: [] for name in servers}
    running: dict[str, Server] = {}
    with contextlib.ExitStack() as stack:  # every server is stopped, even on errors
        for start in range(args.starts):
            for name, (launcher, uri) in servers.items():
                server = stack.enter_context(launcher(uri, free_port()))
                cold[name].append(server.wait_until_ready(120))
                if start < args.starts - 1:
                    server.stop()
                else:
                    running[name] = server
            print(f"cold starts {start + 1}/{args.starts} done", flush=True)

        single = payloads.dataframe_split(x_test.head(1))
        batch = payloads.dataframe_split(x_test.head(BATCH_ROWS))
        sessions = {name: requests.Session() for name in running}
        urls = {name: server.invocations_url for name, server in running.items()}
        timed_requests(sessions, urls, single, 20)  # warm-up
        latency = timed_requests(sessions, urls, single, args.requests)
        batch_seconds = median(timed_requests(sessions, urls, batch, 3)["plain"])
        batches = max(3, round(args.seconds / batch_seconds))
        batch_times = timed_requests(sessions, urls, batch, batches)

    figures = {
        "cold start to /ping (s)": ({n: median(v) for n, v in cold.items()}, False),
        "p50 single row (ms)": (
            {n: 1000 * median(v) for n, v in latency.items()},
            False,
        ),
        "p95 single row (ms)": (
            {n: 1000 * statistics.quantiles(v, n=20)[18] for n, v in latency.items()},
            False,
        ),
        "100-row batches (rows/s)": (
            {n: BATCH_ROWS * len(v) / sum(v) for n, v in batch_times.items()},
            True,
        ),
    }
    print(
        f"\n{'figure':<26}{'ours':>9}{'plain':>9}{'sklearn':>9}"
        f"{'ours vs plain':>15}{'ours vs sklearn':>17}"
    )
    for label, (values, higher_is_better) in figures.items():
        vs_plain, vs_sklearn = (
            slowdown(values["ours"], values[other], higher_is_better)
            for other in ("plain", "sklearn")
        )
        print(
            f"{label:<26}{values['ours']:>9.1f}{values['plain']:>9.1f}"
            f"{values['sklearn']:>9.1f}{vs_plain:>14.2f}x{vs_sklearn:>16.2f}x"
        )
    runs = "; ".join(f"{n} {' '.join(f'{t:.1f}' for t in v)}" for n, v in cold.items())
    paired = (
        median([o / p for o, p in zip(cold["ours"], cold[other], strict=True)])
        for other in ("plain", "sklearn")
    )
    print(f"\ncold starts (s): {runs}")
    print(
        "cold start, median of ratios of back-to-back starts: ours/plain"
        " {:.2f}x, ours/sklearn {:.2f}x".format(*paired)
    )
    print(
        f"{args.requests} single-row requests and {batches} batches per server;"
        " load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
