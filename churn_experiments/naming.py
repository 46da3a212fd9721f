"""One dataset, one namespace: the MLflow experiment and registered model it uses.

A dataset file may declare ``experiment`` and ``registered_model``; both default to the
dataset's ``name`` (``conf/config.yaml`` derives ``experiment_name`` and
``registered_model`` from it), so two datasets never share runs, candidates or
champions. The deploy targets, read outside the main config, name the model through
the ``${dataset_model:}`` resolver: the registered model of the default dataset
(``${dataset_model:NAME}``: of dataset ``NAME``).
"""

from __future__ import annotations

import os
from pathlib import Path

RESOLVER = "dataset_model"

# (config sources and the state of their files, dataset) -> its registered model
_COMPOSED: dict[tuple[tuple[tuple[str, int, int], ...], str], str] = {}


def dataset_model(dataset: str = "") -> str:
    """The registered model of dataset ``dataset`` (default: the one config.yaml picks).

    Composes the main config: inside a running Hydra app with the app's search path
    (a user's ``--config-dir`` included), otherwise with the packaged ``conf/`` and
    ``CHURN_CONFIG_PATH``. The answer is kept until a file it may depend on changes
    (a deploy target names the model twice; composing costs ~0.1 s).
    """
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from churn_experiments.cli import CONFIG_MODULE

    if GlobalHydra.instance().is_initialized():
        return _registered_model(dataset)
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        return _registered_model(dataset)


def _registered_model(dataset: str) -> str:
    """``registered_model`` of the main config composed on Hydra's search path."""
    from hydra import compose

    key = (_files_state(), dataset)
    if key not in _COMPOSED:
        overrides = [f"dataset={dataset}"] if dataset else []
        _COMPOSED[key] = str(compose("config", overrides).registered_model)
    return _COMPOSED[key]


def _files_state() -> tuple[tuple[str, int, int], ...]:
    """Each config folder on the search path with the mtime and size of the files
    naming a model: ``config.yaml`` and ``dataset/*.yaml`` (-1: missing)."""
    from hydra.core.global_hydra import GlobalHydra

    from churn_experiments.sources import source_folder

    state: list[tuple[str, int, int]] = []
    for source in GlobalHydra.instance().config_loader().get_sources():
        folder = source_folder({"schema": source.scheme(), "path": source.path})
        if folder is None:
            state.append((f"{source.scheme()}://{source.path}", -1, -1))
            continue
        folder = folder.resolve()  # a relative one names another folder elsewhere
        files = [folder / "config.yaml", *sorted((folder / "dataset").glob("*.yaml"))]
        state += [(str(path), *_stamp(path)) for path in files]
    return tuple(state)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1
    return stat.st_mtime_ns, stat.st_size


def register_resolver() -> None:
    """Make ``${dataset_model:}`` resolvable in the configs read from now on."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, dataset_model, use_cache=True)
