"""Library code is a function of its arguments: Hydra's state is read at the entry."""

from __future__ import annotations

import ast
from pathlib import Path

import mlflow
import pytest
from hydra.core.hydra_config import HydraConfig
from support import CHEAP, CONF_DIR, PROJECT, compose_job

from churn_experiments.checks import check_config
from churn_experiments.errors import ConfigError
from churn_experiments.sources import Sources
from churn_experiments.train import train


def test_only_hydra_apps_read_hydra_state():
    """HydraConfig is read where Hydra calls in: a ``@hydra.main`` app's module."""
    readers = []
    for path in sorted((PROJECT / "churn_experiments").rglob("*.py")):
        text = path.read_text()
        names = {
            node.attr if isinstance(node, ast.Attribute) else node.id
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Attribute | ast.Name)
        }
        if "HydraConfig" in names and "@hydra.main" not in text:
            readers.append(str(path.relative_to(PROJECT)))
    assert readers == []


def test_train_runs_without_hydra_state_and_names_the_choice(mlflow_store):
    cfg, sources = compose_job(["model=lr", *CHEAP])
    assert not HydraConfig.initialized()
    named = train(cfg, sources)
    unnamed = train(cfg)  # no sources: the run is named after the class
    client = mlflow.MlflowClient()
    assert client.get_run(named["run_id"]).info.run_name == "lr"
    assert client.get_run(named["run_id"]).data.tags["model_family"] == "lr"
    assert client.get_run(unnamed["run_id"]).info.run_name == "LogisticRegression"
    assert named["test_f1"] == pytest.approx(unnamed["test_f1"])


def test_errors_name_the_file_the_sources_tell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # conf/ is outside: its files are named in full
    cfg, sources = compose_job(["model=rf", "+model.n_estimatorz=3"])
    with pytest.raises(ConfigError) as named:
        check_config(cfg, data=False, sources=sources)
    assert str(named.value).startswith(
        f"{CONF_DIR / 'model' / 'rf.yaml'} with +model.n_estimatorz=3: unknown key(s)"
    )
    with pytest.raises(ConfigError, match=r"^config group 'model': unknown key"):
        check_config(cfg, data=False)
    assert Sources().file("model") == "config group 'model'"
    assert sources.file("dataset") == str(Path(CONF_DIR, "dataset/travel_churn.yaml"))
