"""The docker target: a build context from `mlflow models generate-dockerfile`.

No image is built. The context is generated once, from the tutorial sweep's gb model.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from support import MODEL, tracking_to

from churn_experiments.deploy import load_target
from churn_experiments.deploy.__main__ import deploy_docker
from churn_experiments.deploy.docker import DockerError, deploy, generate

CONF = Path(__file__).resolve().parents[2] / "conf"

# Load the model as the image does, with the editable install of churn_experiments
# switched off: only the copy shipped in model_dir/code can be used.
LOAD_AS_IN_THE_IMAGE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in str(f)]
try:
    import churn_experiments
except ImportError:
    pass
else:
    raise SystemExit(f"churn_experiments importable from {churn_experiments.__file__}")
import mlflow, pandas as pd
from mlflow.exceptions import MlflowException
model_dir = sys.argv[1]
model = mlflow.pyfunc.load_model(model_dir)
example = pd.read_json(f"{model_dir}/input_example.json", orient="split", dtype=False)
print(model.predict(example).tolist())
try:
    model.predict(example.assign(FrequentFlyer="Maybe"))
except MlflowException as err:
    print(err.error_code, err.message)
print(sys.modules["churn_experiments"].__file__)
"""


@dataclass(frozen=True)
class Context:
    cfg: dict
    path: Path
    printed: str

    @property
    def model_dir(self) -> Path:
        """The folder the Dockerfile copies to /opt/ml/model."""
        dockerfile = (self.path / "Dockerfile").read_text()
        (source,) = re.findall(r"^COPY (\S+) /opt/ml/model$", dockerfile, re.M)
        return self.path / source


@pytest.fixture(scope="module")
def gb_model(tutorial_sweep) -> Iterator[str]:
    """The tutorial gb run's model URI, with its store in MLFLOW_TRACKING_URI (for
    the commands) and MLflow's tracking URI (for the module's other fixtures)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        tracking_to(tutorial_sweep.tracking_uri),
    ):
        patch.setenv("MLFLOW_TRACKING_URI", tutorial_sweep.tracking_uri)
        yield f"runs:/{tutorial_sweep.run_ids['gb']}/model"


@pytest.fixture(scope="module")
def context(gb_model: str, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """What ``churn-deploy target=docker`` does, run once (build: false)."""
    overrides = [
        f"output_dir={tmp_path_factory.mktemp('docker') / 'ctx'}",
        f"model_uri={gb_model}",
    ]
    cfg = load_target("docker", overrides)
    printed = deploy_docker(cfg)
    return Context(cfg, Path(cfg["output_dir"]), printed + "\n")


def test_docker_yaml_does_not_build_by_default():
    cfg = load_target("docker")
    assert cfg["build"] is False
    assert cfg["model_uri"] == f"models:/{MODEL}@champion"


@pytest.mark.slow
def test_dockerfile_serves_the_model_with_mlflow_of_this_version(context: Context):
    import mlflow

    dockerfile = (context.path / "Dockerfile").read_text()
    assert dockerfile.startswith("# Build an image that can serve mlflow models.")
    assert f"FROM python:{sys.version.split()[0]}-slim" in dockerfile
    assert f"pip install mlflow=={mlflow.__version__}" in dockerfile
    assert context.model_dir.is_relative_to(context.path / "model_dir")
    assert "C._serve('local')" in dockerfile
    assert sorted(p.name for p in context.path.iterdir()) == ["Dockerfile", "model_dir"]


@pytest.mark.slow
def test_model_dir_holds_the_model_its_contract_and_code(context: Context):
    model_dir = context.model_dir
    flavors = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]
    assert flavors["python_function"]["loader_module"] == (
        "churn_experiments.model_flavor"
    )
    assert flavors["sklearn"]["pickled_model"] == "model.skops"
    assert (model_dir / "model.skops").is_file()
    assert (model_dir / "code" / "churn_experiments" / "model_flavor.py").is_file()
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} >= {"mlflow", "scikit-learn"}
    contract = json.loads((model_dir / "data_contract.json").read_text())
    declared = OmegaConf.load(CONF / "dataset" / "travel_churn.yaml").columns
    frequent_flyer = OmegaConf.to_container(declared.FrequentFlyer)
    assert contract["FrequentFlyer"] == {
        **frequent_flyer,
        "dtype": "category",
        "nullable": False,
    }
    assert "Target" not in contract


@pytest.mark.slow
def test_model_dir_loads_and_checks_rows_without_the_installed_package(
    context: Context,
):
    model_dir = context.model_dir
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AS_IN_THE_IMAGE, str(model_dir)],
        cwd=context.path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    predictions, refusal, package = result.stdout.strip().splitlines()
    assert len(json.loads(predictions)) == 5
    assert refusal.startswith("INVALID_PARAMETER_VALUE")
    assert "column 'FrequentFlyer' has 'Maybe'" in refusal
    assert package.startswith(str(model_dir / "code" / "churn_experiments"))


@pytest.mark.slow
def test_cli_prints_how_to_build_run_and_call_the_image(context: Context):
    lines = context.printed.splitlines()
    assert (
        lines[0] == f"Wrote {context.path / 'Dockerfile'} and {context.path}/model_dir/"
    )
    assert lines[1] == f"Build: docker build -t churn-model {context.path}"
    assert lines[2] == "Run:   docker run --rm -p 8080:8080 churn-model"
    assert lines[3].startswith("Try:   curl -s http://127.0.0.1:8080/invocations")


def test_a_non_empty_folder_without_dockerfile_is_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    cfg = load_target("docker", [f"output_dir={tmp_path}"])
    with pytest.raises(DockerError, match="not empty and holds no Dockerfile"):
        generate(cfg)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_build_without_docker_cli_fails_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here
    cfg = load_target("docker", [f"output_dir={tmp_path / 'ctx'}", "build=true"])
    with pytest.raises(DockerError, match="needs the docker CLI.*build: false"):
        deploy(cfg)
    assert not (tmp_path / "ctx").exists()


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_build_without_docker_engine_fails_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    cfg = load_target("docker", [f"output_dir={tmp_path / 'ctx'}", "build=true"])
    with pytest.raises(DockerError, match="needs a running Docker engine"):
        deploy(cfg)
    assert not (tmp_path / "ctx").exists()
