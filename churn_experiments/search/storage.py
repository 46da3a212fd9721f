"""Where a search keeps its Optuna study: beside the tracking store.

Locally that is ``optuna.db`` in the SQLite file's folder. On a tracking server's
PostgreSQL database it is a schema of its own in the same database: MLflow's and
Optuna's migrations would otherwise share one ``alembic_version`` table, and Optuna
refuses a database whose revision is MLflow's.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from omegaconf import OmegaConf

SCHEMA_OPTION = "-csearch_path="


def beside(tracking_uri: str, file_name: str) -> str | None:
    """``sqlite:///<folder>/<file_name>`` for a ``sqlite:///<folder>/mlflow.db`` URI.

    Any other store (a tracking server named by ``MLFLOW_TRACKING_URI``) has no folder
    to keep the study in: ``None``, which a search refuses with a message naming
    ``tracking.study_storage``; runs that do not search never need it.
    """
    if urlparse(tracking_uri).scheme != "sqlite":
        return None
    path = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
    return f"sqlite:///{path.parent / file_name}"


def in_schema(database_url: str | None, schema: str) -> str | None:
    """A PostgreSQL URL whose connections use ``schema``; other URLs as they are."""
    if not database_url or not urlparse(database_url).scheme.startswith("postgresql"):
        return database_url
    if SCHEMA_OPTION in str(parse_qs(urlparse(database_url).query).get("options")):
        return database_url
    separator = "&" if urlparse(database_url).query else "?"
    return database_url + separator + urlencode({"options": SCHEMA_OPTION + schema})


def prepare(storage: str) -> None:
    """Create the PostgreSQL schema a study storage URL names, if it is missing."""
    options = parse_qs(urlparse(storage).query).get("options", [])
    schemas = [o.removeprefix(SCHEMA_OPTION) for o in options if SCHEMA_OPTION in o]
    if not schemas or not urlparse(storage).scheme.startswith("postgresql"):
        return
    import sqlalchemy

    url = storage.split("?", 1)[0]
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            name = schemas[0].split(",")[0]
            connection.execute(sqlalchemy.text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
    finally:
        engine.dispose()


def register_resolvers() -> None:
    """``${churn.beside:<uri>,<file>}`` and ``${churn.in_schema:<url>,<schema>}``."""
    for name, function in (("churn.beside", beside), ("churn.in_schema", in_schema)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
