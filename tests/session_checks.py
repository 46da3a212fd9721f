"""How the session runs, beside the fixtures: xdist groups and a clean checkout.

- Tests sharing a module-scoped fixture, or a costly session one, run on one xdist
  worker (``--dist loadgroup``), so each is built once; a worker stops at once if
  xdist no longer groups them (as under pytest 9.2).
- The session fails if the tests left files in the checkout (``mlruns/``,
  ``outputs/``, ``mlflow.db``...): they belong in ``tmp_path``.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# written into the checkout by Python and pytest themselves, not by a test
OWN_FILES = ("__pycache__", ".pytest_cache")
# what one xdist worker runs all the tests of: a session fixture starting a server
# (once, not once per worker), the Ray clusters (each asks for every core) and the
# tests importing azure-ai-ml (~3 s each worker would pay)
ONE_WORKER_FIXTURE, ONE_WORKER_MARKS = "tracking_server", ("ray", "azure")
SWEEP_FIXTURE = "tutorial_sweep"  # one worker runs it while the others test
_CHECKOUT = pytest.StashKey[set[str]]()
_GAINED = pytest.StashKey[list[str]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note what the checkout holds beside its tracked files, to compare at the end."""
    if not _is_worker(session.config):
        session.config.stash[_CHECKOUT] = _untracked()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the session if the tests left files in the checkout (``mlruns/``,
    ``outputs/``, ``mlflow.db``...): they belong in ``tmp_path``."""
    before = session.config.stash.get(_CHECKOUT, None)
    if before is None:
        return
    gained = sorted(_untracked() - before)
    if gained:
        session.config.stash[_GAINED] = gained
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    gained = terminalreporter.config.stash.get(_GAINED, [])
    if gained:
        terminalreporter.section("files left in the checkout", red=True)
        terminalreporter.line(
            "the tests wrote these into the checkout (use tmp_path): "
            + ", ".join(gained),
            red=True,
        )


def _untracked() -> set[str]:
    """Untracked and ignored paths of the checkout as git lists them (folders
    collapsed), and its top-level entries (git lists no empty folder)."""
    try:
        listed = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "-z"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    paths = {
        entry[3:] for entry in listed.split("\0") if entry.startswith(("??", "!!"))
    }
    paths |= {f"{p.name}/" if p.is_dir() else p.name for p in PROJECT_ROOT.iterdir()}
    return {p for p in paths if not set(Path(p).parts) & set(OWN_FILES)}


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Group and order the tests for xdist (``--dist loadgroup``).

    The tests of a module sharing a module-scoped fixture, and those of
    ``ONE_WORKER_*``, go to one worker, so each fixture is built once. Groups run
    before single tests, larger first; tests needing the tutorial sweep come last,
    while one worker runs that sweep (see ``conftest.tutorial_sweep_first``).
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    groups = {item: _group(item) for item in items}
    sizes = Counter(groups.values())
    for item, group in groups.items():
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(
        key=lambda item: (
            SWEEP_FIXTURE in _fixtures(item),
            -sizes[groups[item]] if groups[item] else 0,
        )
    )


@pytest.hookimpl(tryfirst=True)  # before xdist sends the test ids to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    _check_grouping(session.config, session.items)


def _check_grouping(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop a worker whose xdist no longer groups: it marks a grouped test by
    appending ``@group`` to its id, which a pytest release may stop reading (9.2
    did). Ungrouped, every worker builds the shared fixtures and servers again."""
    if not (_is_worker(config) and config.getvalue("loadgroup")):
        return
    lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group")]
    lost = [nodeid for nodeid in lost if "@" not in nodeid.rsplit("::", 1)[-1]]
    if lost:
        message = (
            f"pytest-xdist's --dist loadgroup does not group {lost[0]} (and "
            f"{len(lost) - 1} more) under pytest {pytest.__version__}: "
            "use the versions pyproject.toml pins"
        )
        print(message, file=sys.__stderr__)  # xdist shows only "no active workers"
        raise pytest.UsageError(message)


def _group(item: pytest.Item) -> str | None:
    """The xdist group ``item`` must run in, if any."""
    names = _fixtures(item)
    if ONE_WORKER_FIXTURE in names:
        return ONE_WORKER_FIXTURE
    for mark in ONE_WORKER_MARKS:
        if item.get_closest_marker(mark):
            return mark
    definitions = item._fixtureinfo.name2fixturedefs if names else {}
    if any(d.scope == "module" for n in names for d in definitions.get(n, ())):
        return item.module.__name__
    return None


def _fixtures(item: pytest.Item) -> list[str]:
    return list(item.fixturenames) if isinstance(item, pytest.Function) else []
