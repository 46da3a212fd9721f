"""Helpers shared by the tests: paths, composed configs, an in-process sweep."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from churn_experiments.sources import Sources

PROJECT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT / "conf"
DATA_DIR = Path(
    os.environ.get("CHURN_DATA_DIR", PROJECT.parent / "shared" / "data")
).resolve()
DATA_FILE = DATA_DIR / "Customertravel.csv"
FIXTURES = Path(__file__).resolve().parent / "data"  # small CSVs, a user conf folder
MODELS = ("lr", "rf", "svc", "gb")


# two raw rows as a served model receives them (the dataset's input columns)
RAW_ROWS = pd.DataFrame(
    {
        "Age": [34, 28],
        "FrequentFlyer": ["No", "Yes"],
        "AnnualIncomeClass": ["Middle Income", "Low Income"],
        "ServicesOpted": [6, 1],
        "AccountSyncedToSocialMedia": ["No", "Yes"],
        "BookedHotelOrNot": ["Yes", "No"],
    }
)


def compose_config(
    overrides: Sequence[str] = (),
    return_hydra_config: bool = False,
    config_name: str = "config",
) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides``, as the app would."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name,
            overrides=list(overrides),
            return_hydra_config=return_hydra_config,
        )


def _namespace() -> tuple[str, str]:
    """The default dataset's registered model and experiment, as config.yaml derives
    them from its file (the one place they are written)."""
    cfg = compose_config()
    return str(cfg.registered_model), str(cfg.experiment_name)


MODEL, EXPERIMENT = _namespace()


def promote(*overrides: str) -> int:
    """``churn-promote OVERRIDES`` in this process: its exit code (errors raise)."""
    from churn_experiments.promote import promote as run

    cfg = compose_config(overrides, return_hydra_config=True, config_name="promote")
    return run(cfg, cfg.hydra.runtime.config_sources)


def compose_job(overrides: Sequence[str] = ()) -> tuple[DictConfig, Sources]:
    """A job's config as Hydra gives it to the task (no ``hydra`` node), and the
    sources the entry point reads from Hydra: ``train(*compose_job([...]))``."""
    cfg = compose_config(overrides, return_hydra_config=True)
    sources = Sources.from_hydra(cfg.hydra)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, sources


@dataclass(frozen=True)
class Sweep:
    """What an in-process sweep left behind."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    run_ids: dict[str, str]  # model choice -> child run id (finished ones)


def run_sweep_in_process(models: Sequence[str], overrides: Sequence[str] = ()) -> Sweep:
    """Run a sweep through the real callback and job code, without a subprocess.

    The callback gets the multirun config (with its ``hydra`` node) and each job its
    own composed config, as Hydra's basic launcher would give them. A failing job is
    recorded and skipped, as in a real sweep.
    """
    from churn_experiments import tracking
    from churn_experiments.sweep_callback import MlflowSweepCallback
    from churn_experiments.train import train

    callback = MlflowSweepCallback()
    sweep_cfg = compose_config(overrides, return_hydra_config=True)
    with open_dict(sweep_cfg):
        sweep_cfg.hydra.overrides.task = [f"model={','.join(models)}", *overrides]
    callback.on_multirun_start(sweep_cfg)
    context = tracking.sweep_context()
    run_ids = {}
    for model in models:
        try:
            job = compose_job([f"model={model}", *overrides])
            run_ids[model] = train(*job)["run_id"]
        except Exception:  # recorded on its FAILED run; the sweep goes on
            pass
    with contextlib.suppress(SystemExit):  # raised when a job failed
        callback.on_multirun_end(sweep_cfg)
    return Sweep(
        tracking.configure(sweep_cfg.tracking),
        context["experiment_id"],
        context["parent_run_id"],
        run_ids,
    )


@contextlib.contextmanager
def tracking_to(uri: str | None) -> Iterator[None]:
    """MLflow's tracking URI set to ``uri`` for a block, then put back.

    For fixtures scoped wider than a test: pytest sets them up before the per-test
    autouse fixture that points MLflow at the tutorial store.
    """
    import mlflow

    saved = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved)


def write_broken_model(folder: Path) -> None:
    """A user's model file with an invalid hyperparameter (a negative learning rate)."""
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "broken.yaml").write_text(
        "_target_: sklearn.ensemble.GradientBoostingClassifier\nlearning_rate: -1.0\n"
    )


# what a fault test turns off when the fault does not need it
CHEAP = ("explain.enabled=false", "profile.enabled=false")


def start_sweep(
    cwd: Path, *overrides: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m churn_experiments -m ...`` started in ``cwd``, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "churn_experiments", "-m", *overrides],
        cwd=cwd,
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_module(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m args...`` to its end, output captured (5 minutes at most)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_in_process(
    command: Callable[[], object],
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] = {},  # noqa: B006 (read only)
) -> subprocess.CompletedProcess[str]:
    """A command's own function (``run`` or ``cli``) on the command line ``args``, in
    this process: its exit code and output as its console script would end it (a
    ``SystemExit`` message on stderr, exit 1), with ``env`` set (``None``: unset).

    For tests of what a command does, not of its process: no interpreter start-up
    (3-5 s of imports). The working folder, environment, signal handlers, logging and
    Hydra's global state are put back afterwards.
    """
    from hydra.core.global_hydra import GlobalHydra

    from churn_experiments.cli import exit_status

    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    saved_logging = root.handlers[:], root.level, _logger_levels()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    saved_argv, saved_cwd, saved_env = sys.argv, os.getcwd(), dict(os.environ)
    argv = [getattr(command, "__module__", "command"), *args]
    sys.argv = list(argv)
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        if cwd is not None:
            os.chdir(cwd)
        # a new process knows only the environment's store (None: unset)
        with (
            tracking_to(os.environ.get("MLFLOW_TRACKING_URI")),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                command()
                code = 0
            except SystemExit as stop:
                code = exit_status(stop.code)
    finally:
        GlobalHydra.instance().clear()
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
        handlers, level, levels = saved_logging
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in _logger_levels():
            logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def _logger_levels() -> dict[str, int]:
    """The level of every named logger (Hydra's logging config sets some)."""
    return {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
