"""A bad search stops before its first trial, with one line; CV scores and pruning."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from support import CONF_DIR, run_in_process

from churn_experiments.cross_validation import cv_scores
from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.errors import ConfigError
from churn_experiments.metric_names import SCORES, cv_name
from churn_experiments.pipeline import build_pipeline
from churn_experiments.search import Trial, preflight


def _preflight(*overrides: str, params: dict[str, str] | None = None) -> None:
    """Check a search's multirun config as the sweep callback does.

    ``params`` go into ``hydra.sweeper.params`` as a search file would put them.
    """
    from omegaconf import open_dict

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.sweeper.params.update(params or {})
        preflight(cfg)


def test_shipped_searches_pass(mlflow_store: str) -> None:
    for name in ("rf", "gb", "lr"):
        _preflight(f"search={name}")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"model.max_depth": "int(interval(5, 1))"},
            "search space: model.max_depth=int(interval(5, 1)): the low end 5 is "
            "above the high end 1",
        ),
        (
            {"model.n_estimator": "int(interval(5, 10))"},
            "search space: Could not override 'model.n_estimator'. "
            "Key 'n_estimator' is not in struct; keys under model: class_weight, "
            "max_depth, max_features, min_samples_leaf, n_estimators, random_state",
        ),
        (
            {"model.min_samples_leaf": "int(interval(0, 5))"},
            "search space: model.min_samples_leaf=0 is rejected: The 'min_samples_leaf'"
            " parameter of RandomForestClassifier must be",
        ),
    ],
)
def test_bad_space_is_one_config_error(
    mlflow_store: str, params: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _preflight("search=rf", params=params)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "hydra.sweeper.direction=minimize",
            "hydra.sweeper.direction: minimize disagrees with leaderboard.ascending",
        ),
        (
            "evaluation.cv.folds=null",
            "leaderboard.sort_by: cv_test_f1_mean needs cross-validation",
        ),
    ],
)
def test_bad_objective_is_one_config_error(
    mlflow_store: str, override: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _preflight("search=rf", override)


def test_a_tracking_server_resolves_without_a_study_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server URI with tracking=local composes: only a search needs the study file."""
    from omegaconf import OmegaConf

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config")
    assert OmegaConf.to_container(cfg.tracking, resolve=True)["study_storage"] is None
    with pytest.raises(ConfigError, match="no SQLite file to keep optuna.db beside"):
        _preflight("search=rf")


def test_bad_space_stops_before_the_store_is_touched(tmp_path: Path) -> None:
    from churn_experiments import __main__ as churn

    result = run_in_process(
        churn.run,
        "-m",
        "search=rf",
        "model.max_depth=int(interval(5, 1))",  # a sweep of the command line
        cwd=tmp_path,
        env={k: None for k in os.environ if k.startswith("MLFLOW_")},
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        "error: while starting the sweep: search space: "
        "model.max_depth=int(interval(5, 1)): the low end 5 is above the high end 1"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "optuna.db").exists()


@pytest.fixture(scope="module")
def travel() -> tuple:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["model=lr"])
    from omegaconf import OmegaConf

    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    split = split_dataset(load_dataset(dataset), dataset)
    return cfg, split, dataset


def test_cv_scores_every_metric_on_the_training_split(travel: tuple) -> None:
    cfg, split, dataset = travel
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    scores = cv_scores(pipeline, split, folds=3, seed=124)
    assert set(scores) == {cv_name(s, stat) for s in SCORES for stat in ("mean", "std")}
    assert 0.3 < scores["cv_test_f1_mean"] < 0.9
    assert 0 < scores["cv_test_f1_std"] < 0.2
    again = cv_scores(pipeline, split, folds=3, seed=124)
    assert again == scores  # seeded folds
    assert not hasattr(pipeline, "classes_")  # clones were fitted, not the pipeline


def test_pruner_stops_a_clearly_worse_trial_after_its_first_fold(
    travel: tuple, tmp_path: Path
) -> None:
    from omegaconf import OmegaConf

    cfg, split, dataset = travel
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    pruner = {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 1}
    good = study.ask()
    reporter = Trial("s", storage, good.number, pruner).fold_reporter("cv_test_f1_mean")
    pipeline = build_pipeline(cfg.features, cfg.model, dataset)
    good_scores = cv_scores(pipeline, split, 3, 124, on_fold=reporter)
    study.tell(good, good_scores["cv_test_f1_mean"])

    bad = study.ask()  # a model so regularised it predicts no churner
    model = OmegaConf.merge(cfg.model, {"C": 1e-6})
    reporter = Trial("s", storage, bad.number, pruner).fold_reporter("cv_test_f1_mean")
    with pytest.raises(optuna.TrialPruned, match=r"after 1 fold\(s\)"):
        cv_scores(
            build_pipeline(cfg.features, model, dataset),
            split,
            3,
            124,
            on_fold=reporter,
        )
    assert Trial("s", storage, 0).fold_reporter("cv_test_f1_mean") is None  # no pruner
