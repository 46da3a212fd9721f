"""The part of this package a logged model carries: what loading it imports.

Wherever a model is served (``mlflow models serve``, the Docker image, Azure ML) it is
loaded through :mod:`churn_experiments.model_flavor` without this package installed:
MLflow puts the model's ``code/`` folder on ``sys.path``. That folder holds the modules
importing the loader runs, found by reading their import statements, with the
``__init__`` of each package on the way: 11 files, where the whole package with its
``conf/`` link made 125 (a model folder: 19 files, was 135). Each file is one more
upload when the model is logged to a tracking server and one more download each time
it is loaded from one.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
LOADER = "churn_experiments.model_flavor"


def copy_loader_code(folder: Path) -> Path:
    """Copy the loader's modules into ``folder/churn_experiments``; that folder."""
    for source in loader_files():
        target = folder / source.relative_to(PACKAGE_DIR.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return folder / PACKAGE_DIR.name


def loader_files(entry: str = LOADER) -> list[Path]:
    """The source files importing ``entry`` runs from this package, sorted.

    An import counts when it runs at import time: at module level, in a ``try`` or an
    ``if`` (but not under ``TYPE_CHECKING``); an import inside a function runs only
    when that function is called, which loading a model does not do.
    """
    found: dict[str, Path] = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in found or (source := _source(name)) is None:
            continue
        found[name] = source
        parts = name.split(".")
        pending += [".".join(parts[:end]) for end in range(1, len(parts))]
        pending += _imported(ast.parse(source.read_text()).body)
    return sorted(found.values())


def _source(name: str) -> Path | None:
    """The file of module ``name`` of this package, or None (not a module of ours)."""
    if name.split(".")[0] != PACKAGE_DIR.name:
        return None
    path = PACKAGE_DIR.parent.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(body: list[ast.stmt]) -> Iterator[str]:
    """Every module name an import statement run at import time may load: for
    ``from a import b``, both ``a`` and ``a.b`` (``b`` may be a submodule)."""
    for node in body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.If):
            if not _type_checking(node.test):
                yield from _imported(node.body)
            yield from _imported(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _imported(block)
            for handler in node.handlers:
                yield from _imported(handler.body)


def _type_checking(test: ast.expr) -> bool:
    """Whether ``test`` is ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"
