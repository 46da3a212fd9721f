"""How a pipeline is logged: the scikit-learn flavor plus a pyfunc that checks rows.

``mlflow.sklearn.load_model`` returns the plain pipeline. ``mlflow.pyfunc.load_model``
and everything built on it (``mlflow models serve``, the Docker image, Azure ML) score
through :class:`ContractModel`, which checks each request against the dataset's data
contract first: a wrong type, an unknown category, a number out of range, a null in a
column that is not nullable or an empty request is refused with
``INVALID_PARAMETER_VALUE`` (HTTP 400 from the scoring server) naming every bad column
and value, instead of being scored silently (the one-hot step ignores unseen values) or
failing inside scikit-learn with an opaque message.

The modules loading it imports are shipped in the model (``code/churn_experiments``:
see :mod:`churn_experiments.model_code`), so loading it needs nothing beyond the
model's pip requirements.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from churn_experiments.contract import ContractCheck, check_frame

CONTRACT_FILE = "data_contract.json"
NO_ROWS = "request: no rows; send at least one row to score"


def save_model(
    sk_model: Any,
    path: str,
    mlflow_model: Any,
    contract: Mapping[str, Mapping[str, Any]],
    validate_serving_input: bool = True,
    **kwargs: Any,
) -> None:
    """``mlflow.sklearn.save_model`` in skops format plus the contract; pyfunc loads
    via this module.

    Used as the ``flavor`` of ``mlflow.models.Model.log``; ``contract`` maps each input
    column to its spec (:func:`churn_experiments.columns.contract`): ``role``,
    ``dtype`` (category, int or float), ``categories``, ``min``, ``max``,
    ``na_values`` and ``nullable`` (whether null is accepted).
    ``validate_serving_input`` is read by ``Model.log`` itself, not here.

    The pipeline is serialised once. Its types that skops does not trust by default
    are read from those very bytes and recorded as the flavor's
    ``skops_trusted_types``, which every load checks. MLflow's own save would
    serialise it again and load it back only to find the same list, so MLflow saves a
    small stand-in with the same settings (files, requirements, MLmodel) and the
    pipeline's bytes then take its place (~0.5 s less for a forest).
    """
    import mlflow
    import skops.io
    from sklearn.dummy import DummyClassifier

    from churn_experiments.model_code import copy_loader_code

    data = skops.io.dumps(sk_model)
    with tempfile.TemporaryDirectory() as code:
        mlflow.sklearn.save_model(
            DummyClassifier(),  # a stand-in with a predict method: see above
            path,
            mlflow_model=mlflow_model,
            code_paths=[str(copy_loader_code(Path(code)))],
            serialization_format="skops",
            skops_trusted_types=skops.io.get_untrusted_types(data=data) or None,
            **kwargs,
        )
    model_file = Path(path, mlflow_model.flavors["sklearn"]["pickled_model"])
    mlflow_model.model_size_bytes += len(data) - model_file.stat().st_size
    model_file.write_bytes(data)
    Path(path, CONTRACT_FILE).write_text(json.dumps(dict(contract), indent=2))
    mlflow_model.flavors["python_function"]["loader_module"] = __name__
    mlflow_model.save(str(Path(path, "MLmodel")))


def trusted_types(model_info: Any) -> list[str]:
    """The types beyond skops' defaults a model logged by :func:`save_model` trusts."""
    return model_info.flavors["sklearn"].get("skops_trusted_types") or []


class ContractModel:
    """The pipeline behind a check of each request against the data contract."""

    def __init__(self, pipeline: Any, contract: Mapping[str, Mapping[str, Any]]):
        self.pipeline = pipeline
        self.contract = contract

    def check(self, data: pd.DataFrame) -> ContractCheck:
        """Every cell of ``data`` against the contract (see :func:`check_frame`)."""
        return check_frame(data, self.contract)

    def predict(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """Predict the rows of ``data``; any row breaking the contract raises 400.

        The error names every bad column with all its bad values.
        """
        from mlflow.exceptions import MlflowException

        if len(data) == 0:
            raise MlflowException.invalid_parameter_value(NO_ROWS)
        checked = self.check(data)
        if not checked.ok:
            raise MlflowException.invalid_parameter_value(checked.message("request"))
        return self.pipeline.predict(checked.valid_rows())


def contract_model(model: Any) -> ContractModel | None:
    """The :class:`ContractModel` inside a loaded pyfunc model, or None.

    None for models logged without this flavor (a plain ``mlflow.sklearn`` model).
    """
    implementation = getattr(model, "_model_impl", model)  # PyFuncModel keeps it there
    return implementation if isinstance(implementation, ContractModel) else None


def read_contract(path: str) -> dict[str, Any] | None:
    """The data contract saved in the model directory ``path`` (None if it has none)."""
    file = Path(path, CONTRACT_FILE)
    return json.loads(file.read_text()) if file.exists() else None


def _load_pyfunc(path: str) -> ContractModel:
    """Called by ``mlflow.pyfunc.load_model`` with the model's directory."""
    import mlflow

    return ContractModel(mlflow.sklearn.load_model(path), read_contract(path))
