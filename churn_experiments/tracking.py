"""What talks to the MLflow tracking store: where, which experiment, the models."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

PARENT_RUN_ENV = "CHURN_PARENT_RUN_ID"
SWEEP_ID_ENV = "CHURN_SWEEP_ID"
EXPERIMENT_ID_ENV = "CHURN_EXPERIMENT_ID"
PROGRESS_BAR_ENV = (
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"  # MLflow reads it per download
)

# Packages a logged pipeline needs at load time; versions are read from this install.
MODEL_REQUIREMENTS = (
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "skops",
    "cloudpickle",
)


def configure(tracking: Mapping[str, Any]) -> str:
    """Point MLflow at the configured store (``MLFLOW_TRACKING_URI`` wins).

    A missing SQLite store is created; a server that does not answer fails here, in
    seconds, with one line (:func:`churn_experiments.store.prepare`).
    """
    from churn_experiments import store

    uri = tracking_uri(tracking)
    store.prepare(uri)
    import mlflow  # after the check: importing it takes seconds

    mlflow.set_tracking_uri(uri)
    return uri


def tracking_uri(tracking: Mapping[str, Any]) -> str:
    """The store's URI: ``MLFLOW_TRACKING_URI``, else the config's ``uri``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or tracking["uri"]


def check_server(tracking: Mapping[str, Any]) -> None:
    """Fail in seconds, with one line, when a tracking server or database is down.

    Run first: the rest of a config may depend on where the store is.
    """
    from churn_experiments import store

    store.check_reachable(tracking_uri(tracking))


def ensure_experiment(
    name: str, artifact_location: str | None, client: Any | None = None
) -> str:
    """Return the id of experiment ``name``, creating it with an explicit artifact root.

    ``artifact_location`` is a URI or a local folder (made absolute). An explicit local
    root avoids experiments without one (the notebook hit that with an experiment made
    in the UI). Safe when several processes race to create it.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    client = client or mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = artifact_location
    if location and not urlparse(location).scheme:
        location = Path(location).resolve().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


@contextlib.contextmanager
def quiet_known_warnings() -> Iterator[None]:
    """Hide two MLflow 3.17 warnings that say nothing about the user's data.

    Its registry lists the local-file dataset source twice ("can be interpreted in
    multiple ways: LocalArtifactDatasetSource, LocalArtifactDatasetSource"; a real
    ambiguity, between two different sources, still shows), and it hints about
    integer columns although our signature is declared, not inferred.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*interpreted in multiple ways: (\w+), \1\."
        )
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer")
        yield


@contextlib.contextmanager
def quiet_downloads() -> Iterator[None]:
    """No "Downloading artifacts" progress bars while we fetch artifacts the user did
    not ask for (the models a policy compares, a run's config): they would land in the
    middle of a decision table. ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``, when the
    user sets it, wins.
    """
    if PROGRESS_BAR_ENV in os.environ:
        yield
        return
    os.environ[PROGRESS_BAR_ENV] = "false"
    try:
        yield
    finally:
        os.environ.pop(PROGRESS_BAR_ENV, None)


def sweep_context() -> dict[str, str | None]:
    """The parent run, sweep and experiment ids the sweep callback put in os.environ."""
    return {
        "parent_run_id": os.environ.get(PARENT_RUN_ENV),
        "sweep_id": os.environ.get(SWEEP_ID_ENV),
        "experiment_id": os.environ.get(EXPERIMENT_ID_ENV),
    }


def model_requirements() -> list[str]:
    """Pinned pip requirements for a logged pipeline (inferring them costs ~8 s)."""
    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


def log_pipeline(
    pipeline: Any,
    signature: Any,
    input_example: Any,
    contract: Mapping[str, Mapping[str, Any]],
) -> str:
    """Log ``pipeline`` as the run's ``model`` with skops, trusting only its own types.

    The pipeline was trained in this process, so the types skops reports as untrusted
    (tree internals, say) are exactly what this object contains; they are recorded in
    the run's tag ``skops_trusted_types``, and checked on every load. Its pyfunc
    flavor checks rows against ``contract`` (the input columns' specs) first, and
    serialises the pipeline once: see :mod:`.model_flavor`. The input example is
    checked here, in memory, through that same contract and the pipeline; MLflow's own
    check would load the saved model back (a second skops load, ~1 s for a forest)
    only to log a warning if it failed.
    """
    import mlflow

    from churn_experiments import model_flavor

    model_flavor.ContractModel(pipeline, contract).predict(input_example)
    info = mlflow.models.Model.log(
        artifact_path=None,
        flavor=model_flavor,
        sk_model=pipeline,
        contract=contract,
        name="model",
        signature=signature,
        input_example=input_example,
        pip_requirements=model_requirements(),
        validate_serving_input=False,
    )
    trusted = model_flavor.trusted_types(info)
    mlflow.set_tag("skops_trusted_types", ",".join(trusted) or "none")
    return info.model_uri


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The checkout's HEAD commit, or ``None`` outside a git checkout."""
    return _head_commit(str(Path(cwd or os.getcwd()).resolve()))


@functools.cache
def _head_commit(folder: str) -> str | None:
    """Asked once per process and folder: the jobs of a sweep share the answer."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


SIGNATURE_TYPES = {"int": "long", "float": "double", "category": "string"}


def model_signature(dataset: Mapping[str, Any]) -> Any:
    """The MLflow signature from the declared columns: raw inputs in, a label out.

    A nullable column is optional (``required: false``); a nullable int is declared
    ``double``, the type a column with gaps has in pandas. The label's type is the
    target column's (``string`` for a text target such as Yes/No), ``boolean`` for a
    binarised target.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from churn_experiments.columns import contract, typed_specs

    inputs = [
        ColSpec(
            "double"
            if spec["nullable"] and spec["dtype"] == "int"
            else SIGNATURE_TYPES[spec["dtype"]],
            name,
            required=not spec["nullable"],
        )
        for name, spec in contract(dataset).items()
    ]
    (target,) = typed_specs(dataset, ("target",)).values()
    output = (
        "boolean"
        if dataset["target"].get("binarize")
        else SIGNATURE_TYPES[target["dtype"]]
    )
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec(output)]))


def dataset_record(frame: Any, dataset: Mapping[str, Any]) -> Any:
    """``frame`` as an MLflow dataset (name, source, digest, schema, targets)."""
    import mlflow

    from churn_experiments.data import dataset_source

    return mlflow.data.from_pandas(
        frame,
        source=dataset_source(dataset),
        targets=dataset["target"]["column"],
        name=dataset["name"],
    )


def log_sweep_dataset(run_id: str, dataset: Mapping[str, Any]) -> None:
    """Record the sweep's data on its parent run, before any job starts.

    Besides documenting the sweep, this writes the dataset's row in the store once:
    parallel jobs that log the same dataset then find it, instead of racing to insert
    it (a unique-key violation on a PostgreSQL tracking server).
    """
    import mlflow
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from churn_experiments.data import load_dataset

    with quiet_known_warnings():
        entity = dataset_record(load_dataset(dataset), dataset)._to_mlflow_entity()
    mlflow.MlflowClient().log_inputs(
        run_id,
        datasets=[DatasetInput(entity, [InputTag(MLFLOW_DATASET_CONTEXT, "sweep")])],
    )
