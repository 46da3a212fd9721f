"""Get the tracking store ready before anything writes to it.

A new SQLite store is never migrated in place: MLflow's migrations (~3.5 s) run once
per MLflow version into a template kept in the user's cache folder (built under a
file lock), and each new store is a copy of it, written next to the target and
hard-linked into place. Linking fails when the file already exists, so any number of
commands started together in a new folder end with one complete store, and a reader
never sees a half-written one. A store left half-created by something else (an
interrupted ``mlflow`` command, an older version of this code) is recognised and the
error says how to recover.

A tracking server or database is checked once, with a short timeout, so a store that
is down costs seconds and one line instead of minutes of retries.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

from churn_experiments.errors import TrackingStoreError

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "CHURN_CACHE_DIR"
CHECK_TIMEOUT = 5.0  # seconds the reachability check waits for an answer
LOCK_TIMEOUT = 120.0  # seconds to wait for another process building the template
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
_TEMPLATE_NAME = "mlflow-{version}-empty.db"
HINT = "check that it runs and that MLFLOW_TRACKING_URI (or tracking.uri) is right"


@functools.cache
def prepare(uri: str, create: bool = True, timeout: float = CHECK_TIMEOUT) -> None:
    """Make ``uri`` ready: create a missing SQLite store, or check a remote one answers.

    Once per process and URI. ``create=False`` is for commands that only read: a
    missing SQLite file is then an error. Raises :class:`TrackingStoreError` with one
    line saying what is wrong and what to do. URIs of other kinds (``databricks``,
    ``file:``) are left to MLflow.
    """
    path = sqlite_path(uri)
    if path is None:
        check_reachable(uri, timeout)
    elif path.exists() or create:
        ensure_sqlite_store(path, uri)
    else:
        raise TrackingStoreError(
            f"there is no tracking store {path}: run a sweep there first, or set "
            "MLFLOW_TRACKING_URI to the store that holds the runs"
        )


def check_for_model(model_uri: str) -> None:
    """Check the store a ``runs:/`` or ``models:/`` URI is read from (for ``serve``);
    other model URIs need none."""
    if model_uri.split(":", 1)[0] in ("runs", "models"):
        prepare(active_uri(), create=False)


def get_run(run_id: str, uri: str | None = None) -> Any:
    """Run ``run_id`` of the store ``uri`` (default: the active one), read only.

    A missing SQLite store is not created. Raises :class:`TrackingStoreError` with
    one line when the store is missing or does not hold the run.
    """
    uri = uri or active_uri()
    prepare(uri, create=False)
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.MlflowClient(uri).get_run(run_id)
    except MlflowException as err:
        if err.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        raise TrackingStoreError(
            f"run {run_id!r} is not in the tracking store {uri}; set "
            "MLFLOW_TRACKING_URI (or pass tracking_uri) to the store that holds it"
        ) from None


def active_uri() -> str:
    """The tracking URI MLflow uses; read from the environment when MLflow is not
    imported yet (importing it takes seconds, longer than a dead server should)."""
    if "mlflow" not in sys.modules and os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    import mlflow

    return mlflow.get_tracking_uri()


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (absolute), or None for other URIs."""
    if not uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser().resolve()


def ensure_sqlite_store(path: Path, uri: str) -> None:
    """Create the store at ``path`` from the template if missing, else check it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        if install_copy(template(), path, _default_artifact_location()):
            log.info("created the tracking store %s", path)
        return
    check_sqlite_store(path, uri)


def template() -> Path:
    """The empty, migrated store of this MLflow version, built on first use."""
    from filelock import FileLock

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _TEMPLATE_NAME.format(version=version("mlflow"))
    if path.exists():
        return path
    with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT):
        if not path.exists():
            _build_template(path)
    return path


def cache_dir() -> Path:
    """``CHURN_CACHE_DIR``, else the user's cache folder for this project."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("churn-experiments"))


def _build_template(path: Path) -> None:
    import mlflow

    log.info("building an empty tracking store for MLflow %s (once)", version("mlflow"))
    handle, scratch = tempfile.mkstemp(dir=path.parent, suffix=".db")
    os.close(handle)
    os.unlink(scratch)  # MLflow migrates only a database without tables
    try:
        mlflow.MlflowClient(f"sqlite:///{scratch}").search_experiments()
        os.replace(scratch, path)
    finally:
        Path(scratch).unlink(missing_ok=True)


def install_copy(source: Path, target: Path, default_artifacts: str) -> bool:
    """Copy ``source`` to ``target`` unless it exists; True when this call made it.

    The copy is written beside ``target`` and hard-linked to its name, which fails if
    the name exists: of several processes racing, exactly one installs its copy. The
    default experiment's artifact folder is set as MLflow would set it here.
    """
    scratch = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}"
    try:
        shutil.copyfile(source, scratch)
        with contextlib.closing(sqlite3.connect(scratch)) as db, db:
            db.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                (default_artifacts,),
            )
        os.link(scratch, target)
        return True
    except FileExistsError:
        return False
    finally:
        scratch.unlink(missing_ok=True)


def _default_artifact_location() -> str:
    """Where MLflow puts the default experiment's artifacts for a store made here."""
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.utils.uri import append_to_uri_path, resolve_uri_if_local

    return append_to_uri_path(
        resolve_uri_if_local(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH), "0"
    )


def check_sqlite_store(path: Path, uri: str) -> None:
    """Raise :class:`TrackingStoreError` when ``path`` is not a complete store.

    Complete means MLflow's tables, a schema version, no leftover temporary table of
    an interrupted migration, and the schema version this MLflow expects.
    """
    try:
        # Read-write, as MLflow opens it: a hot journal left by a killed writer is
        # rolled back first, which a read-only connection cannot do.
        with _connect(path, "rw") as db:
            tables = {row[0] for row in db.execute(_TABLES)}
            revision = _first(db, _REVISION) if "alembic_version" in tables else None
            runs = _first(db, _RUNS) if "runs" in tables else 0
    except sqlite3.DatabaseError as err:
        raise TrackingStoreError(
            f"{path} is not a readable SQLite database ({err}): "
            f"point {uri!r} at another file, or move this one aside"
        ) from None
    leftovers = sorted(t for t in tables if t.startswith("_alembic_tmp"))
    expected = _schema_head()
    if "experiments" in tables and revision and not leftovers:
        if revision == expected:
            return
        problem = (
            f"has schema version {revision}, MLflow {version('mlflow')} expects "
            f"{expected}"
        )
    else:
        problem = "was left half-created by an interrupted command" + (
            f" (leftover table {leftovers[0]})" if leftovers else ""
        )
    if runs:
        remedy = (
            f"it holds {runs} run(s): back it up, then run `mlflow db upgrade {uri}`"
        )
    else:
        remedy = f"it holds no runs: delete it (rm {path}) and run the command again"
    raise TrackingStoreError(f"the tracking store {path} {problem}; {remedy}")


_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_REVISION = "SELECT version_num FROM alembic_version"
_RUNS = "SELECT count(*) FROM runs"


def _connect(path: Path, mode: str) -> contextlib.closing[sqlite3.Connection]:
    """A connection to an existing file (``mode`` ``ro`` or ``rw``; never creates)."""
    return contextlib.closing(
        sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=30)
    )


def _first(db: sqlite3.Connection, query: str) -> Any:
    row = db.execute(query).fetchone()
    return row[0] if row else None


def _schema_head() -> str:
    """The schema version this MLflow migrates to: the template's, else MLflow's."""
    path = cache_dir() / _TEMPLATE_NAME.format(version=version("mlflow"))
    if path.exists():
        with _connect(path, "ro") as db:
            return _first(db, _REVISION)
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()


def check_reachable(uri: str, timeout: float = CHECK_TIMEOUT) -> None:
    """One request (HTTP) or connection (database) to ``uri``, without retries.

    Any HTTP answer counts, even an error status: the server is there. Raises
    :class:`TrackingStoreError` naming the URI, the reason and what to check.
    """
    from urllib.parse import urlparse

    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        _check_http(uri, timeout)
        return
    dialect = scheme.split("+")[0]
    if dialect in DEFAULT_PORTS:
        from sqlalchemy.engine import make_url

        url = make_url(uri)
        if url.host:
            _check_port(uri, url.host, url.port or DEFAULT_PORTS[dialect], timeout)


def _check_http(uri: str, timeout: float) -> None:
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError) as err:
        raise _unreachable(uri, getattr(err, "reason", err), timeout) from None


def _check_port(uri: str, host: str, port: int, timeout: float) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise _unreachable(uri, err, timeout) from None


def _unreachable(uri: str, reason: object, timeout: float) -> TrackingStoreError:
    if isinstance(reason, TimeoutError | socket.timeout):
        said = f"no answer within {timeout:g} s"
    elif isinstance(reason, ConnectionRefusedError):
        said = "connection refused"
    elif isinstance(reason, socket.gaierror):
        said = "unknown host"
    else:
        said = str(getattr(reason, "strerror", None) or reason)
    return TrackingStoreError(f"cannot reach the tracking store {uri} ({said}); {HINT}")
