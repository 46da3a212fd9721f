"""What every command shares: the packaged configs and one-line errors.

Each command is a ``hydra.main`` app over a primary config of ``conf/`` (shipped as
the package ``churn_experiments.conf``), so all of them take ``key=value`` overrides,
``--config-dir``, ``--cfg job`` and ``--help``. :func:`run_command` runs one and turns
Hydra's, OmegaConf's and our own config errors into one or two lines;
:func:`exit_after` ends the process of a console script as soon as its work is done.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from churn_experiments.errors import ChurnExperimentsError

if TYPE_CHECKING:
    from omegaconf import DictConfig

CONFIG_PATH = (
    "pkg://churn_experiments.conf"  # conf/ of a checkout, or its installed copy
)
CONFIG_MODULE = "churn_experiments.conf"
USER_CONFIG_ENV = "CHURN_CONFIG_PATH"  # folders searched before conf/ (hydra_plugins)
EXIT_ERROR = 1  # a config, data or store error (Hydra's own usage errors too)
# Hydra's options followed by a value (--info takes one of _INFO, or none)
_VALUE_OPTIONS = {
    "--config-dir",
    "-cd",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--experimental-rerun",
}
_INFO = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
_TWO_MODES = "Only one of --run, --multirun, --cfg"  # Hydra's ValueError, as it says
# lines of Hydra's and OmegaConf's messages that repeat what the first line says
_NOISE = ("full_key:", "object_type=", "reference_type=", "Config search path:")


def run_command(app: Callable[[], Any], aliases: Mapping[str, str] = ()) -> None:
    """Run the ``hydra.main`` function ``app`` on ``sys.argv``; errors are one line.

    ``aliases`` renames override keys before Hydra reads them (``target=docker`` is
    ``deploy@target=docker``). Bugs keep their traceback.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    sys.argv[1:] = options_first([_alias(a, dict(aliases)) for a in sys.argv[1:]])
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach us instead of a traceback
    try:
        app()
    except (
        HydraException,
        OmegaConfBaseException,
        YAMLError,
        ChurnExperimentsError,
    ) as err:
        print(f"error: {describe(err, sys.argv[1:])}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except ValueError as err:  # Hydra refuses two modes (-m --cfg job) this way
        if not str(err).startswith(_TWO_MODES):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    finally:
        if full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = full_error


def exit_after(command: Callable[[], Any]) -> NoReturn:
    """Run ``command`` as the process's entry point, then end the process at once.

    After a command's work, Python's own exit spends 1.3 to 1.6 s freeing every
    module it imported (MLflow, scikit-learn, pandas...) object by object: as long as
    fitting a model. This does what that exit does first, in its order: it joins the
    threads, runs the ``atexit`` handlers (logging's, MLflow's, Ray's, the process
    pools'), reports a ``SystemExit`` as Python would (a message on stderr, exit 1)
    and flushes the standard streams; then it ends without the teardown. An
    unexpected error still leaves the normal way, with its traceback, and so does
    every command under a profiler (``python -m cProfile`` writes its report after
    the command returns). Only for a process's entry point (``python -m``, the
    console scripts of :mod:`churn_experiments.commands`): tests call the commands
    themselves.
    """
    import atexit
    import threading

    if sys.getprofile() is not None:
        command()
        sys.exit(0)
    try:
        command()
        code: Any = 0
    except SystemExit as stop:
        code = stop.code
    threading._shutdown()  # what the interpreter's exit runs before atexit handlers
    atexit._run_exitfuncs()
    status = exit_status(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: none to tell
            stream.flush()
    os._exit(status)


def exit_status(code: Any) -> int:
    """The process's exit status for ``SystemExit(code)``, as Python reports it: None
    is 0, a number itself, anything else is printed on stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def exits_on_error(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Wrap a command's task: our errors and a missing ``???`` value print one line
    and exit 1 (Hydra would log "Error executing job" and a traceback)."""
    from omegaconf.errors import OmegaConfBaseException

    @functools.wraps(task)
    def checked(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except (ChurnExperimentsError, OmegaConfBaseException) as err:
            print(f"error: {describe(err)}", file=sys.stderr)
            sys.exit(EXIT_ERROR)

    return checked


def describe(err: BaseException, argv: Sequence[str] = ()) -> str:
    """``err`` in one or two lines; a YAML syntax error names the file, line, column.

    Hydra reports a broken YAML file as a failure to load it: the config folders of
    ``argv`` are parsed again to name the file and the place.
    """
    from churn_experiments.validation import check_yaml_syntax

    if isinstance(err, ChurnExperimentsError):
        return str(err)  # written for the user already
    try:
        check_yaml_syntax(config_dirs(argv))
    except ChurnExperimentsError as syntax:
        return str(syntax)
    message = _paragraphs(str(err))
    if getattr(err, "override", None):  # Hydra's OverrideParseException
        message = f"cannot read the override {err.override!r}: {message}"
    cause = err.__cause__
    if cause is not None:
        first = _paragraphs(str(cause)).split("; ")[0]
        if first and first not in message:
            message += f"\n  ({first})"
    return message


def config_dirs(argv: Sequence[str]) -> list[Path]:
    """The packaged config folder, ``CHURN_CONFIG_PATH``'s and any ``--config-dir``."""
    from importlib.resources import files

    folders = [Path(str(files(CONFIG_MODULE))).resolve()]  # a checkout: its conf/
    folders += [Path(f) for f in os.environ.get(USER_CONFIG_ENV, "").split(os.pathsep)]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            folders.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            folders.append(Path(arg.split("=", 1)[1]))
    return [folder for folder in folders if str(folder) not in ("", ".")]


def options_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with Hydra's options (and their values) before the overrides, so
    that ``key=value`` may stand on both sides of ``--config-dir DIR``."""
    options: list[str] = []
    overrides: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        takes_value = arg in _VALUE_OPTIONS or (
            arg in ("--info", "-i") and i + 1 < len(argv) and argv[i + 1] in _INFO
        )
        if arg.startswith("-"):
            options += argv[i : i + 2] if takes_value else [arg]
            i += 2 if takes_value else 1
        else:
            overrides.append(arg)
            i += 1
    return options + overrides


def _alias(arg: str, aliases: dict[str, str]) -> str:
    key, sep, value = arg.partition("=")
    return f"{aliases[key]}={value}" if sep and key in aliases else arg


def _paragraphs(text: str) -> str:
    """Hydra's multi-paragraph message on one line: options listed with commas."""
    parts = []
    for paragraph in text.strip().split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if not lines or lines[0].startswith(_NOISE):
            continue
        head, *rest = lines
        noise = [i for i, line in enumerate(rest) if line.startswith(_NOISE)]
        rest = rest[: noise[0]] if noise else rest  # what follows is search paths
        if head.endswith(":") and rest:
            parts.append(f"{head} {', '.join(rest)}")
        else:
            parts.append(" ".join([head, *rest]))
    return "; ".join(parts)
