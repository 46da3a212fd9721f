"""What the small target commands share: the config folder, arguments and logging."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from churn_experiments.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def target_arguments(
    prog: str,
    description: str,
    config_file: Path,
    example: str,
    argv: Sequence[str] | None = None,
    operations: Sequence[str] = (),
) -> argparse.Namespace:
    """Parse ``[OPERATION] [--config FILE | --config-dir DIR] [KEY=VALUE ...]``.

    ``args.config`` is the file to read: ``--config``, else ``DIR/deploy/<name>``
    for ``--config-dir``, else ``config_file``. Turns on the package's INFO logs.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if operations:
        parser.add_argument("operation", choices=list(operations))
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help=f"override a key of the config, e.g. {example}",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config", help=f"the target's YAML file (default: {config_file})"
    )
    where.add_argument(
        "--config-dir",
        help=f"a config folder holding deploy/{config_file.name}, as in Hydra's"
        " --config-dir",
    )
    args = parser.parse_intermixed_args(argv)  # options may come between KEY=VALUEs
    if args.config_dir:
        args.config = str(
            Path(args.config_dir, config_file.parent.name, config_file.name)
        )
    elif not args.config:
        args.config = str(config_file)
    logging.basicConfig(format="[%(levelname)s] %(name)s: %(message)s")
    logging.getLogger("churn_experiments").setLevel(logging.INFO)
    return args


def read_target(path: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """A target's YAML with ``key=value`` overrides applied (not validated yet).

    Its ``${dataset_model:}`` interpolations resolve (see :mod:`.naming`).
    """
    from churn_experiments.naming import register_resolver

    register_resolver()
    if not Path(path).is_file():
        raise ConfigError(
            f"{path} does not exist: pass --config FILE or --config-dir DIR"
        )
    try:
        return OmegaConf.merge(OmegaConf.load(path), OmegaConf.from_dotlist(overrides))
    except ValueError as err:  # omegaconf's parse and merge errors
        raise ConfigError(f"{path}: cannot apply {list(overrides)}: {err}") from None
