"""Azure ML target: a managed online endpoint serving the MLflow model (azure-ai-ml v2).

:func:`deploy`, :func:`invoke`, :func:`status` and :func:`delete` work on an MLClient
for the workspace the environment names (:data:`WORKSPACE_ENV`). azure is imported
inside functions, so the package works without the ``[azure]`` extra. Command:
``churn-deploy target=azureml action=deploy|status|delete``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.deploy.payloads import PayloadError, parse_predictions
from churn_experiments.errors import ChurnExperimentsError, ConfigError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
    )
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)
Config = Mapping[str, Any] | DictConfig  # a target config: plain dict or Hydra node

CONFIG_FILE = "conf/deploy/azureml.yaml"  # how messages name a config given as a dict
INSTALL_HINT = "pip install -e '.[azure]'"
# MLClient argument -> the environment variable holding it (never written in YAML)
WORKSPACE_ENV = {
    "subscription_id": "AZURE_SUBSCRIPTION_ID",
    "resource_group_name": "AZURE_RESOURCE_GROUP",
    "workspace_name": "AZUREML_WORKSPACE_NAME",
}
_SIZE = "`instance_type` (a VM size such as Standard_DS3_v2) and `instance_count`"
# keys from the SDK v1 / ACI world, or workspace coordinates -> what to use instead
REPLACED_KEYS = {
    "computeType": f"{_SIZE}: ACI and azureml-core (SDK v1) are retired, this target"
    " is a managed online endpoint",
    "containerResourceRequirements": _SIZE,
    "cpu_cores": _SIZE,
    "memory_gb": _SIZE,
    "authEnabled": "`auth_mode: key` (or aml_token, aad_token)",
    "tokenAuthEnabled": "`auth_mode: aml_token`",
    "service_name": "`endpoint_name`",
    "subscription_id": "the AZURE_SUBSCRIPTION_ID environment variable",
    "resource_group": "the AZURE_RESOURCE_GROUP environment variable",
    "workspace_name": "the AZUREML_WORKSPACE_NAME environment variable",
}


class DeployConfigError(ConfigError):
    """The target config is invalid: names the file, the key and the allowed values.

    ``problem`` is the message without the file in front (``source`` None: no file).
    """

    def __init__(self, problem: str, source: str | None = CONFIG_FILE) -> None:
        super().__init__(problem if source is None else f"{source}: {problem}")
        self.problem = problem


class MissingExtraError(ChurnExperimentsError, ImportError):
    """azure-ai-ml or azure-identity is not installed."""


class EndpointError(ChurnExperimentsError, RuntimeError):
    """Azure refused or failed a request to the endpoint (its message says why)."""


def validate_config(cfg: Config, source: str = CONFIG_FILE) -> dict[str, Any]:
    """Check ``cfg`` against v1 keys, the JSON Schema, then azure-ai-ml's own schemas.

    Returns the config as a plain dict; problems raise one :class:`DeployConfigError`
    that names ``source`` (the file read) and lists every problem found.
    """
    data = _as_dict(cfg)
    problems = config_problems(data)
    if len(problems) == 1:
        raise DeployConfigError(problems[0], source)
    if problems:
        raise DeployConfigError(
            f"{len(problems)} problems:\n"
            + "\n".join(f"  - {problem}" for problem in problems),
            source,
        )
    return data


def config_problems(data: Mapping[str, Any]) -> list[str]:
    """Every problem of a target config, one line each (empty: valid)."""
    problems = [
        f"key '{key}' is not supported here; use {instead}"
        for key, instead in REPLACED_KEYS.items()
        if key in data
    ]
    if data.get("kind") != "azureml":
        return [
            *problems,
            f"key 'kind' = {data.get('kind')!r}; this target needs kind: azureml",
        ]
    schema = _schema_problems({k: v for k, v in data.items() if k not in REPLACED_KEYS})
    if schema or problems:
        return problems + schema  # the checks below need well-typed values
    total = sum(data["traffic"].values())
    if total != 100:
        problems.append(
            f"key 'traffic' adds up to {total}; allowed: {_allowed('traffic')}"
        )
    for build in (build_endpoint, build_deployment):
        try:
            build(data)
        except DeployConfigError as err:
            problems.append(err.problem)
    return problems


def build_endpoint(cfg: Config) -> ManagedOnlineEndpoint:
    """The endpoint entity (no traffic yet), validated by azure-ai-ml's schema."""
    data = _as_dict(cfg)
    spec = {
        "name": data.get("endpoint_name"),
        "auth_mode": data.get("auth_mode"),
        "description": "Churn classifier (MLflow model), deployed by churn-experiments",
    }
    ml = _require("azure.ai.ml")
    return _load(ml.load_online_endpoint, spec, {"name": "endpoint_name"})


def build_deployment(cfg: Config, model: str | None = None) -> ManagedOnlineDeployment:
    """The deployment entity for ``model`` (``azureml:name:version``), SDK-validated.

    An MLflow model needs no scoring script and no environment.
    """
    data = _as_dict(cfg)
    spec = {
        "name": data.get("deployment_name"),
        "endpoint_name": data.get("endpoint_name"),
        "instance_type": data.get("instance_type"),
        "instance_count": data.get("instance_count"),
    }
    if model is not None:
        spec["model"] = model
    ml = _require("azure.ai.ml")
    return _load(ml.load_online_deployment, spec, {"name": "deployment_name"})


def build_client(credential: TokenCredential | None = None, **kwargs: Any) -> MLClient:
    """An MLClient for the workspace named by :data:`WORKSPACE_ENV`.

    ``credential`` defaults to ``DefaultAzureCredential()``; ``kwargs`` go to MLClient
    (for instance ``transport``).
    """
    missing = [name for name in WORKSPACE_ENV.values() if not os.environ.get(name)]
    if missing:
        raise DeployConfigError(
            f"set {', '.join(missing)}: the workspace comes from the environment,"
            " never from the target's YAML",
            source=None,
        )
    ml = _require("azure.ai.ml")
    if credential is None:
        credential = _require("azure.identity").DefaultAzureCredential()
    scope = {arg: os.environ[name] for arg, name in WORKSPACE_ENV.items()}
    return ml.MLClient(credential, **scope, **kwargs)


def download_model(model_uri: str, dst: Path) -> Path:
    """Download an MLflow model (``models:/name@alias``, ``runs:/...``, a path)."""
    import mlflow

    path = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=str(dst)))
    if not (path / "MLmodel").is_file():
        raise DeployConfigError(
            f"key 'model_uri' = {model_uri!r} is not an MLflow model"
            f" (no MLmodel file in {path})"
        )
    return path


def register_model(client: MLClient, cfg: Config, model_dir: Path) -> Model:
    """Upload ``model_dir`` as a new version of the workspace's MLflow model asset."""
    data = _as_dict(cfg)
    entities = _require("azure.ai.ml.entities")
    constants = _require("azure.ai.ml.constants")
    model = entities.Model(
        name=data["model_name"],
        path=str(model_dir),
        type=constants.AssetTypes.MLFLOW_MODEL,
        description=f"MLflow model {data['model_uri']}",
        tags={"mlflow_model_uri": data["model_uri"]},
    )
    registered = client.models.create_or_update(model)
    log.info("registered model %s version %s", registered.name, registered.version)
    return registered


def deploy(cfg: Config, *, client: MLClient | None = None) -> dict[str, Any]:
    """Register the model, create or update endpoint and deployment, set traffic.

    Each step waits for Azure to finish. Returns :func:`status` afterwards.
    """
    data = validate_config(cfg)
    client = client or build_client()
    not_found = _require("azure.core.exceptions").ResourceNotFoundError
    with tempfile.TemporaryDirectory(prefix="churn-azureml-") as tmp:
        model_dir = download_model(data["model_uri"], Path(tmp) / "model")
        model = register_model(client, data, model_dir)
    endpoint = build_endpoint(data)
    try:  # an existing endpoint keeps its traffic until the new deployment is up
        endpoint.traffic = dict(client.online_endpoints.get(endpoint.name).traffic)
    except not_found:
        log.info("creating endpoint %s", endpoint.name)
    client.online_endpoints.begin_create_or_update(endpoint).result()
    deployment = build_deployment(data, model=f"azureml:{model.name}:{model.version}")
    log.info("creating or updating deployment %s", deployment.name)
    client.online_deployments.begin_create_or_update(deployment).result()
    endpoint = client.online_endpoints.get(endpoint.name)
    endpoint.traffic = dict(data["traffic"])
    log.info("setting traffic of %s to %s", endpoint.name, endpoint.traffic)
    client.online_endpoints.begin_create_or_update(endpoint).result()
    return status(data, client=client)


def invoke(
    cfg: Config,
    body: Mapping[str, Any],
    *,
    deployment_name: str | None = None,
    client: MLClient | None = None,
) -> list[Any]:
    """Send an ``input_data`` body to the endpoint; return the predictions.

    The SDK finds the scoring URI and the key or token that ``auth_mode`` calls for.
    ``deployment_name`` bypasses the traffic split (``azureml-model-deployment``).
    """
    if "input_data" not in body or set(body) - {"input_data", "params"}:
        raise PayloadError(
            "an Azure ML endpoint serving an MLflow model takes"
            f" {{'input_data': ...}} (and optional 'params'), got keys {sorted(body)};"
            " build it with churn_experiments.deploy.payloads.input_data(rows)"
        )
    data = validate_config(cfg)
    client = client or build_client()
    with tempfile.TemporaryDirectory(prefix="churn-azureml-") as tmp:
        request_file = Path(tmp) / "request.json"
        request_file.write_text(json.dumps(body), encoding="utf-8")
        try:
            with _isolated_invoke_headers():
                answer = client.online_endpoints.invoke(
                    endpoint_name=data["endpoint_name"],
                    request_file=str(request_file),
                    deployment_name=deployment_name,
                )
        except _require("azure.core.exceptions").AzureError as err:
            raise EndpointError(
                f"endpoint {data['endpoint_name']!r}: {err.message}"
            ) from err
    return parse_predictions(answer)


def status(cfg: Config, *, client: MLClient | None = None) -> dict[str, Any]:
    """The endpoint's state, scoring URI and traffic, and each deployment's state."""
    data = validate_config(cfg)
    client = client or build_client()
    name = data["endpoint_name"]
    try:
        endpoint = client.online_endpoints.get(name)
    except _require("azure.core.exceptions").ResourceNotFoundError:
        return {"endpoint": name, "exists": False}
    deployments = client.online_deployments.list(endpoint_name=name)
    return {
        "endpoint": name,
        "exists": True,
        "provisioning_state": endpoint.provisioning_state,
        "auth_mode": endpoint.auth_mode,
        "scoring_uri": endpoint.scoring_uri,
        "traffic": dict(endpoint.traffic),
        "deployments": {
            d.name: {
                "provisioning_state": d.provisioning_state,
                "model": d.model,
                "instance_type": d.instance_type,
                "instance_count": d.instance_count,
            }
            for d in deployments
        },
    }


def delete(cfg: Config, *, client: MLClient | None = None) -> bool:
    """Delete the endpoint with all its deployments; False when it did not exist."""
    data = validate_config(cfg)
    client = client or build_client()
    name = data["endpoint_name"]
    try:
        client.online_endpoints.begin_delete(name=name).result()
    except _require("azure.core.exceptions").ResourceNotFoundError:
        log.info("endpoint %s does not exist: nothing to delete", name)
        return False
    log.info("deleted endpoint %s and its deployments", name)
    return True


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            f"the Azure ML target needs the [azure] extra ({err.name} is missing):"
            f" {INSTALL_HINT}"
        ) from err


def _as_dict(cfg: Config) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        from churn_experiments.naming import register_resolver

        register_resolver()
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def _schema_problems(data: dict[str, Any]) -> list[str]:
    """Every JSON Schema error of ``data``, described in words, in key order."""
    import jsonschema

    from churn_experiments.validation import describe, load_schema

    validator = jsonschema.Draft202012Validator(load_schema("deploy"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [describe(error, "deploy") for error in errors]


def _allowed(key: str) -> str:
    """The schema's description of what ``key`` may hold."""
    from churn_experiments.validation import load_schema

    schema = load_schema("deploy")
    prop = schema["$defs"]["azureml"]["properties"].get(key, {})
    if "$ref" in prop:
        prop = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
    return prop.get("description", "see churn_experiments/schemas/deploy.schema.json")


def _load(
    loader: Callable[..., Any], spec: dict[str, Any], renames: dict[str, str]
) -> Any:
    """Build an entity with azure-ai-ml's ``load_*``, its schema errors made short."""
    import yaml
    from marshmallow import ValidationError

    try:
        return loader(source=io.StringIO(yaml.safe_dump(spec)))
    except ValidationError as err:
        field, problem = _first_problem(err)
        key = renames.get(field, field)
        value = spec.get(field)
        raise DeployConfigError(
            f"key '{key}' = {value!r}: {problem} (azure-ai-ml);"
            f" allowed: {_allowed(key)}"
        ) from None


def _first_problem(err: Exception) -> tuple[str, str]:
    """The first (field, message) of an azure-ai-ml schema error.

    azure-ai-ml re-raises marshmallow's errors as one long text holding a JSON object
    of field -> messages, followed by links; this digs the first field out of it.
    """
    messages: Any = getattr(err, "messages", None)
    if isinstance(messages, list) and messages and isinstance(messages[0], str):
        text = messages[0]
        with contextlib.suppress(ValueError):
            messages = json.JSONDecoder().raw_decode(text[text.index("{") :])[0]
    if isinstance(messages, dict) and messages:
        field, problems = next(iter(messages.items()))
        problem = problems[0] if isinstance(problems, list) and problems else problems
        return str(field), str(problem)
    return "config", str(err).splitlines()[0]


@contextlib.contextmanager
def _isolated_invoke_headers() -> Iterator[None]:
    """Undo azure-ai-ml's header leak around one ``online_endpoints.invoke``.

    azure-ai-ml 1.35 writes the key and ``azureml-model-deployment`` into a class-level
    dict that every later invoke in the process starts from.
    """
    fields = _require("azure.ai.ml.constants._endpoint").EndpointInvokeFields
    saved = dict(fields.DEFAULT_HEADER)
    try:
        yield
    finally:
        fields.DEFAULT_HEADER.clear()
        fields.DEFAULT_HEADER.update(saved)
