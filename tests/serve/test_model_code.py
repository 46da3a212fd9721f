"""A logged model carries the modules its loader imports, and no others."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from churn_experiments.model_code import PACKAGE_DIR, copy_loader_code, loader_files

IMPORTED_BY_THE_LOADER = """
import sys
import churn_experiments.model_flavor
for name, module in sys.modules.items():
    if name.split(".")[0] == "churn_experiments":
        print(module.__file__)
"""


def test_the_files_read_are_the_modules_importing_the_loader_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY_THE_LOADER],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = sorted(Path(line) for line in done.stdout.split())
    assert loader_files() == imported
    assert PACKAGE_DIR / "model_flavor.py" in imported
    assert len(imported) < len(list(PACKAGE_DIR.rglob("*.py"))) / 4


def test_imports_run_at_import_time_count_and_the_others_do_not(
    tmp_path: Path, monkeypatch
) -> None:
    package = tmp_path / "churn_experiments"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "entry.py": """
            from typing import TYPE_CHECKING
            import churn_experiments.plain
            from churn_experiments.sub import leaf
            try:
                from churn_experiments import in_try
            except ImportError:
                from churn_experiments import in_handler
            if TYPE_CHECKING:
                from churn_experiments import only_typed
            def later():
                from churn_experiments import in_function
            """,
        "sub/__init__.py": "",
        **{
            f"{name}.py": ""
            for name in (
                "plain",
                "sub/leaf",
                "in_try",
                "in_handler",
                "only_typed",
                "in_function",
            )
        },
    }
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.setattr("churn_experiments.model_code.PACKAGE_DIR", package)

    found = loader_files("churn_experiments.entry")

    assert [str(p.relative_to(package)) for p in found] == [
        "__init__.py",
        "entry.py",
        "in_handler.py",
        "in_try.py",
        "plain.py",
        "sub/__init__.py",
        "sub/leaf.py",
    ]


def test_the_copy_keeps_the_package_layout(tmp_path: Path) -> None:
    copied = copy_loader_code(tmp_path)
    assert copied == tmp_path / "churn_experiments"
    assert sorted(copied.rglob("*.py")) == [
        copied / source.relative_to(PACKAGE_DIR) for source in loader_files()
    ]
