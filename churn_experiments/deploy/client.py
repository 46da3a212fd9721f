"""The prediction client: score rows on a running target, the local MLflow server
or an Azure ML endpoint. ``churn-predict`` (:mod:`churn_experiments.predict`) is its
command; :func:`predict` is the same from Python.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from churn_experiments.deploy import payloads
from churn_experiments.errors import ChurnExperimentsError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

log = logging.getLogger(__name__)

# target kind -> the body format its server accepts
PAYLOAD_FORMATS = {"local": "dataframe_split", "azureml": "input_data"}


class PredictionError(ChurnExperimentsError, RuntimeError):
    """The target could not be reached or refused the rows."""


def predict(
    rows: pd.DataFrame,
    target_cfg: Mapping[str, Any] | DictConfig,
    *,
    deployment_name: str | None = None,
    timeout: float = 30.0,
    client: MLClient | None = None,
) -> list[Any]:
    """Send ``rows`` (raw input columns) to the target; return one prediction per row.

    ``deployment_name`` and ``client`` (an MLClient, built from the environment when
    None) apply to the azureml target; ``timeout`` to the local one.
    """
    from churn_experiments.naming import register_resolver

    register_resolver()
    target = (
        OmegaConf.to_container(target_cfg, resolve=True)
        if isinstance(target_cfg, DictConfig)
        else dict(target_cfg)
    )
    kind = target.get("kind")
    if kind not in PAYLOAD_FORMATS:
        raise PredictionError(
            f"cannot send rows to a target of kind {kind!r}; allowed:"
            f" {', '.join(PAYLOAD_FORMATS)}"
        )
    body = payloads.to_payload(rows, PAYLOAD_FORMATS[kind])
    if kind == "azureml":
        from churn_experiments.deploy import azureml

        predictions = azureml.invoke(
            target, body, deployment_name=deployment_name, client=client
        )
    else:
        predictions = _post_local(target, body, timeout)
    if len(predictions) != len(rows):
        raise PredictionError(
            f"sent {len(rows)} rows but got {len(predictions)} predictions"
        )
    return predictions


def read_rows(path: str | Path, drop_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of a CSV file (a UTF-8 byte-order mark is fine) less ``drop_columns``."""
    path = Path(path)
    if not path.is_file():
        raise PredictionError(f"input file {path} does not exist")
    rows = pd.read_csv(path, encoding="utf-8-sig")
    return rows.drop(columns=list(drop_columns), errors="ignore")


def _post_local(
    target: Mapping[str, Any], body: dict[str, Any], timeout: float
) -> list[Any]:
    """POST to MLflow's scoring server at ``http://{host}:{port}/invocations``."""
    import requests

    url = f"http://{target['host']}:{target['port']}/invocations"
    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.Timeout as err:
        raise PredictionError(f"{url} did not answer within {timeout} s") from err
    except requests.ConnectionError as err:
        raise PredictionError(
            f"no scoring server answers at {url}; start it first (churn-serve)"
        ) from err
    if not response.ok:
        raise PredictionError(
            f"{url} answered {response.status_code}: {_refusal(response)}"
        )
    return payloads.parse_predictions(response.content)


def _refusal(response: Any) -> str:
    """What a refusal says, on one line: a JSON error body's ``message`` (without
    MLflow's ``Failed to predict data`` prefix), else the body's text."""
    from churn_experiments.deploy.scoring_app import strip_mlflow_prefix

    try:
        message = strip_mlflow_prefix(str(response.json()["message"]))
    except (ValueError, KeyError, TypeError):
        message = response.text[:500]
    return " ".join(message.split())
