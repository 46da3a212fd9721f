"""A bounded load test of our scoring server: many clients at once, zero errors.

Run: ``python benchmarks/load.py [--requests 2000] [--clients 8] [--rows 1]``.

Trains one gb model into a temporary store, registers it as the champion and serves it
with ``churn_experiments.serve`` (one uvicorn worker). Then ``--clients`` threads, each
with its own HTTP session, send ``--requests`` requests in all, each of ``--rows``
rows drawn from the test split. Prints the errors (non-200 answers or failed
connections; the script exits 1 when there are any), p50/p95/max latency, requests/s,
and the server's peak resident memory (``VmHWM`` of its process) before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from _common import (
    held_out_rows,
    in_fresh_store,
    registered_model,
    train_champion,
)

from churn_experiments.deploy import load_target, payloads
from churn_experiments.deploy.local import free_port, running_server

NAME = registered_model()


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def bodies(rows: object, count: int, size: int) -> Iterator[dict]:
    """``count`` request bodies of ``size`` rows each, cycling through ``rows``."""
    for i in range(count):
        start = (i * size) % (len(rows) - size + 1)
        yield payloads.dataframe_split(rows.iloc[start : start + size])


def client(url: str, work: list[dict]) -> tuple[list[float], list[str]]:
    """Send ``work`` one after another; return the latencies and the errors."""
    times, errors = [], []
    with requests.Session() as session:
        for body in work:
            started = time.perf_counter()
            try:
                answer = session.post(url, json=body, timeout=30)
            except requests.RequestException as err:
                errors.append(type(err).__name__)
                continue
            times.append(time.perf_counter() - started)
            if answer.status_code != 200:
                errors.append(f"{answer.status_code}: {answer.text[:200]}")
    return times, errors


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="in all")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    args = parser.parse_args()

    folder = in_fresh_store("churn-bench-load-")
    print(f"training gb into {folder} ...", flush=True)
    run_id, champion = train_champion(folder, NAME)
    rows = held_out_rows(run_id)
    work = list(bodies(rows, args.requests, args.rows))
    shares = [work[i :: args.clients] for i in range(args.clients)]
    cfg = load_target("local", [f"model_uri={champion}", f"port={free_port()}"])
    with running_server(cfg) as server:
        pid = server.process.pid  # uvicorn itself: one worker, one process
        ready_mb = peak_memory_mb(pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(
                pool.map(lambda share: client(server.invocations_url, share), shares)
            )
        wall = time.perf_counter() - started
        loaded_mb = peak_memory_mb(pid)
    times = [t for share, _ in results for t in share]
    errors = [e for _, share in results for e in share]
    cuts = statistics.quantiles(times, n=20)
    print(
        f"\n{args.requests} requests of {args.rows} row(s), {args.clients} clients,"
        f" one uvicorn worker: {len(errors)} errors"
    )
    print(
        f"latency p50 {1000 * statistics.median(times):.1f} ms, p95"
        f" {1000 * cuts[18]:.1f} ms, max {1000 * max(times):.1f} ms;"
        f" {len(times) / wall:.0f} requests/s over {wall:.1f} s"
    )
    print(
        f"server peak memory: {ready_mb:.0f} MB when ready, {loaded_mb:.0f} MB after"
        " the load"
    )
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
