"""The Azure ML target's tests (``pytest.mark.azure``): skipped without the [azure]
extra, and run by one xdist worker (``tests/session_checks.py``), which alone pays
the ~3 s of importing azure-ai-ml, when its first such test starts."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def azure_extra(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("azure"):
        pytest.importorskip("azure.ai.ml", reason="needs the [azure] extra")
