"""Creating, checking and reaching the tracking store (churn_experiments.store)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest

from churn_experiments import store
from churn_experiments.errors import TrackingStoreError


@pytest.fixture(autouse=True)
def _fresh_checks() -> None:
    """``prepare`` remembers the URIs it checked; each test starts without them."""
    store.prepare.cache_clear()


def closed_port() -> int:
    """A loopback port nothing listens on (just released by this process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_new_store_is_a_migrated_copy_placed_where_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = "sqlite:///runs/mlflow.db"
    store.prepare(uri)
    assert (tmp_path / "runs" / "mlflow.db").is_file()
    default = mlflow.MlflowClient(uri).get_experiment("0")
    # as MLflow itself would have set it for a store created here
    assert default.artifact_location == str(tmp_path / "mlruns" / "0")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["mlflow.db"]


def test_of_racing_installs_exactly_one_places_its_copy(tmp_path: Path) -> None:
    target = tmp_path / "mlflow.db"
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def install() -> None:
        barrier.wait()
        results.append(store.install_copy(store.template(), target, "/x/0"))

    threads = [threading.Thread(target=install) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert [p.name for p in tmp_path.iterdir()] == ["mlflow.db"]
    mlflow.MlflowClient(f"sqlite:///{target}").search_experiments()


def test_commands_that_only_read_do_not_create_a_store(tmp_path: Path) -> None:
    with pytest.raises(TrackingStoreError) as raised:
        store.prepare(f"sqlite:///{tmp_path}/mlflow.db", create=False)
    assert str(raised.value).startswith(f"there is no tracking store {tmp_path}")
    assert not (tmp_path / "mlflow.db").exists()


def _copy_of_template(folder: Path) -> Path:
    path = folder / "mlflow.db"
    path.write_bytes(store.template().read_bytes())
    return path


HALF_CREATED = "was left half-created by an interrupted command"


@pytest.mark.parametrize(
    "damage, problem",
    [
        ("CREATE TABLE _alembic_tmp_tags (x)",
         f"{HALF_CREATED} (leftover table _alembic_tmp_tags)"),
        ("DELETE FROM alembic_version", HALF_CREATED),
        ("UPDATE alembic_version SET version_num = 'abc123'",
         "has schema version abc123, MLflow 3.17.2 expects"),
    ],
)  # fmt: skip
def test_an_incomplete_store_is_refused_with_the_way_out(
    tmp_path: Path, damage: str, problem: str
) -> None:
    path = _copy_of_template(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(damage)
    db.close()
    with pytest.raises(TrackingStoreError) as raised:
        store.prepare(f"sqlite:///{path}")
    message = str(raised.value)
    assert message.startswith(f"the tracking store {path} {problem}")
    assert message.endswith(
        f"it holds no runs: delete it (rm {path}) and run the command again"
    )


def test_an_outdated_store_with_runs_is_upgraded_not_deleted(tmp_path: Path) -> None:
    path = _copy_of_template(tmp_path)
    client = mlflow.MlflowClient(f"sqlite:///{path}")
    client.create_run("0")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = 'abc123'")
    db.close()
    with pytest.raises(TrackingStoreError) as raised:
        store.prepare(f"sqlite:///{path}")
    assert str(raised.value).endswith(
        f"it holds 1 run(s): back it up, then run `mlflow db upgrade sqlite:///{path}`"
    )


def test_an_empty_file_is_not_taken_for_a_store(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").touch()
    with pytest.raises(TrackingStoreError, match="left half-created"):
        store.prepare(f"sqlite:///{tmp_path}/mlflow.db")


@pytest.mark.slow
def test_a_store_whose_creation_was_killed_is_recognised(tmp_path: Path) -> None:
    """MLflow's own migrations (what ran before this module) killed half-way."""
    path = tmp_path / "mlflow.db"
    creating = subprocess.Popen(
        [sys.executable, "-c", "import mlflow, sys; "
         "mlflow.MlflowClient(sys.argv[1]).search_experiments()", f"sqlite:///{path}"],
    )  # fmt: skip
    while not (path.exists() and path.stat().st_size):  # migrating takes seconds
        time.sleep(0.01)
    creating.kill()
    creating.wait()
    with pytest.raises(TrackingStoreError) as raised:
        store.prepare(f"sqlite:///{path}")
    message = str(raised.value)
    assert message.startswith(f"the tracking store {path} ")
    assert message.endswith(f"delete it (rm {path}) and run the command again")


def test_a_closed_port_fails_at_once_naming_the_uri() -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingStoreError) as raised:
        store.prepare(uri)
    assert time.monotonic() - started < store.CHECK_TIMEOUT
    assert str(raised.value) == (
        f"cannot reach the tracking store {uri} (connection refused); " + store.HINT
    )


def test_a_server_that_never_answers_fails_after_the_timeout() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()  # accepts connections, never answers a request
        uri = f"http://127.0.0.1:{listening.getsockname()[1]}"
        with pytest.raises(TrackingStoreError) as raised:
            store.check_reachable(uri, timeout=0.5)
    assert str(raised.value).startswith(
        f"cannot reach the tracking store {uri} (no answer within 0.5 s); check"
    )


def test_a_database_uri_is_checked_by_connecting() -> None:
    uri = f"postgresql://user:secret@127.0.0.1:{closed_port()}/mlflow"
    with pytest.raises(TrackingStoreError, match=r"\(connection refused\)"):
        store.prepare(uri)


def test_any_http_answer_means_the_server_is_there() -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store.prepare(f"http://127.0.0.1:{server.server_port}/mlflow")
    finally:
        server.shutdown()
        server.server_close()
