"""conf/deploy/azureml.yaml -> azure-ai-ml's own entity objects, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from omegaconf import OmegaConf
from support import MODEL, run_in_process

from churn_experiments.deploy import azureml, load_target
from churn_experiments.errors import ConfigError
from churn_experiments.validation import load_schema

pytestmark = [
    pytest.mark.azure,
    pytest.mark.filterwarnings(
        "ignore:The `context` parameter is deprecated:DeprecationWarning"
    ),
]

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture
def cfg() -> dict[str, Any]:
    """The shipped conf/deploy/azureml.yaml, resolved as the CLI does."""
    return load_target("azureml")


def test_the_shipped_config_becomes_sdk_entities(cfg: dict[str, Any]) -> None:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

    assert azureml.validate_config(cfg) == cfg
    endpoint = azureml.build_endpoint(cfg)
    deployment = azureml.build_deployment(cfg, model=f"azureml:{MODEL}:3")

    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert (endpoint.name, endpoint.auth_mode) == ("churn-endpoint", "key")
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert deployment.name == "blue"
    assert deployment.endpoint_name == "churn-endpoint"
    assert (deployment.instance_type, deployment.instance_count) == (
        "Standard_DS3_v2",
        1,
    )
    assert deployment.model == f"{MODEL}:3"
    assert deployment.code_configuration is None  # MLflow: no scoring script
    assert deployment.environment is None


@pytest.mark.parametrize(
    ("change", "key", "allowed"),
    [
        ({"auth_mode": "token"}, "auth_mode", "'key', 'aml_token', 'aad_token'"),
        ({"instance_count": "two"}, "instance_count", "an integer >= 1"),
        ({"instance_count": 1.5}, "instance_count", "an integer >= 1"),
        ({"instance_count": 0}, "instance_count", "an integer >= 1"),
        ({"endpoint_name": "1-churn"}, "endpoint_name", "a letter first"),
        ({"endpoint_name": "ch"}, "endpoint_name", "3-32 characters"),
        ({"endpoint_name": "c" * 33}, "endpoint_name", "3-32 characters"),
        ({"endpoint_name": "churn_ep"}, "endpoint_name", "letters, digits and hy"),
        ({"deployment_name": "blue-"}, "deployment_name", "not a hyphen last"),
        ({"instance_type": 2}, "instance_type", "Standard_DS3_v2"),
        ({"traffic": {"blue": 101}}, "traffic.blue", "from 0 to 100"),
        ({"traffic": {"blue": 60}}, "traffic", "add up to 100"),
        ({"replicas": 2}, "replicas", "allowed keys: auth_mode, deployment_name"),
    ],
)
def test_a_bad_value_names_file_key_and_allowed_values(
    cfg: dict[str, Any], change: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(azureml.DeployConfigError) as caught:
        azureml.validate_config({**cfg, **change})

    message = str(caught.value)
    assert message.startswith("conf/deploy/azureml.yaml: ")
    assert key in message
    assert allowed in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("build", "change", "key", "problem"),
    [
        (azureml.build_endpoint, {"auth_mode": "token"}, "auth_mode", "not in set"),
        (azureml.build_endpoint, {"endpoint_name": "1-churn"}, "endpoint_name", "patt"),
        (azureml.build_deployment, {"instance_count": "two"}, "instance_count", "int"),
    ],
)
def test_the_sdk_validates_too_and_its_error_is_one_line(
    cfg: dict[str, Any], build: Any, change: dict[str, Any], key: str, problem: str
) -> None:
    """Past our schema, azure-ai-ml's marshmallow schema still guards each entity."""
    with pytest.raises(azureml.DeployConfigError) as caught:
        build({**cfg, **change})

    message = str(caught.value)
    assert message.startswith(f"conf/deploy/azureml.yaml: key '{key}' = ")
    assert problem in message and "(azure-ai-ml)" in message and "allowed: " in message
    assert "\n" not in message and "aka.ms" not in message
    assert caught.value.__suppress_context__  # no SDK traceback chained to it


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("computeType", "`instance_type`"),
        ("cpu_cores", "`instance_type`"),
        ("authEnabled", "`auth_mode: key`"),
        ("tokenAuthEnabled", "`auth_mode: aml_token`"),
        ("service_name", "`endpoint_name`"),
        ("subscription_id", "AZURE_SUBSCRIPTION_ID environment variable"),
        ("workspace_name", "AZUREML_WORKSPACE_NAME environment variable"),
    ],
)
def test_v1_and_workspace_keys_say_what_to_use_instead(
    cfg: dict[str, Any], key: str, instead: str
) -> None:
    with pytest.raises(azureml.DeployConfigError, match=f"key '{key}'") as caught:
        azureml.validate_config({**cfg, key: "ACI"})
    assert instead in str(caught.value)


def test_compute_type_says_aci_is_retired(cfg: dict[str, Any]) -> None:
    with pytest.raises(azureml.DeployConfigError, match="ACI and azureml-core"):
        azureml.validate_config({**cfg, "computeType": "ACI"})


def test_another_kind_is_refused(cfg: dict[str, Any]) -> None:
    with pytest.raises(azureml.DeployConfigError, match="needs kind: azureml"):
        azureml.validate_config({**cfg, "kind": "local"})


def test_the_workspace_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in azureml.WORKSPACE_ENV.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")

    with pytest.raises(azureml.DeployConfigError) as caught:
        azureml.build_client()
    assert "AZURE_RESOURCE_GROUP, AZUREML_WORKSPACE_NAME" in str(caught.value)

    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "churn-rg")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "churn-ws")
    made = []
    monkeypatch.setattr(
        "azure.identity.DefaultAzureCredential", lambda: made.append(1) or object()
    )
    client = azureml.build_client()
    assert made == [1]  # the default credential, asked nothing until a request
    assert (client.resource_group_name, client.workspace_name) == (
        "churn-rg",
        "churn-ws",
    )


def test_a_missing_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "azure.ai.ml", None)  # import now fails

    with pytest.raises(ImportError, match=r"pip install -e '\.\[azure\]'"):
        azureml.build_endpoint({"endpoint_name": "churn-endpoint", "auth_mode": "key"})


def test_importing_the_module_does_not_import_azure() -> None:
    code = (
        "import sys, churn_experiments.deploy.azureml, churn_experiments.deploy.client;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("doc", "valid"),
    [
        (
            {
                "kind": "docker",
                "model_uri": "models:/m@champion",
                "output_dir": "build",
                "build": False,
                "image_name": "churn-model:1",
            },
            True,
        ),
        (
            {
                "kind": "docker",
                "model_uri": "models:/m@champion",
                "output_dir": "build",
                "build": "no",
                "image_name": "churn-model",
            },
            False,
        ),
        (
            {
                "kind": "docker",
                "model_uri": "models:/m@champion",
                "output_dir": "build",
                "build": False,
                "image_name": "Churn Model",
            },
            False,
        ),
        (
            {
                "kind": "local",
                "model_uri": "models:/m@champion",
                "host": "127.0.0.1",
                "port": 70000,
                "workers": 1,
                "startup_timeout": 60,
            },
            False,
        ),
        ({"kind": "kubernetes"}, False),
        ({"model_uri": "models:/m@champion"}, False),
    ],
)
def test_the_deploy_schema_checks_every_kind(doc: dict[str, Any], valid: bool) -> None:
    validator = jsonschema.Draft202012Validator(load_schema("deploy"))
    assert validator.is_valid(doc) is valid


@pytest.mark.parametrize(
    "path", sorted((CONF / "deploy").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_shipped_target_matches_the_schema(path: Path) -> None:
    doc = load_target(path.stem)
    jsonschema.Draft202012Validator(load_schema("deploy")).validate(doc)
    assert doc["kind"] == path.stem


def test_the_local_target_has_exactly_the_agreed_keys() -> None:
    local = OmegaConf.to_container(OmegaConf.load(CONF / "deploy" / "local.yaml"))
    assert set(local) == {
        "kind",
        "model_uri",
        "host",
        "port",
        "workers",
        "startup_timeout",
    }


def test_a_v1_key_is_refused_in_words(cfg: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="key 'computeType' is not supported here"):
        azureml.validate_config({**cfg, "computeType": "ACI"})


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The Azure command as a user runs it, without workspace variables (its
    function, in this process)."""
    from churn_experiments.deploy import __main__ as deploy

    unset = dict.fromkeys(azureml.WORKSPACE_ENV.values())
    if not any(arg.startswith("target=") for arg in args):
        args = ("target=azureml", *args)
    return run_in_process(deploy.cli, *args, cwd=cwd, env=unset)


def test_the_cli_from_another_folder_reports_every_error_of_the_file_it_read(
    tmp_path: Path,
) -> None:
    result = run_cli(
        "action=status",
        "target.auth_mode=token",
        "target.instance_count=0",
        "target.endpoint_name=1-churn",
        "+target.computeType=ACI",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {CONF / 'deploy' / 'azureml.yaml'} with target.auth_mode=token"
        " target.instance_count=0 target.endpoint_name=1-churn"
        " +target.computeType=ACI: 4 problems:",
        "  - key 'computeType' is not supported here; use `instance_type` (a VM size"
        " such as Standard_DS3_v2) and `instance_count`: ACI and azureml-core (SDK"
        " v1) are retired, this target is a managed online endpoint",
        "  - deploy.auth_mode: 'token' is not allowed; allowed values: 'key',"
        " 'aml_token', 'aad_token'",
        "  - deploy.endpoint_name: '1-churn' is not allowed; allowed: 3-32 characters:"
        " a letter first, then letters, digits and hyphens (not a hyphen last)",
        "  - deploy.instance_count: 0 is less than the minimum of 1; allowed: an"
        " integer >= 1",
    ]


def test_the_cli_reads_config_dir_with_overrides_and_names_that_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "conf" / "deploy"
    folder.mkdir(parents=True)
    (folder / "green.yaml").write_text(
        (CONF / "deploy" / "azureml.yaml").read_text().replace("blue", "green")
    )
    result = run_cli(
        "target=green", "action=status", "--config-dir", "conf",
        "target.instance_count=2", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "[INFO] read conf/deploy/green.yaml with target.instance_count=2",
        "error: set AZURE_SUBSCRIPTION_ID,"
        " AZURE_RESOURCE_GROUP, AZUREML_WORKSPACE_NAME: the workspace comes from the"
        " environment, never from the target's YAML",
    ]
    bad = run_cli(
        "target=green", "action=delete", "--config-dir", "conf",
        "target.traffic.green=50", cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "error: conf/deploy/green.yaml with target.traffic.green=50: key"
        " 'traffic' adds up to 50; allowed: deployment name -> percentage; the"
        " percentages add up to 100"
    ]
