"""A SearchPathPlugin: folders in ``CHURN_CONFIG_PATH`` join Hydra's search path.

``CHURN_CONFIG_PATH=~/my_conf churn model=xgb`` finds
``~/my_conf/model/xgb.yaml``. Folders are searched before the shipped ``conf/``, so a
user's file of the same name wins. Hydra imports this module at every start: keep it
free of heavy imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

ENV_VAR = "CHURN_CONFIG_PATH"


class ChurnSearchPathPlugin(SearchPathPlugin):
    """Prepend each folder of ``CHURN_CONFIG_PATH`` (``os.pathsep``-separated)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        folders = [f for f in os.environ.get(ENV_VAR, "").split(os.pathsep) if f]
        for folder in reversed(folders):
            path = Path(folder).expanduser().resolve()
            search_path.prepend(provider="churn-user-config", path=f"file://{path}")
