"""Every command speaks one dialect: ``--help``, ``--cfg job``, ``--config-dir``,
``key=value`` overrides from any folder, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import compose_config

from churn_experiments import __main__ as churn
from churn_experiments import predict, promote, serve
from churn_experiments.dataset import __main__ as dataset
from churn_experiments.deploy import __main__ as deploy
from churn_experiments.explain import __main__ as explain
from churn_experiments.explain.__main__ import chosen_settings
from churn_experiments.score import __main__ as score

COMMANDS: dict[str, Callable[[], None]] = {
    "churn": churn.run,
    "churn-promote": promote.cli,
    "churn-explain": explain.cli,
    "churn-serve": serve.cli,
    "churn-deploy": deploy.cli,
    "churn-predict": predict.cli,
    "churn-score": score.cli,
    "churn-dataset": dataset.cli,
}


@pytest.fixture
def call(monkeypatch, capsys) -> Callable[..., tuple[int, str, str]]:
    """Run a command in this process: (exit code, stdout, stderr); Hydra is cleared."""
    from hydra.core.global_hydra import GlobalHydra

    def run(name: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", [name, *args])
        try:
            COMMANDS[name]()
            code = 0
        except SystemExit as stop:
            code = stop.code or 0
        finally:
            GlobalHydra.instance().clear()
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_groups_and_examples(
    call, name, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(name, "--help")
    assert code == 0
    assert "Examples:" in out and f"  {name} " in out
    assert "== Configuration groups ==" in out and "dataset: travel_churn" in out
    assert list(tmp_path.iterdir()) == []  # nothing written here


def test_promote_help_documents_its_exit_codes(call):
    _, out, _ = call("churn-promote", "--help")
    assert "Exit codes: 0 done" in out and "3 with strict=true" in out


@pytest.mark.parametrize(
    ("name", "args", "printed"),
    [
        ("churn", ["model=rf"], "_target_: sklearn.ensemble.RandomForestClassifier"),
        ("churn-promote", ["policy=best_f1", "strict=true"], "strict: true"),
        ("churn-deploy", ["target=azureml"], "kind: azureml"),
        ("churn-serve", ["target.port=5002"], "port: 5002"),
        ("churn-explain", ["run_id=abc", "explain.max_rows=5"], "max_rows: 5"),
        ("churn-score", ["input=a.csv", "output=b.csv"], "output: b.csv"),
    ],
)
def test_cfg_job_prints_the_composed_config_from_any_folder(
    call, name, args, printed, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(name, "--cfg", "job", *args)
    assert code == 0
    assert printed in out
    assert list(tmp_path.iterdir()) == []


def test_config_dir_adds_a_users_folder(call, tmp_path, monkeypatch):
    (tmp_path / "mine" / "deploy").mkdir(parents=True)
    (tmp_path / "mine" / "deploy" / "edge.yaml").write_text(
        "kind: local\nmodel_uri: runs:/abc/model\nhost: 0.0.0.0\nport: 6001\n"
        "workers: 2\nstartup_timeout: 10\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(
        "churn-serve", "--config-dir", "mine", "target=edge", "--cfg", "job"
    )
    assert code == 0
    assert "port: 6001" in out and "workers: 2" in out


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("churn", ["colour=red"], "error: Could not override 'colour'."),
        ("churn", ["model=nope"], "Available options in 'model': gb, lr, rf, svc"),
        ("churn", ["-m", "--cfg", "hydra"], "error: Only one of --run, --multirun"),
        ("churn-promote", ["policy.x=[1"], "cannot read the override 'policy.x=[1'"),
        ("churn-serve", ["target=nope"], "Could not find 'deploy/nope'"),
        ("churn-deploy", ["--config-name", "nope"], "Cannot find primary config"),
        ("churn-dataset", ["file=a.csv"], "error: Missing mandatory value: target"),
    ],
)
def test_a_bad_override_is_one_line(call, name, args, message):
    code, out, err = call(name, *args)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) <= 2, err
    assert "Traceback" not in err


def test_a_yaml_syntax_error_names_the_file_and_line(call, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "bad.yaml").write_text("_target_: sklearn.svm.SVC\nC: [1\n")
    code, _, err = call("churn", "--config-dir", str(tmp_path), "model=bad")
    assert code == 1
    assert err.strip() == (
        f"error: {tmp_path / 'model' / 'bad.yaml'}:2:4: YAML syntax error: while"
        " parsing a flow sequence expected ',' or ']', but got '<stream end>'"
        " (at line 3)"
    )


def test_explain_keeps_only_the_settings_the_command_line_sets():
    overrides = ["run_id=abc", "explain.max_rows=15", "explain.agnostic.rows=7"]
    cfg = compose_config(overrides, config_name="explain")
    assert chosen_settings(cfg, overrides) == {"max_rows": 15, "agnostic": {"rows": 7}}


def test_packaged_configs_are_read_as_a_package(monkeypatch, tmp_path):
    from churn_experiments.cli import config_dirs

    monkeypatch.chdir(tmp_path)
    assert config_dirs([])[0] == Path(__file__).resolve().parents[1] / "conf"


def test_overrides_may_stand_on_both_sides_of_an_option(call, tmp_path):
    code, out, _ = call(
        "churn-promote", "policy=best_f1", "--config-dir", str(tmp_path), "--cfg",
        "job", "dry_run=true",
    )  # fmt: skip
    assert code == 0
    assert "dry_run: true" in out and "best_f1:" in out
