"""Tests of the Optuna sweeper plugin (``hydra/sweeper=churn_optuna``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra_plugins.churn_optuna_sweeper import space as grammar
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = Path(__file__).resolve().parent / "optuna_app"


def test_optuna_sweeper_is_discovered() -> None:
    names = [
        f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)
    ]
    assert "hydra_plugins.churn_optuna_sweeper.optuna_sweeper.OptunaSweeper" in names


def test_optuna_sweeper_config_is_installed() -> None:
    with initialize_config_dir(version_base="1.3", config_dir=str(APP_DIR)):
        options = (
            GlobalHydra.instance().config_loader().get_group_options("hydra/sweeper")
        )
        cfg = compose(config_name="config", return_hydra_config=True)
    assert "churn_optuna" in options
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("optuna_sweeper.OptunaSweeper")
    assert sweeper.storage is None  # in memory unless a URL is given
    assert sweeper.trial is None  # set by the sweeper in each job's config
    assert sweeper.params == {"x": "interval(-5, 5)"}


def test_grammar_maps_to_optuna_distributions() -> None:
    space = grammar.parse_space(
        {
            "a": "interval(0.1, 0.9)",
            "b": "int(interval(1, 10))",
            "c": "tag(log, interval(0.001, 10))",
            "d": "range(2, 11, 3)",
            "e": "choice(balanced, {0: 1, 1: 1}, 1.5)",
            "f": "range(0.0, 1.0, 0.25)",
        },
        ["model=rf", "+extra=3"],
    )
    assert space.distributions == {
        "a": FloatDistribution(0.1, 0.9),
        "b": IntDistribution(1, 10),
        "c": FloatDistribution(0.001, 10.0, log=True),
        "d": IntDistribution(2, 8, step=3),  # range() excludes its stop, as Python's
        "e": CategoricalDistribution(["balanced", "{0:1,1:1}", "1.5"]),
        "f": FloatDistribution(0.0, 0.75, step=0.25),
    }
    assert space.fixed == ("model=rf", "+extra=3")
    assert space.overrides({"a": 0.5, "b": 3, "e": "{0:1,1:1}"}) == [
        "model=rf",
        "+extra=3",
        "a=0.5",
        "b=3",
        "e={0:1,1:1}",
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"model.max_depth": "int(interval(5, 1))"},
            "search space: model.max_depth=int(interval(5, 1)): the low end 5 is "
            "above the high end 1",
        ),
        (
            {"model.C": "tag(log, interval(0, 1))"},
            "search space: model.C=tag(log, interval(0, 1)): a log scale needs a "
            "low end above 0",
        ),
        (
            {"model.C": "interval(1,"},
            "search space: model.C=interval(1,: no viable alternative at input",
        ),
        ({"model": "glob(*)"}, "search space: model=glob(*): glob() is not supported"),
        ({"model.C": "range(5, 1)"}, "the range holds no value"),
    ],
)
def test_bad_spaces_are_one_line_errors(params: dict, message: str) -> None:
    # by attribute: Hydra's plugin discovery re-executes the module, new classes
    with pytest.raises(grammar.SearchSpaceError) as err:
        grammar.parse_space(params, [])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def _run_app(cwd: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins")])}
    return subprocess.run(
        [
            sys.executable,
            str(APP_DIR / "app.py"),
            "-m",
            "hydra.sweep.dir=multirun",
            f"hydra.sweeper.storage=sqlite:///{cwd / 'study.db'}",
            "hydra.sweeper.study_name=s",
            f"out_dir={cwd / 'out'}",
            *overrides,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_search_asks_tells_and_resumes(tmp_path: Path) -> None:
    import optuna

    first = _run_app(tmp_path)
    assert first.returncode == 0, first.stderr
    second = _run_app(tmp_path, "hydra.sweeper.n_trials=2")
    assert second.returncode == 0, second.stderr
    assert "Study s (sqlite:" in second.stdout and "6 trial(s) so far" in second.stdout

    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/study.db")
    assert [t.number for t in study.trials] == list(range(8))
    reports = [
        json.loads(p.read_text()) for p in sorted((tmp_path / "out").glob("*.json"))
    ]
    for report in reports:  # each job learnt its own trial's number and value
        trial = study.trials[report["trial"]]
        assert trial.params["x"] == pytest.approx(report["x"])
        assert trial.value == pytest.approx((report["x"] - 2) ** 2)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert all(t.params["x"] > 4.5 for t in failed)  # told as failures, sweep went on
    assert len(reports) + len(failed) == 8
    assert len({t.params["x"] for t in study.trials}) == 8  # the resumed seed moved on
