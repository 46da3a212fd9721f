"""``engine=ray``: the same chunk scoring with Ray Data, on ``RAY_ADDRESS`` or locally.

Ray reads the input in parallel, each actor loads the pyfunc model once and runs
:class:`ChunkScorer` over its batches (``map_batches``), and the driver receives the
scored batches in input order, so it writes one output exactly as the local engine
does. On a remote cluster the input path must be readable by the workers (a shared
folder or object storage) and the tracking store reachable from them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from churn_experiments.score import tables
from churn_experiments.score.model import ScoringModel, load_scoring_model
from churn_experiments.score.reasons import ReasonFinder
from churn_experiments.score.scorer import ChunkScorer

log = logging.getLogger(__name__)

LOCAL_CPUS = 2  # CPUs of the cluster started when RAY_ADDRESS is not set


class PyfuncScorer:
    """A Ray actor: loads the pyfunc model once, then scores batch after batch."""

    def __init__(
        self,
        model_uri: str,
        tracking_uri: str,
        positive: Any,
        id_columns: Sequence[str],
        reasons: int,
        explain: Mapping[str, Any],
        background: pd.DataFrame | None,
    ) -> None:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        model = load_scoring_model(model_uri, positive)
        finder = (
            ReasonFinder(model.pipeline, model.positive, reasons, explain, background)
            if reasons
            else None
        )
        self.scorer = ChunkScorer(model, id_columns, finder)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        """The scored rows of one batch."""
        return self.scorer(batch)


def ray_frames(
    settings: Any, model: ScoringModel, finder: ReasonFinder | None
) -> Iterator[pd.DataFrame]:
    """Scored batches of ``settings.input`` in input order, computed on Ray."""
    import mlflow
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        ray.init(
            address=address or None,
            num_cpus=None if address else LOCAL_CPUS,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False  # the driver shows its own
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        background = finder.training_rows if finder is not None else None
        scored = _read(settings.input).map_batches(
            PyfuncScorer,
            fn_constructor_kwargs={
                "model_uri": model.uri,
                "tracking_uri": _absolute(mlflow.get_tracking_uri()),
                "positive": model.positive,
                "id_columns": list(settings.id_columns),
                "reasons": settings.reasons,
                "explain": dict(settings.explain),
                "background": background,
            },
            batch_format="pandas",
            batch_size=settings.chunk_size,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=cpus),
        )
        yield from scored.iter_batches(batch_format="pandas", batch_size=None)
    finally:
        if started_here:
            ray.shutdown()


def _read(path: str) -> Any:
    """The input as a Ray Dataset; CSV columns read as text, as done locally."""
    import ray

    absolute = str(Path(path).resolve())
    if tables.table_format(path) == "parquet":
        return ray.data.read_parquet(absolute)
    read_options, convert_options = tables.csv_options(path)
    return ray.data.read_csv(
        absolute, read_options=read_options, convert_options=convert_options
    )


def _absolute(uri: str) -> str:
    """A ``sqlite:///relative.db`` URI made absolute: Ray workers run elsewhere."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri
