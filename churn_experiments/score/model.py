"""The model a scoring uses, loaded once: pipeline, data contract, run and version."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from churn_experiments.errors import ChurnExperimentsError

MODELS_URI = re.compile(
    r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))?$"
)


class ScoreError(ChurnExperimentsError, RuntimeError):
    """Scoring cannot start or go on (no such model, a missing column, ...)."""


@dataclass(frozen=True)
class ScoringModel:
    """A logged churn pipeline with what scoring needs to know about it."""

    uri: str
    pipeline: Any
    contract: dict[str, dict[str, Any]]
    positive: Any
    run_id: str | None
    version: str | None


def default_model_uri(dataset: Mapping[str, Any]) -> str:
    """The dataset's registered model at its ``champion`` alias."""
    from churn_experiments.naming import dataset_model

    return f"models:/{dataset_model(dataset['name'])}@champion"


def load_scoring_model(uri: str, positive: Any) -> ScoringModel:
    """Load ``uri`` through pyfunc; unwrap the pipeline and contract it checks with.

    Raises ConfigError for a URI that names no model (saying how to make one), and
    :class:`ScoreError` for a model not logged by churn-experiments (it has no data
    contract) or without ``predict_proba``.
    """
    import mlflow

    from churn_experiments.model_flavor import contract_model
    from churn_experiments.model_uri import check_model_uri

    check_model_uri(uri)
    pyfunc_model = mlflow.pyfunc.load_model(uri)
    raw = contract_model(pyfunc_model)
    if raw is None:
        raise ScoreError(
            f"model_uri {uri!r} was not logged by churn-experiments (it carries no"
            " data contract); score a model from a churn-experiments run"
        )
    if not hasattr(raw.pipeline, "predict_proba"):
        raise ScoreError(
            f"model_uri {uri!r}: {type(raw.pipeline[-1]).__name__} has no"
            " predict_proba, so no churn probability; score a model that has one"
        )
    return ScoringModel(
        uri=uri,
        pipeline=raw.pipeline,
        contract=dict(raw.contract),
        positive=positive,
        run_id=pyfunc_model.metadata.run_id,
        version=registry_version(uri),
    )


def registry_version(uri: str) -> str | None:
    """The registered version a ``models:/NAME@ALIAS`` or ``models:/NAME/N`` names."""
    import mlflow

    match = MODELS_URI.match(uri)
    if match is None or not (match["alias"] or match["version"]):
        return None
    if match["version"]:
        return match["version"]
    client = mlflow.MlflowClient()
    return str(client.get_model_version_by_alias(match["name"], match["alias"]).version)
