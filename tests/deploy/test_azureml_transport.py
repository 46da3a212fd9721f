"""The real azure-ai-ml MLClient against a fake Azure behind a stub HTTP transport.

Only the socket layer is replaced: a requests adapter answers every request from an
in-memory workspace, so azure-core's RequestsTransport, the SDK's ARM and blob
storage clients, its polling and its invoke code all run as they would against Azure.
The tests assert what the SDK sends: methods, paths, bodies and auth headers.
"""

from __future__ import annotations

import functools
import io
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

pytest.importorskip("azure.core", reason="needs the [azure] extra")
pytestmark = [
    pytest.mark.azure,
    pytest.mark.filterwarnings(
        "ignore:The `context` parameter is deprecated:DeprecationWarning"
    ),
]

import requests  # noqa: E402
from azure.core.credentials import AccessToken  # noqa: E402
from azure.core.pipeline.transport import RequestsTransport  # noqa: E402
from requests.adapters import BaseAdapter  # noqa: E402
from requests.structures import CaseInsensitiveDict  # noqa: E402
from support import MODEL, RAW_ROWS  # noqa: E402

from churn_experiments.deploy import azureml  # noqa: E402
from churn_experiments.deploy.client import predict  # noqa: E402

SUB = "00000000-0000-0000-0000-000000000000"
WS = (
    f"/subscriptions/{SUB}/resourceGroups/churn-rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/churn-ws"
)
ARM = "management.azure.com"
STORE = "fakestore.blob.core.windows.net"
SCORING_URI = "https://churn-endpoint.westeurope.inference.ml.azure.com/score"
ARM_TOKEN = "fake-arm-token"
ROWS = RAW_ROWS


class FakeCredential:
    """A TokenCredential that hands out a fixed token and never calls Azure AD."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(ARM_TOKEN, int(time.time()) + 3600)


@dataclass
class Call:
    """One HTTP request as it left azure-core."""

    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def route(self) -> tuple[str, str]:
        """(method, path below the workspace) for ARM calls."""
        return self.method, self.path.removeprefix(WS)


class FakeAzure(BaseAdapter):
    """An in-memory workspace: endpoints, deployments, models, blobs; logs requests."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.endpoints: dict[str, dict] = {}
        self.deployments: dict[str, dict[str, dict]] = {}
        self.scoring_answer: tuple[int, Any] = (200, None)  # None: one 0/1 per row
        self._lock = threading.Lock()  # blob uploads run on worker threads

    def send(self, request, **kwargs: Any) -> requests.Response:  # noqa: ANN001
        url = urlparse(request.url)
        body = request.body.read() if hasattr(request.body, "read") else request.body
        body = body.encode() if isinstance(body, str) else body or b""
        call = Call(
            request.method,
            url.netloc,
            url.path,
            parse_qs(url.query),
            CaseInsensitiveDict(request.headers),
            body,
        )
        with self._lock:
            self.calls.append(call)
            status, payload, headers = self._answer(call)
        return _response(request, status, payload, headers)

    def close(self) -> None:
        pass

    def arm(self) -> list[tuple[str, str]]:
        return [c.route for c in self.calls if c.host == ARM]

    def puts(self, suffix: str) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT" and c.path.endswith(suffix)]

    def add_endpoint(self, name: str, auth_mode: str, traffic: dict[str, int]) -> None:
        self.endpoints[name] = _endpoint(name, {"authMode": auth_mode}, traffic)
        self.deployments[name] = {
            d: _deployment(name, d, {"model": f"{WS}/models/m/versions/1"})
            for d in traffic
        }

    def _answer(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        if call.host == STORE:
            return self._blob(call)
        if call.host == urlparse(SCORING_URI).netloc:
            status, answer = self.scoring_answer
            if answer is None:
                answer = [i % 2 for i in range(len(call.json["input_data"]["data"]))]
            return status, answer, {}
        method, path = call.route
        if path == "" and method == "GET":
            return 200, {"id": WS, "name": "churn-ws", "location": "westeurope"}, {}
        if m := re.fullmatch(r"/datastores/(\w+)", path):
            return 200, _datastore(m[1]), {}
        if path.endswith("/listSecrets"):
            return 200, {"secretsType": "Sas", "sasToken": "sv=2024-01-01&sig=fake"}, {}
        if m := re.fullmatch(r"/models/([\w.-]+)/versions", path):
            return 200, {"value": []}, {}
        if re.fullmatch(r"/models/[\w.-]+", path):
            return _not_found()
        if m := re.fullmatch(r"/models/([\w.-]+)/versions/(\w+)", path):
            model = call.json
            model["properties"]["flavors"] = {"python_function": {"data": {}}}
            return 201, {**model, "id": WS + path, "name": m[2]}, {}
        if path.startswith("/operations/"):  # an LRO's status
            return 200, {"status": "Succeeded"}, {}
        if m := re.fullmatch(r"/onlineEndpoints/([\w-]+)(/.*)?", path):
            return self._endpoint_call(method, m[1], m[2] or "", call)
        return _not_found()

    def _endpoint_call(
        self, method: str, name: str, rest: str, call: Call
    ) -> tuple[int, Any, dict[str, str]]:
        if name not in self.endpoints and not (method == "PUT" and rest == ""):
            return _not_found()
        if rest == "" and method == "GET":
            return 200, self.endpoints[name], {}
        if rest == "" and method == "PUT":
            props = call.json["properties"]
            self.endpoints[name] = _endpoint(name, props, props.get("traffic") or {})
            self.deployments.setdefault(name, {})
            return 200, self.endpoints[name], {}
        if rest == "" and method == "DELETE":
            del self.endpoints[name]
            status_url = f"https://{ARM}{WS}/operations/delete-{name}?api-version=x"
            return 202, None, {"Azure-AsyncOperation": status_url, "Retry-After": "0"}
        if rest == "/deployments" and method == "GET":
            return 200, {"value": list(self.deployments[name].values())}, {}
        if m := re.fullmatch(r"/deployments/([\w-]+)", rest):
            if method == "PUT":
                body = call.json
                deployment = _deployment(name, m[1], body["properties"], body["sku"])
                self.deployments[name][m[1]] = deployment
            return 200, self.deployments[name][m[1]], {}
        if rest == "/listKeys":
            return 200, {"primaryKey": "fake-primary-key", "secondaryKey": "k2"}, {}
        if rest == "/token":
            return 200, {"accessToken": "fake-aml-token", "expiryTimeUtc": 2e9}, {}
        return _not_found()

    def _blob(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        if call.method == "HEAD":  # "is this asset already uploaded?"
            return 404, b"", {"x-ms-error-code": "BlobNotFound"}
        if call.query.get("comp") == ["metadata"]:
            return 200, b"", {}
        return 201, b"", {}


def _response(
    request: requests.PreparedRequest, status: int, payload: Any, headers: dict
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    content = payload if isinstance(payload, bytes) else b""
    response.headers = CaseInsensitiveDict(headers)
    if payload is not None and not isinstance(payload, bytes):
        content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
    response._content = content
    response._content_consumed = True
    response.raw = io.BytesIO(content)
    response.url, response.request = request.url, request
    response.reason, response.encoding = "OK" if status < 400 else "Error", "utf-8"
    return response


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return 404, {"error": {"code": "ResourceNotFound", "message": "not found"}}, {}


def _endpoint(name: str, props: dict, traffic: dict) -> dict:
    return {
        "id": f"{WS}/onlineEndpoints/{name}",
        "name": name,
        "location": "westeurope",
        "kind": "Managed",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "authMode": props["authMode"],
            "traffic": traffic,
            "scoringUri": SCORING_URI,
            "provisioningState": "Succeeded",
        },
    }


def _deployment(endpoint: str, name: str, props: dict, sku: dict | None = None) -> dict:
    return {
        "id": f"{WS}/onlineEndpoints/{endpoint}/deployments/{name}",
        "name": name,
        "location": "westeurope",
        "kind": "Managed",
        "sku": sku or {"name": "Default", "capacity": 1},
        "properties": {
            "endpointComputeType": "Managed",
            "instanceType": props.get("instanceType", "Standard_DS3_v2"),
            "model": props["model"],
            "scaleSettings": {"scaleType": "Default"},
            "provisioningState": "Succeeded",
        },
    }


def _datastore(name: str) -> dict:
    return {
        "id": f"{WS}/datastores/{name}",
        "name": name,
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": "fakestore",
            "containerName": "azureml-blobstore",
            "endpoint": "core.windows.net",
            "protocol": "https",
            "isDefault": True,
            "credentials": {"credentialsType": "AccountKey"},
        },
    }


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any socket connection that is not to 127.0.0.1 / ::1."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAzure:
    for name, value in zip(
        azureml.WORKSPACE_ENV.values(), (SUB, "churn-rg", "churn-ws"), strict=True
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZUREML_CURRENT_CLOUD", raising=False)
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)
    return FakeAzure()


@pytest.fixture
def client(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The real MLClient on the stub transport (blob uploads included)."""
    from azure.ai.ml._artifacts import _blob_storage_helper
    from azure.storage.blob import BlobServiceClient

    session = requests.Session()
    session.mount("https://", fake)
    transport = RequestsTransport(session=session, session_owner=False)
    # the SDK builds its blob client without our kwargs: hand it the same transport
    monkeypatch.setattr(
        _blob_storage_helper,
        "BlobServiceClient",
        functools.partial(BlobServiceClient, transport=transport),
    )
    return azureml.build_client(
        credential=FakeCredential(), transport=transport, show_progress=False
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MLflow model directory (what ``models:/...@champion`` downloads to)."""
    import mlflow.sklearn
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), list(ROWS.columns[1:])),
        remainder="passthrough",
    )
    model = make_pipeline(encode, LogisticRegression()).fit(ROWS, [0, 1])
    path = tmp_path_factory.mktemp("mlflow") / "model"
    mlflow.sklearn.save_model(
        model,
        path,
        serialization_format="cloudpickle",
        pip_requirements=["scikit-learn"],
    )
    return path


def target(model_dir: Path | str = "models:/m@champion", **changes: Any) -> dict:
    cfg = {
        "kind": "azureml",
        "model_uri": str(model_dir),
        "model_name": MODEL,
        "endpoint_name": "churn-endpoint",
        "auth_mode": "key",
        "deployment_name": "blue",
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "traffic": {"blue": 100},
    }
    return {**cfg, **changes}


def test_deploy_registers_the_model_then_endpoint_deployment_and_traffic(
    fake: FakeAzure, client: Any, model_dir: Path
) -> None:
    result = azureml.deploy(target(model_dir), client=client)

    model_path = f"/models/{MODEL}"
    endpoint = "/onlineEndpoints/churn-endpoint"
    assert fake.arm() == [
        # register: next version number, asset checks, upload to the default datastore
        ("GET", f"{model_path}/versions"),
        ("GET", model_path),
        ("GET", "/datastores/workspaceblobstore"),
        ("POST", "/datastores/workspaceblobstore/listSecrets"),
        ("PUT", f"{model_path}/versions/1"),
        # the endpoint does not exist yet: create it (the SDK asks the region first)
        ("GET", endpoint),
        ("GET", ""),
        ("PUT", endpoint),
        # the deployment (the SDK checks the endpoint exists)
        ("GET", endpoint),
        ("GET", ""),
        ("PUT", f"{endpoint}/deployments/blue"),
        # traffic: read the endpoint, write it back with the split
        ("GET", endpoint),
        ("GET", f"{endpoint}/deployments"),
        ("GET", ""),
        ("PUT", endpoint),
        # status
        ("GET", endpoint),
        ("GET", f"{endpoint}/deployments"),
        ("GET", f"{endpoint}/deployments"),
    ]
    arm_calls = [c for c in fake.calls if c.host == ARM]
    assert {c.headers["Authorization"] for c in arm_calls} == {f"Bearer {ARM_TOKEN}"}

    blob_calls = [c for c in fake.calls if c.host == STORE]
    assert {"MLmodel", "model.pkl", "requirements.txt"} <= {
        c.path.rsplit("/", 1)[-1] for c in blob_calls if c.method == "PUT"
    }
    assert all(c.query["sig"] == ["fake"] for c in blob_calls)  # the listSecrets SAS
    registered = fake.puts(f"{model_path}/versions/1")[0].json["properties"]
    assert registered["modelType"] == "mlflow_model"
    assert re.search(
        r"/datastores/workspaceblobstore/paths/LocalUpload/\w+/model$",
        registered["modelUri"],
    )

    create, set_traffic = (c.json for c in fake.puts(endpoint))
    assert create["properties"]["authMode"] == "Key"
    assert not create["properties"].get("traffic")
    assert set_traffic["properties"]["traffic"] == {"blue": 100}

    deployment = fake.puts("/deployments/blue")[0].json
    assert deployment["properties"]["model"] == f"{WS}{model_path}/versions/1"
    assert deployment["properties"]["instanceType"] == "Standard_DS3_v2"
    assert deployment["properties"]["endpointComputeType"] == "Managed"
    assert deployment["sku"]["capacity"] == 1
    assert "codeConfiguration" not in deployment["properties"]  # MLflow: no script
    assert "environmentId" not in deployment["properties"]

    assert result["scoring_uri"] == SCORING_URI
    assert result["traffic"] == {"blue": 100}
    assert result["deployments"]["blue"]["provisioning_state"] == "Succeeded"


def test_redeploy_keeps_the_live_traffic_until_the_new_deployment_is_up(
    fake: FakeAzure, client: Any, model_dir: Path
) -> None:
    fake.add_endpoint("churn-endpoint", "Key", {"blue": 100})
    cfg = target(model_dir, deployment_name="green", traffic={"blue": 90, "green": 10})

    azureml.deploy(cfg, client=client)

    endpoint_puts = [c.json["properties"] for c in fake.puts("/churn-endpoint")]
    assert [p["traffic"] for p in endpoint_puts] == [
        {"blue": 100},
        {"blue": 90, "green": 10},
    ]
    assert len(fake.puts("/deployments/green")) == 1
    assert not fake.puts("/deployments/blue")


@pytest.mark.parametrize(
    ("auth_mode", "secret_route", "bearer"),
    [
        ("Key", "/listKeys", "fake-primary-key"),
        ("AMLToken", "/token", "fake-aml-token"),
    ],
)
def test_invoke_posts_input_data_to_the_scoring_uri(
    fake: FakeAzure, client: Any, auth_mode: str, secret_route: str, bearer: str
) -> None:
    fake.add_endpoint("churn-endpoint", auth_mode, {"blue": 100})
    body = {"input_data": json.loads(ROWS.to_json(orient="split"))}

    predictions = azureml.invoke(target(), body, deployment_name="blue", client=client)

    endpoint = "/onlineEndpoints/churn-endpoint"
    assert fake.arm() == [
        ("GET", f"{endpoint}/deployments"),  # the SDK checks the deployment exists
        ("GET", endpoint),  # scoring URI and auth mode
        ("POST", endpoint + secret_route),
    ]
    score = fake.calls[-1]
    assert (score.method, f"https://{score.host}{score.path}") == ("POST", SCORING_URI)
    assert score.headers["Authorization"] == f"Bearer {bearer}"
    assert score.headers["azureml-model-deployment"] == "blue"
    assert score.headers["Content-Type"] == "application/json"
    assert score.json == body
    assert predictions == [0, 1]


def test_invoke_without_a_deployment_follows_the_traffic_split(
    fake: FakeAzure, client: Any
) -> None:
    """azure-ai-ml reuses a class-level header dict; our invoke restores it."""
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    fake.add_endpoint("churn-endpoint", "Key", {"blue": 100})
    body = {"input_data": json.loads(ROWS.to_json(orient="split"))}
    azureml.invoke(target(), body, deployment_name="blue", client=client)

    azureml.invoke(target(), body, client=client)

    assert "azureml-model-deployment" not in fake.calls[-1].headers
    assert EndpointInvokeFields.DEFAULT_HEADER == {"Content-Type": "application/json"}


def test_predict_client_sends_rows_as_input_data(fake: FakeAzure, client: Any) -> None:
    fake.add_endpoint("churn-endpoint", "Key", {"blue": 100})

    assert predict(ROWS, target(), client=client) == [0, 1]

    sent = fake.calls[-1].json
    assert list(sent) == ["input_data"]
    assert sent["input_data"]["columns"] == list(ROWS.columns)
    assert sent["input_data"]["data"][0] == [34, "No", "Middle Income", 6, "No", "Yes"]


def test_invoke_reports_the_endpoint_error(fake: FakeAzure, client: Any) -> None:
    fake.add_endpoint("churn-endpoint", "Key", {"blue": 100})
    fake.scoring_answer = (400, {"message": "Missing column: Age"})
    body = {"input_data": json.loads(ROWS.to_json(orient="split"))}

    with pytest.raises(azureml.EndpointError, match="churn-endpoint"):
        azureml.invoke(target(), body, client=client)


def test_invoke_refuses_mlflow_server_bodies(client: Any) -> None:
    body = {"dataframe_split": json.loads(ROWS.to_json(orient="split"))}
    with pytest.raises(ValueError, match="input_data"):
        azureml.invoke(target(), body, client=client)


def test_status_of_a_missing_endpoint(fake: FakeAzure, client: Any) -> None:
    assert azureml.status(target(), client=client) == {
        "endpoint": "churn-endpoint",
        "exists": False,
    }


def test_delete_waits_for_azure_and_is_idempotent(fake: FakeAzure, client: Any) -> None:
    fake.add_endpoint("churn-endpoint", "Key", {"blue": 100})

    assert azureml.delete(target(), client=client) is True
    assert azureml.delete(target(), client=client) is False

    endpoint = "/onlineEndpoints/churn-endpoint"
    assert fake.arm() == [
        ("DELETE", endpoint),
        ("GET", "/operations/delete-churn-endpoint"),  # the LRO poll
        ("DELETE", endpoint),
    ]
    assert all(c.headers["Authorization"] == f"Bearer {ARM_TOKEN}" for c in fake.calls)
