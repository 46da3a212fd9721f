"""``churn-serve`` (``python -m churn_experiments.serve``): serve a model locally.

Composes ``conf/serve.yaml`` (its ``target`` is ``conf/deploy/local.yaml``), checks that
the model URI names a model (saying how to create a champion when there is none),
starts the server (:mod:`churn_experiments.deploy.local`), waits for ``/ping``, prints
a ready line and a curl example, then serves until Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import sys

import hydra
from omegaconf import DictConfig

from churn_experiments.cli import CONFIG_PATH, exit_after, exits_on_error, run_command

log = logging.getLogger("churn_experiments.serve")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="serve")
@exits_on_error
def main(cfg: DictConfig) -> None:
    """Serve ``cfg.target`` until Ctrl-C or SIGTERM (exit 0) or the server stops (1)."""
    from hydra.core.hydra_config import HydraConfig

    from churn_experiments.deploy import target_config
    from churn_experiments.deploy.local import (
        curl_command,
        example_payload,
        start_server,
    )
    from churn_experiments.model_uri import check_model_uri
    from churn_experiments.sources import Sources

    target = target_config(
        cfg.target, "local", Sources.from_hydra(HydraConfig.get()).file("deploy@target")
    )
    model = check_model_uri(target["model_uri"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server first
    try:
        with start_server(target) as server:
            seconds = server.wait_until_ready(float(target["startup_timeout"]))
            print(
                f"Serving {target['model_uri']} at {server.invocations_url}"
                f" (ready in {seconds:.1f} s; Ctrl-C stops it)",
                flush=True,
            )
            body = example_payload(target["model_uri"], model)
            if body is not None:
                print(f"Try:\n  {curl_command(server.invocations_url, body)}")
            sys.stdout.flush()
            code = server.follow(sys.stderr)
    except KeyboardInterrupt:
        sys.exit(0)
    log.error("the server exited with code %s", code)
    sys.exit(1)


def cli() -> None:
    """The console script ``churn-serve``."""
    run_command(main, aliases={"target": "deploy@target"})


if __name__ == "__main__":
    exit_after(cli)
