"""The console scripts of ``pyproject.toml``: each command, ended by
:func:`~churn_experiments.cli.exit_after` as soon as its work is done.

The commands' own functions (``run``, ``cli``) return or raise ``SystemExit`` as
usual, so tests and other Python code can call them in-process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NoReturn

from churn_experiments.cli import exit_after


def _script(module: str, function: str = "cli") -> Callable[[], NoReturn]:
    def script() -> NoReturn:
        exit_after(getattr(importlib.import_module(module), function))

    script.__doc__ = f"The console script that runs ``{module}:{function}``."
    return script


churn = _script("churn_experiments.__main__", "run")
churn_promote = _script("churn_experiments.promote")
churn_explain = _script("churn_experiments.explain.__main__")
churn_serve = _script("churn_experiments.serve")
churn_deploy = _script("churn_experiments.deploy.__main__")
churn_predict = _script("churn_experiments.predict")
churn_score = _script("churn_experiments.score.__main__")
churn_dataset = _script("churn_experiments.dataset.__main__")
