"""Draw a run's figures in a worker process while the main process goes on.

A matplotlib figure costs 0.1 to 0.3 s to lay out and save, and a sweep draws about
thirty. :func:`submit` hands a drawing function and its (picklable) data to a worker
process, which returns PNG bytes; :func:`collect` waits for them and logs each as an
artifact of its run. A job collects its figures before it returns, except inside a
sweep run in this process (:func:`set_deferred`, called by the sweep callback), where
they are collected when the sweep ends: one model's figures (and its SHAP values: see
:func:`churn_experiments.explain.explain_and_log`) are drawn while the next model
fits. A figure that fails to draw is logged as a warning and tagged
``figures_error`` on its run; nothing already recorded is lost. A sweep starts the
worker first (:func:`start`), so that it imports matplotlib while the sweep sets up.
The worker lives as long as the process that started it: the next sweep of a
notebook (or a test session) finds it ready instead of paying 2 s of CPU to start
another; a command's exit ends it (:func:`release` lets it go earlier). A launcher's
worker process, a one-core machine and ``CHURN_FIGURES_IN_PROCESS=1`` draw in the job
itself (:func:`_draws_here`).
"""

from __future__ import annotations

import atexit
import io
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WORKERS = 1  # beside the main process: the two cores of the machines we target
IN_PROCESS_ENV = "CHURN_FIGURES_IN_PROCESS"  # "1": no worker (see _draws_here)

_executor: ProcessPoolExecutor | None = None
# what the main process does with a run's files once logged: log metrics, tags
Record = Callable[[Any, str, dict[str, bytes]], None]  # (client, run id, files)
# store, run id, artifact folder, its files to come, their record
_pending: list[tuple[str, str, str, Future, Record | None]] = []
_deferred = False


def submit(
    run_id: str,
    artifact_dir: str,
    draw: Callable[..., dict[str, Any]],
    *args: Any,
    record: Record | None = None,
) -> None:
    """Draw ``draw(*args)`` (a dict of file name -> figure, or bytes) for ``run_id``'s
    ``artifact_dir`` (``""``: the top folder) in the current tracking store; logged by
    :func:`collect`, which then calls ``record(client, run_id, files)`` (metrics and
    tags read from the files). ``draw`` must be a module-level function and ``args``
    picklable.
    """
    import mlflow

    store = mlflow.get_tracking_uri()
    if _draws_here():
        images: Future = Future()  # drawn in the job: see _draws_here
        try:
            images.set_result(_render(draw, args))
        except Exception as err:
            images.set_exception(err)
    else:
        images = _worker().submit(_render, draw, args)
    _pending.append((store, run_id, artifact_dir, images, record))


def start(*modules: str) -> None:
    """Start the worker now and have it import its drawing libraries and
    ``modules`` (``"shap"`` for a sweep's explanations), unless figures are drawn
    in the job itself (:func:`_draws_here`)."""
    if not _draws_here():
        _worker().submit(_warm_up, modules)


def release() -> None:
    """Let the worker end once its queue is empty, without waiting: its exit
    overlaps with what this process still does. A later :func:`submit` starts a
    new one."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=False)
        _executor = None


def collect_unless_deferred() -> None:
    """:func:`collect`, unless a sweep in this process collects at its end."""
    if not _deferred:
        collect()


def add_files(run_id: str, artifact_dir: str, files: dict[str, bytes]) -> None:
    """Log ``files`` (file name -> content) with the figures of ``run_id``, in the
    same :func:`collect`: a run's artifacts are written in one call."""
    import mlflow

    ready: Future = Future()
    ready.set_result(files)
    _pending.append((mlflow.get_tracking_uri(), run_id, artifact_dir, ready, None))


def collect() -> None:
    """Wait for every submitted figure and log it as an artifact of its run.

    All files of a run go in one temporary folder and one ``log_artifacts`` call;
    then the submissions' ``record`` callbacks run.
    """
    import mlflow

    runs: dict[tuple[str, str], list[tuple[str, dict[str, bytes]]]] = {}
    records = []
    while _pending:
        store, run_id, folder, future, record = _pending.pop(0)
        try:
            files = future.result()
        except Exception as err:  # a drawing bug must not lose the run
            log.warning("figures %s/ of run %s failed: %s", folder, run_id, err)
            mlflow.MlflowClient(store).set_tag(
                run_id, "figures_error", f"{folder}: {err}"[:5000]
            )
            continue
        runs.setdefault((store, run_id), []).append((folder, files))
        if record is not None:
            records.append((record, store, run_id, files))
    for (store, run_id), parts in runs.items():
        with tempfile.TemporaryDirectory() as tmp:
            for folder, files in parts:
                Path(tmp, folder).mkdir(parents=True, exist_ok=True)
                for name, data in files.items():
                    Path(tmp, folder, name).write_bytes(data)
            mlflow.MlflowClient(store).log_artifacts(run_id, tmp)
    for record, store, run_id, files in records:
        record(mlflow.MlflowClient(store), run_id, files)


def set_deferred(value: bool) -> None:
    """``True`` lets jobs of an in-process sweep leave their figures to its end."""
    global _deferred
    _deferred = value


def deferred() -> bool:
    """Whether jobs leave their figures (and explanations) to the sweep's end."""
    return _deferred


def _draws_here() -> bool:
    """Whether figures are drawn in this process rather than in the worker.

    - In a worker of joblib's loky pool: a spawned child re-applies its parent's
      start method, and a fresh interpreter does not know loky's, so it cannot start
      a figure process of its own.
    - In a Ray worker: a figure process would take a core Ray did not reserve for
      the job. In both, the launcher already runs jobs side by side.
    - With one core, or when ``CHURN_FIGURES_IN_PROCESS=1``: the worker costs ~2 s
      of CPU to start and pays off only where a core would idle while a job fits;
      set it where every core is busy already (a CI runner, parallel tests).
    """
    if os.environ.get(IN_PROCESS_ENV) == "1" or _cores() < 2:
        return True
    if multiprocessing.get_start_method(allow_none=True) not in (
        None,
        *multiprocessing.get_all_start_methods(),
    ):
        return True
    ray = sys.modules.get("ray")  # a Ray worker imports it before it runs a job
    return bool(
        ray is not None
        and ray.is_initialized()
        and ray.get_runtime_context().worker.mode == ray.WORKER_MODE
    )


def _cores() -> int:
    """The cores this process may run on (a container's share, where it has one)."""
    if hasattr(os, "sched_getaffinity"):  # not on macOS
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _worker() -> ProcessPoolExecutor:
    global _executor
    if _executor is None:
        # spawn: a fresh interpreter, safe whatever threads MLflow has started here
        _executor = ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
    return _executor


def _exit_with_parent(parent: int) -> None:
    """In the worker: end when the process that started it is gone (``kill -9``),
    instead of living on with its parent's stdout and stderr open. Its normal exit
    skips the interpreter's teardown of matplotlib and scikit-learn (about 0.5 s
    the parent would wait for): it holds nothing that needs it.
    """
    atexit.register(_exit_now)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _warm_up(modules: tuple[str, ...] = ()) -> None:
    """In the worker: import what drawing needs before the first figure arrives."""
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import sklearn.metrics  # noqa: F401

    for module in modules:
        importlib.import_module(module)


def _render(draw: Callable[..., dict[str, Any]], args: tuple) -> dict[str, bytes]:
    """In the worker: draw, save each figure as PNG bytes (unless it is bytes
    already), close it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {}
    for name, figure in draw(*args).items():
        if isinstance(figure, bytes):  # a file's content already
            images[name] = figure
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        images[name] = buffer.getvalue()
    return images
