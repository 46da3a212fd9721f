"""Fixtures for the policy tests: a private copy of the tutorial sweep's store."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest


@pytest.fixture
def store(
    tutorial_sweep: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The tutorial sweep's runs in a store of this test's own (registry empty).

    The artifact root is absolute, so the copy still finds the logged models.
    """
    source = Path(tutorial_sweep.tracking_uri.removeprefix("sqlite:///"))
    shutil.copy(source, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    saved = mlflow.get_tracking_uri()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield dataclasses.replace(tutorial_sweep, tracking_uri=uri)
    mlflow.set_tracking_uri(saved)


@pytest.fixture
def client(store: Any) -> mlflow.MlflowClient:
    """A client of the test's own store."""
    return mlflow.MlflowClient(store.tracking_uri)
