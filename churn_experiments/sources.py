"""Where a composed config came from: each group's choice and file, the search path.

The entry point (a Hydra app's task, or the sweep callback) reads this from Hydra once
with :meth:`Sources.from_hydra` and passes it down; library code never reads Hydra's
global state, so ``train(cfg)`` is a function of its arguments. Without Hydra (tests,
notebooks) the empty default names config groups instead of files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf


@dataclass(frozen=True)
class Sources:
    """The choice of each config group, the search path and the job's overrides."""

    choices: Mapping[str, str | None] = field(default_factory=dict)
    search_path: tuple[Mapping[str, Any], ...] = ()
    config_name: str = "config"
    overrides: tuple[str, ...] = ()  # the job's own (``hydra.overrides.task``)

    @classmethod
    def from_hydra(cls, hydra: DictConfig) -> Sources:
        """From a ``hydra`` node: ``HydraConfig.get()`` or a config's ``hydra`` key."""
        runtime = OmegaConf.to_container(hydra.runtime, resolve=False)
        return cls(
            choices=runtime["choices"],  # type: ignore[index]
            search_path=tuple(runtime["config_sources"]),  # type: ignore[index]
            config_name=str(hydra.job.config_name),
            overrides=tuple(str(o) for o in hydra.overrides.task),
        )

    def model_family(self, cfg: DictConfig) -> str:
        """The model's config choice (``rf``), else its class name."""
        choice = self.choices.get("model")
        return choice or str(cfg.model._target_).rsplit(".", 1)[-1]

    def file(self, group: str) -> str:
        """The file a group came from (``conf/model/rf.yaml``), for error messages.

        ``group`` may name a package too (``deploy@target``).
        """
        if not self.choices:  # composed outside a Hydra app
            return f"config group '{group}'"
        return self._file(group) + self._overriding(group)

    def _file(self, group: str) -> str:
        choice = self.choices.get(group)
        if choice is None:
            return f"{self.config_name}.yaml ({group})"
        file = f"{group.split('@')[0]}/{choice}.yaml"
        for source in self.search_path:
            folder = source_folder(source)
            if folder is not None and (folder / file).exists():
                return str(folder / file)
        return file

    def _overriding(self, group: str) -> str:
        """`` with model.C=2``: the job's overrides of keys inside ``group``."""
        package = group.split("@")[-1]
        given = [
            override
            for override in self.overrides
            if override.lstrip("+~").startswith(f"{package}.")
        ]
        return f" with {' '.join(given)}" if given else ""


def source_folder(source: Mapping[str, Any]) -> Path | None:
    """The folder of one of Hydra's config sources (``file://`` or ``pkg://``),
    relative to the working folder when under it; None for other kinds."""
    if source.get("schema") == "pkg":
        from importlib.resources import files

        try:
            path = Path(str(files(source["path"]))).resolve()  # a checkout: its conf/
        except ModuleNotFoundError:
            return None
    elif source.get("schema") == "file":
        path = Path(source["path"])
    else:
        return None
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
