"""Docker target: a build context for an image of MLflow's scoring server.

``churn-deploy target=docker`` (:mod:`churn_experiments.deploy.__main__`) runs
``mlflow models generate-dockerfile`` for ``model_uri`` into ``output_dir`` (a
``Dockerfile`` plus the model in ``model_dir/``; no Docker engine needed) and, only
with ``build: true``, ``docker build -t <image_name> <output_dir>``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from churn_experiments.errors import ChurnExperimentsError

log = logging.getLogger(__name__)

CONTAINER_PORT = 8080  # the port the image's server listens on
TAIL_LINES = 20  # lines of a failed command's output shown in the error
ENGINE_TIMEOUT = 60  # seconds `docker info` may take to answer


class DockerError(ChurnExperimentsError, RuntimeError):
    """The build context or the image could not be made; says why and what to do."""


def generate(cfg: Mapping[str, Any]) -> Path:
    """Write ``Dockerfile`` and ``model_dir/`` into ``output_dir``; return that folder.

    A previous build context there is replaced; any other non-empty folder is refused.
    """
    out = Path(cfg["output_dir"])
    if out.exists() and any(out.iterdir()):
        if not (out / "Dockerfile").is_file():
            raise DockerError(
                f"output_dir {out} is not empty and holds no Dockerfile: choose a new"
                " or empty folder"
            )
        log.info("replacing the previous build context in %s", out)
        shutil.rmtree(out)
    command = [
        sys.executable, "-m", "mlflow", "models", "generate-dockerfile",
        "--model-uri", str(cfg["model_uri"]),
        "--output-directory", str(out),
    ]  # fmt: skip
    log.info("writing a Dockerfile for %s into %s", cfg["model_uri"], out)
    _run(command, f"generate-dockerfile for {cfg['model_uri']!r}")
    return out


def build(docker: str, context: Path, image_name: str) -> None:
    """``docker build -t image_name context`` with the CLI :func:`docker_cli` found."""
    log.info("building image %s from %s", image_name, context)
    _run(
        [docker, "build", "-t", image_name, str(context)],
        f"docker build of {context}",
        capture=False,  # a build takes minutes: show its progress
    )


def docker_cli(context: Path, image_name: str) -> str:
    """The docker CLI's path, once a Docker engine answers; else a clear error."""
    later = f"or set build: false and run `docker build -t {image_name} {context}`"
    docker = shutil.which("docker")
    if docker is None:
        raise DockerError(f"build: true needs the docker CLI: install it, {later}")
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=ENGINE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        reason = f"`docker info` did not answer within {ENGINE_TIMEOUT} s"
    else:
        if info.returncode == 0:
            return docker
        reason = (info.stderr.strip().splitlines() or ["`docker info` failed"])[-1]
    raise DockerError(
        f"build: true needs a running Docker engine ({reason}); start one, {later}"
        " where one runs"
    )


def deploy(cfg: Mapping[str, Any]) -> Path:
    """Generate the build context, and build the image when ``build`` is true.

    With ``build: true`` the Docker engine is checked before anything is written.
    """
    context = Path(cfg["output_dir"])
    docker = docker_cli(context, cfg["image_name"]) if cfg["build"] else None
    generate(cfg)
    if docker is not None:
        build(docker, context, cfg["image_name"])
    return context


def summary(cfg: Mapping[str, Any], context: Path, body: Mapping | None) -> str:
    """What was written or built, and the commands to build, run and try the image.

    ``body`` is a one-row request for the curl example (None: no example).
    """
    from churn_experiments.deploy.local import curl_command

    image = cfg["image_name"]
    lines = [f"Wrote {context / 'Dockerfile'} and {context / 'model_dir'}/"]
    if cfg["build"]:
        lines.append(f"Built image {image}")
    else:
        lines.append(f"Build: docker build -t {image} {context}")
    lines.append(f"Run:   docker run --rm -p {CONTAINER_PORT}:{CONTAINER_PORT} {image}")
    if body is not None:
        url = f"http://127.0.0.1:{CONTAINER_PORT}/invocations"
        lines.append(f"Try:   {curl_command(url, body)}")
    return "\n".join(lines)


def _run(command: list[str], what: str, capture: bool = True) -> None:
    """Run ``command``; on failure raise with its output's tail (when captured)."""
    result = subprocess.run(command, capture_output=capture, text=True)
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        tail = "\n".join(output.splitlines()[-TAIL_LINES:]) or "(its output is above)"
        raise DockerError(f"{what} failed (exit {result.returncode}):\n{tail}")
