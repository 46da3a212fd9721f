"""A team tracking server for the tests: a new PostgreSQL database, `mlflow server`.

PostgreSQL is expected on 127.0.0.1:5432 with trust authentication and a database
named ``test`` (override with ``CHURN_TEST_POSTGRES``); where it does not answer, every
test here is skipped with a message that says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN_DSN = os.environ.get(
    "CHURN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
SERVER_START_SECONDS = 120


@dataclass(frozen=True)
class TrackingServer:
    """A running ``mlflow server`` and where it keeps things."""

    uri: str  # http://127.0.0.1:<port>
    backend_store_uri: str  # postgresql://.../churn_test_<hex>
    artifacts: Path  # --artifacts-destination
    log: Path  # the server's stdout and stderr


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A new, empty database ``churn_test_<hex>``, dropped after the session."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(ADMIN_DSN, connect_timeout=3)
    except psycopg2.OperationalError as err:
        first_line = str(err).strip().splitlines()[0]
        pytest.skip(
            f"PostgreSQL is not running or not reachable at {ADMIN_DSN} "
            f"({first_line}); the tracking-server tests need it"
        )
    admin.autocommit = True
    name = f"churn_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3: name the driver
        server = ADMIN_DSN.rsplit("/", 1)[0].replace(
            "postgresql:", "postgresql+psycopg2:"
        )
        yield f"{server}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def tracking_server(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingServer]:
    """``mlflow server`` on a free port: PostgreSQL backend, artifacts served by it."""
    folder = tmp_path_factory.mktemp("tracking_server")
    port = free_port()
    server = TrackingServer(
        uri=f"http://127.0.0.1:{port}",
        backend_store_uri=postgres_database,
        artifacts=folder / "artifacts",
        log=folder / "server.log",
    )
    command = [
        *("mlflow", "server"),
        *("--backend-store-uri", server.backend_store_uri),
        "--serve-artifacts",
        *("--artifacts-destination", str(server.artifacts)),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "2"),
    ]
    # The server execs uvicorn from PATH: put this interpreter's bin folder first.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    # MLflow's GenAI job runner (8 processes, ~16 s of CPU to start) is not used here
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env.pop("MLFLOW_TRACKING_URI", None)
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share our pid's process group
        )
    try:
        wait_until_healthy(server, process)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop the server and its workers: its process group, which we created."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(server: TrackingServer, process: subprocess.Popen) -> None:
    """Poll ``/health`` until it answers OK; fail with the server's log otherwise."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"mlflow server exited with {process.returncode}:\n"
                + server.log.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(f"{server.uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"mlflow server did not answer /health within {SERVER_START_SECONDS} s:\n"
        + server.log.read_text(errors="replace")[-3000:]
    )
