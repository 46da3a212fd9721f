"""The local target: MLflow's scoring app behind our own layer, on this machine.

``churn-serve`` (:mod:`churn_experiments.serve`) serves ``conf/deploy/local.yaml``'s
model with :func:`start_server` (:mod:`.scoring_app` on uvicorn) until Ctrl-C. From
Python::

    with running_server(load_target("local")) as server:
        requests.post(server.invocations_url, json=body)

uvicorn runs as ``python -m uvicorn`` with this interpreter, so an unactivated
virtualenv works (``mlflow models serve`` execs ``uvicorn`` from ``PATH``).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from churn_experiments.errors import ChurnExperimentsError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1  # between two /ping attempts
PROGRESS_SECONDS = 3.0  # between two "still waiting" log lines
STOP_SECONDS = 10.0  # grace period after SIGTERM, then SIGKILL
TAIL_LINES = 20  # lines of the server's log shown when it fails
APP = "churn_experiments.deploy.scoring_app:create_app"  # the ASGI app uvicorn runs


class ServeError(ChurnExperimentsError, RuntimeError):
    """The server did not start or stopped answering; ends with its log's last lines."""


class Server:
    """A running server's process group; a context manager that stops it.

    The server's stdout and stderr go to :attr:`log_file` (deleted by :meth:`stop`).
    """

    def __init__(
        self, process: subprocess.Popen[bytes], host: str, port: int, log_file: Path
    ) -> None:
        self.process = process
        self.url = f"http://{host}:{port}"
        self.invocations_url = f"{self.url}/invocations"
        self.log_file = log_file
        self.started = time.monotonic()

    def wait_until_ready(self, timeout: float) -> float:
        """Poll ``/ping`` until it answers 200; return the seconds since the start.

        Logs progress every few seconds; raises :class:`ServeError` with the end of the
        server's log when the process exits or ``timeout`` seconds pass.
        """
        deadline = self.started + timeout
        next_progress = time.monotonic() + PROGRESS_SECONDS
        while True:
            if self.ping():
                return time.monotonic() - self.started
            code = self.process.poll()
            if code is not None:
                raise ServeError(
                    f"the server exited with code {code} before {self.url}/ping"
                    f" answered; its log ends with:\n{self.tail()}"
                )
            now = time.monotonic()
            if now >= deadline:
                raise ServeError(
                    f"{self.url}/ping did not answer within {timeout:g} s (raise"
                    f" target.startup_timeout); its log ends with:\n"
                    f"{self.tail()}"
                )
            if now >= next_progress:
                log.info(
                    "waiting for %s/ping: %.0f s of %g s",
                    self.url,
                    now - self.started,
                    timeout,
                )
                next_progress = now + PROGRESS_SECONDS
            time.sleep(POLL_SECONDS)

    def ping(self) -> bool:
        """Whether ``/ping`` answers 200 right now."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                return response.status == 200
        except (OSError, http.client.HTTPException):  # URLError is an OSError
            return False

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's log."""
        with open(self.log_file, errors="replace") as text:
            return "".join(deque(text, maxlen=lines)).rstrip()

    def follow(self, out: TextIO) -> int:
        """Copy log lines to ``out`` until the server exits; return its exit code."""
        with open(self.log_file, errors="replace") as text:
            text.seek(0, os.SEEK_END)
            while self.process.poll() is None:
                out.write(text.read())
                out.flush()
                time.sleep(0.5)
            out.write(text.read())
        return self.process.returncode

    def stop(self) -> None:
        """SIGTERM the process group (SIGKILL after a grace period); delete the log."""
        group = self.process.pid  # started in its own session: pid == process group id
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
            if _group_gone(self.process, STOP_SECONDS):
                break
        shutil.rmtree(self.log_file.parent, ignore_errors=True)
        log.info("stopped the server at %s", self.url)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve_command(cfg: Mapping[str, Any]) -> list[str]:
    """uvicorn serving :func:`.scoring_app.create_app` with this Python."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", APP,
        "--host", str(cfg["host"]),
        "--port", str(cfg["port"]),
        "--workers", str(cfg["workers"]),
        "--no-access-log",
    ]  # fmt: skip


def start_server(cfg: Mapping[str, Any]) -> Server:
    """Start serving ``cfg["model_uri"]``; return at once (see wait_until_ready)."""
    from churn_experiments.deploy.scoring_app import MODEL_URI_ENV

    host, port = str(cfg["host"]), int(cfg["port"])
    _check_port_free(host, port)
    if importlib.util.find_spec("uvicorn") is None:
        raise ServeError(
            f"uvicorn is not installed next to {sys.executable}: pip install uvicorn"
        )
    log_file = Path(tempfile.mkdtemp(prefix="churn-serve-")) / "server.log"
    command = serve_command(cfg)
    log.info("starting %s", shlex.join(command))
    with open(log_file, "wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, MODEL_URI_ENV: str(cfg["model_uri"])},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: mlflow's CLI and uvicorn
        )
    return Server(process, host, port, log_file)


@contextlib.contextmanager
def running_server(cfg: Mapping[str, Any]) -> Iterator[Server]:
    """Start the server, wait for ``/ping`` (``startup_timeout``), stop it on exit."""
    with start_server(cfg) as server:
        seconds = server.wait_until_ready(float(cfg["startup_timeout"]))
        log.info("%s answers /ping after %.1f s", server.url, seconds)
        yield server


def example_payload(model_uri: str, model: Any) -> dict[str, Any] | None:
    """A one-row ``dataframe_split`` body from the model's input example.

    ``model`` is the model's ``mlflow.models.Model``; ``None`` for a model logged
    without a table as input example.
    """
    import mlflow
    import pandas as pd

    from churn_experiments.deploy.payloads import dataframe_split

    info = model.saved_input_example_info or {}
    if info.get("type") != "dataframe":
        return None
    path = mlflow.artifacts.download_artifacts(f"{model_uri}/{info['artifact_path']}")
    rows = pd.read_json(path, orient=info.get("pandas_orient", "split"), dtype=False)
    return dataframe_split(rows.head(1))


def curl_command(url: str, body: Mapping[str, Any]) -> str:
    """A shell line that POSTs ``body`` as JSON to ``url``."""
    return shlex.join(
        ["curl", "-s", url, "-H", "Content-Type: application/json", "-d",
         json.dumps(body)]
    )  # fmt: skip


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as err:
            raise ServeError(
                f"cannot serve on {host}:{port}: {err.strerror}; stop what uses it"
                " or choose another port (target.port=...)"
            ) from None


def _group_gone(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until the process and the rest of its group have exited."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
