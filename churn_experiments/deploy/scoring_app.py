"""The local scoring server: MLflow's scoring app behind a layer that speaks plainly.

Run by ``churn-serve`` as ``uvicorn --factory
churn_experiments.deploy.scoring_app:create_app`` with the model URI in
:data:`MODEL_URI_ENV`. ``POST /invocations`` with a JSON body is answered here:

- a body that is not a JSON object, names an unknown key or Azure ML's ``input_data``
  gets a 400 naming ``dataframe_split`` and ``dataframe_records`` with a one-line
  example built from the model's own columns;
- an empty request, in either format, gets ``request: no rows``;
- ``dataframe_split`` and ``dataframe_records`` rows are checked against the model's
  data contract all at once (every bad column and value named, see
  :mod:`churn_experiments.contract`) and scored by the pipeline.

Everything else (``/ping``, ``/health``, ``/version``, ``instances`` and ``inputs``
bodies, CSV and Parquet) goes to MLflow's own app; its 400 answers keep only our
message, without MLflow's ``Failed to predict data '<DataFrame repr>'`` in front. Every
error body is ``{"message": ..., "error_code": ...}``, message first.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn_experiments.model_flavor import NO_ROWS, ContractModel, contract_model

MODEL_URI_ENV = "CHURN_SERVE_MODEL_URI"
FORMATS = ("dataframe_split", "dataframe_records")  # the JSON bodies answered here
MLFLOW_FORMATS = ("instances", "inputs")  # JSON bodies MLflow's app parses itself
PARAMS_KEY = "params"  # allowed beside the format key, as MLflow allows it
JSON_TYPE = "application/json"
PREDICT_FAILED = "Failed to predict data '"  # how MLflow prefixes a model's error
PREDICT_FAILED_END = "\nError: "

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body text and its media type."""

    status: int
    body: str
    media_type: str = JSON_TYPE


class RequestError(Exception):
    """A request we refuse; the message is the first thing its body says."""

    def __init__(self, message: str, error_code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


def error_answer(message: str, error_code: str, status: int = 400) -> Answer:
    """The JSON error body, message first: ``{"message": ..., "error_code": ...}``."""
    return Answer(status, json.dumps({"message": message, "error_code": error_code}))


def example_body(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """A one-line ``dataframe_records`` body with one valid value per column."""
    row = {}
    for name, spec in columns.items():
        if spec["dtype"] == "category":
            row[name] = spec["categories"][0]
        else:
            row[name] = spec.get("min") if spec.get("min") is not None else 0
    return json.dumps({"dataframe_records": [row]})


def formats_hint(example: str) -> str:
    """What a body must look like here, with ``example``."""
    return (
        'send a JSON object with one key, dataframe_split ({"columns": [...],'
        ' "data": [[...]]}) or dataframe_records ([{column: value}, ...]), e.g.'
        f" {example}"
    )


class Scorer:
    """Answers ``POST /invocations`` for one loaded pyfunc model."""

    def __init__(self, model: Any) -> None:
        from mlflow.pyfunc import scoring_server

        self.model = model
        self.contract: ContractModel | None = contract_model(model)
        self.input_schema = model.metadata.get_input_schema()
        self._mlflow_invocations = scoring_server.invocations
        columns = self.contract.contract if self.contract else self._schema_columns()
        self.hint = formats_hint(example_body(columns))

    def answer(self, body: bytes, content_type: str) -> Answer:
        """The answer to one request (blocking: run it in a worker thread)."""
        try:
            if content_type.split(";")[0].strip().lower() != JSON_TYPE:
                return self._mlflow(body, content_type)
            document = self._decode(body)
            key = self._format_key(document)
            if key in MLFLOW_FORMATS or self.contract is None:
                return self._mlflow(body, content_type)
            return score(self.contract, rows_of(key, document[key]))
        except RequestError as err:
            return error_answer(err.message, err.error_code)

    def _decode(self, body: bytes) -> dict[str, Any]:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise RequestError(
                f"the body is not valid JSON ({err}); {self.hint}"
            ) from None
        if not isinstance(document, dict):
            raise RequestError(
                f"the body is a JSON {type(document).__name__}, not an object;"
                f" {self.hint}"
            )
        return document

    def _format_key(self, document: dict[str, Any]) -> str:
        keys = [key for key in document if key != PARAMS_KEY]
        if "input_data" in keys:
            raise RequestError(
                "'input_data' is Azure ML's format; this server (MLflow's scoring"
                f" server) takes the same rows as dataframe_split: {self.hint}"
            )
        unknown = [key for key in keys if key not in (*FORMATS, *MLFLOW_FORMATS)]
        if unknown:
            raise RequestError(f"unknown key(s) {unknown} in the body; {self.hint}")
        if len(keys) != 1:
            found = f"keys {keys}" if keys else "no rows"
            raise RequestError(f"the body holds {found}; {self.hint}")
        return keys[0]

    def _mlflow(self, body: bytes, content_type: str) -> Answer:
        """MLflow's own answer, its error message without the DataFrame in front."""
        from mlflow.exceptions import MlflowException

        try:
            result = self._mlflow_invocations(
                body, content_type, self.model, self.input_schema
            )
        except MlflowException as err:
            return error_answer(
                strip_mlflow_prefix(err.message),
                err.error_code,
                err.get_http_status_code(),
            )
        return Answer(result.status, result.response, result.mimetype)

    def _schema_columns(self) -> dict[str, dict[str, Any]]:
        """Columns for the example when the model has no contract: its signature."""
        names = self.input_schema.input_names() if self.input_schema else ["x"]
        return {str(name): {"dtype": "float"} for name in names}


def rows_of(key: str, value: Any) -> pd.DataFrame:
    """The rows of a ``dataframe_split`` or ``dataframe_records`` value."""
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise RequestError(
                'dataframe_split must be an object {"columns": [...], "data": [[...],'
                " ...]}"
            )
        data, columns = value["data"], value.get("columns")
    else:
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise RequestError(
                "dataframe_records must be a list of objects [{column: value}, ...]"
            )
        data, columns = value, None
    if not data:
        raise RequestError(NO_ROWS, "INVALID_PARAMETER_VALUE")
    try:
        return pd.DataFrame(data, columns=columns)
    except (ValueError, TypeError) as err:
        raise RequestError(f"{key}: the rows do not form a table ({err})") from None


def score(model: ContractModel, rows: pd.DataFrame) -> Answer:
    """Check every row against the contract, then predict them all, or refuse."""
    checked = model.check(rows)
    if not checked.ok:
        raise RequestError(checked.message("request"), "INVALID_PARAMETER_VALUE")
    predictions = model.pipeline.predict(checked.valid_rows())
    return Answer(200, json.dumps({"predictions": predictions.tolist()}))


def strip_mlflow_prefix(message: str) -> str:
    """A model's own message, without ``Failed to predict data '<repr>'. \\nError:``."""
    if message.startswith(PREDICT_FAILED) and PREDICT_FAILED_END in message:
        return message.split(PREDICT_FAILED_END, 1)[1]
    return message


class Gate:
    """The ASGI app: ``POST /invocations`` to :class:`Scorer`, the rest to MLflow."""

    def __init__(self, scorer: Scorer, mlflow_app: Any) -> None:
        self.scorer = scorer
        self.mlflow_app = mlflow_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/invocations"
            or scope["method"] != "POST"
        ):
            await self.mlflow_app(scope, receive, send)
            return
        body = await read_body(receive)
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        answer = await asyncio.to_thread(self.scorer.answer, body, content_type)
        payload = answer.body.encode()
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.media_type.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Receive) -> bytes:
    """The whole request body from ASGI ``receive`` messages."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app() -> Gate:
    """The app for the model named by :data:`MODEL_URI_ENV` (uvicorn ``--factory``)."""
    from mlflow.pyfunc import scoring_server

    model = scoring_server.load_model_with_mlflow_config(os.environ[MODEL_URI_ENV])
    return Gate(Scorer(model), scoring_server.init(model))
