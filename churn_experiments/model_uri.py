"""Whether a model URI names a model, checked before anything starts to serve it.

``models:/NAME@ALIAS`` is looked up in the registry first, so a store without the
registered model or without the alias gets a message saying how to create one
(train candidates, then promote one) instead of MLflow's traceback.
"""

from __future__ import annotations

import re
from typing import Any

from churn_experiments import store
from churn_experiments.errors import ConfigError

ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/?$")
CREATE_CHAMPION = (
    "train candidates (churn -m model=lr,rf,svc,gb), then promote one"
    " (churn-promote policy=best_f1 sets @champion), or name another model:"
    " model_uri=runs:/<run_id>/model (target.model_uri=... for churn-serve and"
    " churn-deploy)"
)
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"


def check_model_uri(model_uri: str) -> Any:
    """The model's ``MLmodel`` metadata (``mlflow.models.Model``).

    Raises :class:`ConfigError` in one line naming the URI and the store when the URI
    names no model, and how to create one; :class:`TrackingStoreError` when the
    store it is read from is missing or does not answer.
    """
    store.check_for_model(model_uri)  # a store that is down: one line, in seconds
    import mlflow
    from mlflow.exceptions import MlflowException

    match = ALIAS_URI.match(model_uri)
    if match:
        _check_alias(match["name"], match["alias"], model_uri)
    try:
        return mlflow.models.Model.load(model_uri)
    except (MlflowException, OSError) as err:
        reason = getattr(err, "message", str(err)).splitlines()[0]
        raise ConfigError(
            f"model_uri {model_uri!r} names no model ({reason}); {CREATE_CHAMPION}"
        ) from None


def _check_alias(name: str, alias: str, model_uri: str) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    where = f"in the registry at {mlflow.get_registry_uri()}"
    try:
        model = client.get_registered_model(name)
    except MlflowException as err:
        if err.error_code != NOT_FOUND:
            raise ConfigError(f"model_uri {model_uri!r}: {err.message}") from None
        raise ConfigError(
            f"model_uri {model_uri!r}: no registered model {name!r} {where};"
            f" {CREATE_CHAMPION}"
        ) from None
    if alias not in (model.aliases or {}):
        held = ", ".join(f"@{a}" for a in sorted(model.aliases or {})) or "none"
        raise ConfigError(
            f"model_uri {model_uri!r}: registered model {name!r} has no alias"
            f" @{alias} {where} (its aliases: {held}); promote a version"
            " (churn-promote policy=...) or name a version:"
            f" model_uri=models:/{name}/<version>"
        )
