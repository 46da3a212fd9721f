"""Where a search keeps its Optuna study: beside the tracking store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from omegaconf import OmegaConf

RESOLVER = "churn.beside"


def beside(tracking_uri: str, file_name: str) -> str:
    """``sqlite:///<folder>/<file_name>`` for a ``sqlite:///<folder>/mlflow.db`` URI."""
    if urlparse(tracking_uri).scheme != "sqlite":
        raise ValueError(
            f"the tracking store {tracking_uri} is no SQLite file to keep "
            f"{file_name} beside; set tracking.study_storage to a database URL "
            "(CHURN_STUDY_STORAGE with tracking=server)"
        )
    path = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
    return f"sqlite:///{path.parent / file_name}"


def register_resolver() -> None:
    """Make ``${churn.beside:<tracking uri>,<file>}`` available to the configs."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, beside)
