"""What the small target commands share: the config folder, arguments and logging."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def target_arguments(
    prog: str,
    description: str,
    config_file: Path,
    example: str,
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """Parse ``[--config FILE] [KEY=VALUE ...]``; turn on the package's INFO logs."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help=f"override a key of the config, e.g. {example}",
    )
    parser.add_argument(
        "--config", default=str(config_file), help="the target's YAML file"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="[%(levelname)s] %(name)s: %(message)s")
    logging.getLogger("churn_experiments").setLevel(logging.INFO)
    return args
