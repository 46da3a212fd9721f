"""Request bodies for scoring servers, and their answers turned into a list.

MLflow's scoring server (``mlflow models serve``, the Docker image) takes exactly one of
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` and answers
``{"predictions": [...]}``. An Azure ML managed online endpoint serving an MLflow
model takes ``{"input_data": {"columns", "index", "data"}}`` and answers a bare list.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from churn_experiments.errors import ChurnExperimentsError

# the body formats to_payload builds; each is also the body's one top-level key
FORMATS = ("dataframe_split", "dataframe_records", "input_data")


class PayloadError(ChurnExperimentsError, ValueError):
    """Rows that cannot be sent, or an answer that holds no predictions."""


def dataframe_split(rows: pd.DataFrame) -> dict[str, Any]:
    """MLflow's ``{"dataframe_split": {"columns", "index", "data"}}`` body."""
    return {"dataframe_split": _split(rows)}


def dataframe_records(rows: pd.DataFrame) -> dict[str, Any]:
    """MLflow's ``{"dataframe_records": [{column: value}, ...]}`` body."""
    _check_rows(rows)
    return {"dataframe_records": json.loads(rows.to_json(orient="records"))}


def input_data(rows: pd.DataFrame) -> dict[str, Any]:
    """Azure ML's ``{"input_data": {"columns", "index", "data"}}`` body."""
    return {"input_data": _split(rows)}


def to_payload(rows: pd.DataFrame, fmt: str) -> dict[str, Any]:
    """The body for ``fmt``, one of :data:`FORMATS`."""
    builders = {
        "dataframe_split": dataframe_split,
        "dataframe_records": dataframe_records,
        "input_data": input_data,
    }
    if fmt not in builders:
        raise PayloadError(
            f"unknown payload format {fmt!r}; allowed: {', '.join(FORMATS)}"
        )
    return builders[fmt](rows)


def parse_predictions(answer: str | bytes | list[Any] | dict[str, Any]) -> list[Any]:
    """The predictions in a server's answer, raw text or decoded JSON.

    Accepts MLflow's ``{"predictions": [...]}``, Azure's bare list, and a list that a
    scoring script encoded twice (a JSON string holding JSON).
    """
    value = _decode(answer) if isinstance(answer, str | bytes) else answer
    if isinstance(value, str):  # a scoring script returned json.dumps(...)
        value = _decode(value)
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if "predictions" in value:
            predictions = value["predictions"]
            if isinstance(predictions, list):
                return predictions
            raise PayloadError(
                f"'predictions' holds a {type(predictions).__name__}, expected a list"
            )
        if "error_code" in value or "message" in value:
            raise PayloadError(
                "the server answered an error: "
                f"{value.get('error_code', '')} {value.get('message', '')}".strip()
            )
        raise PayloadError(
            'the answer has no predictions: expected {"predictions": [...]} or a'
            f" list, got an object with keys {sorted(value)}"
        )
    raise PayloadError(
        'the answer has no predictions: expected {"predictions": [...]} or a list,'
        f" got {type(value).__name__}"
    )


def _split(rows: pd.DataFrame) -> dict[str, Any]:
    _check_rows(rows)
    return json.loads(rows.to_json(orient="split", date_format="iso"))


def _check_rows(rows: Any) -> None:
    if not isinstance(rows, pd.DataFrame):
        raise PayloadError(
            f"rows must be a pandas DataFrame, got {type(rows).__name__}"
        )
    if rows.empty:
        raise PayloadError("no rows to send: the DataFrame is empty")
    duplicated = rows.columns[rows.columns.duplicated()].tolist()
    if duplicated:
        raise PayloadError(f"duplicated column names: {duplicated}")


def _decode(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        raise PayloadError(f"the answer is not JSON: {text[:200]!r}") from err
