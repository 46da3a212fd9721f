"""One dataset, one namespace: the MLflow experiment and registered model it uses.

A dataset file may declare ``experiment`` and ``registered_model``; both default to the
dataset's ``name`` (``conf/config.yaml`` derives ``experiment_name`` and
``registered_model`` from it), so two datasets never share runs, candidates or
champions. The deploy targets, read outside the main config, name the model through
the ``${dataset_model:}`` resolver: the registered model of the default dataset
(``${dataset_model:NAME}``: of dataset ``NAME``).
"""

from __future__ import annotations

RESOLVER = "dataset_model"


def dataset_model(dataset: str = "") -> str:
    """The registered model of dataset ``dataset`` (default: the one config.yaml picks).

    Composes the main config: inside a running Hydra app with the app's search path
    (a user's ``--config-dir`` included), otherwise with the packaged ``conf/`` and
    ``CHURN_CONFIG_PATH``.
    """
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from churn_experiments.cli import CONFIG_MODULE

    overrides = [f"dataset={dataset}"] if dataset else []
    if GlobalHydra.instance().is_initialized():
        return str(compose("config", overrides).registered_model)
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        return str(compose("config", overrides).registered_model)


def register_resolver() -> None:
    """Make ``${dataset_model:}`` resolvable in the configs read from now on."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, dataset_model, use_cache=True)
