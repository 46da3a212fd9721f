"""Write an explanation into a run's ``explanations/`` folder, and read it back."""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from churn_experiments.explain.explainers import Explanation
from churn_experiments.tracking import quiet_downloads

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import RunTag

ARTIFACT_DIR = "explanations"
METRIC_PREFIX = "shap_"


def metric_name(column: str, prefix: str = METRIC_PREFIX) -> str:
    """``shap_<column>``, with characters MLflow refuses in metric names replaced."""
    return prefix + re.sub(r"[^\w\-. /:]", "_", column)


def log_explanation(
    explanation: Explanation, run_id: str, client: MlflowClient | None = None
) -> None:
    """Log arrays, names, plots, a JSON summary, metrics and tags on ``run_id``.

    Files under ``explanations/``: ``base_values.npy``, ``shap_values.npy`` and
    ``data.npy`` (rows x encoded features), ``feature_names.json``, ``columns.json``
    (original column -> encoded features), ``summary.json`` (explainer, output space,
    mean |SHAP| per feature and per column) and the PNGs of
    :func:`~churn_experiments.explain.plots.explanation_figures`, per encoded
    feature and per column (drawn in one call by :mod:`churn_experiments.figures`'s
    worker and logged with the other files in one call, when the figures are
    collected).
    Metrics
    ``shap_<column>`` hold the mean |SHAP| per original column; tags
    ``shap_explainer`` and ``shap_output_space`` say how it was computed, and
    ``shap_budget`` the budget of a model-agnostic explainer (``explain.agnostic``).
    """
    import mlflow
    from mlflow.entities import Metric, RunTag

    from churn_experiments import figures
    from churn_experiments.explain.plots import explanation_figures

    client = client or mlflow.MlflowClient()
    figures.submit(run_id, ARTIFACT_DIR, explanation_figures, explanation)  # drawn now
    by_column = explanation.by_column().mean_abs()
    summary = {
        "explainer": explanation.explainer,
        "output_space": explanation.output_space,
        "mean_abs_shap_by_column": by_column.to_dict(),
        "mean_abs_shap": explanation.mean_abs().to_dict(),
        **explanation.details,
    }
    figures.add_files(  # logged with the figures, in one call
        run_id,
        ARTIFACT_DIR,
        {
            "base_values.npy": _npy(explanation.base_values),
            "shap_values.npy": _npy(explanation.values),
            "data.npy": _npy(explanation.data),
            "feature_names.json": _json(explanation.feature_names),
            "columns.json": _json(explanation.columns),
            "summary.json": _json(summary),
        },
    )
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[
            Metric(metric_name(str(column)), float(value), now, 0)
            for column, value in by_column.items()
        ]
        + [Metric("shap_seconds", explanation.details["seconds"], now, 0)],
        tags=[
            RunTag("shap_explainer", explanation.explainer),
            RunTag("shap_output_space", explanation.output_space),
            *budget_tag(explanation.details.get("budget")),
        ],
    )
    figures.collect_unless_deferred()


def budget_tag(budget: dict[str, Any] | None) -> list[RunTag]:
    """``shap_budget``, e.g. ``rows=23 background=10 (kmeans) coalitions=126 per
    row, 28980 of 30000 evaluations``."""
    from mlflow.entities import RunTag

    if not budget:
        return []
    return [
        RunTag(
            "shap_budget",
            f"rows={budget['rows']} background={budget['background']} "
            f"({budget['background_summary']}) coalitions="
            f"{budget['coalitions_per_row']} per row, {budget['evaluations']} of "
            f"{budget['max_evaluations']} evaluations",
        )
    ]


def _json(content: Any) -> bytes:
    return (json.dumps(content, indent=2) + "\n").encode()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def load(run_id: str, tracking_uri: str | None = None) -> Explanation:
    """The explanation logged on ``run_id`` (values, base values, names, data).

    ``load(run_id).by_column()`` gives it per original column, ``.to_shap()`` a
    ``shap.Explanation`` for SHAP's plots. ``tracking_uri`` defaults to
    ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working folder.
    Raises :class:`~churn_experiments.errors.TrackingStoreError` when that store or
    the run is missing (a missing store is not created), FileNotFoundError for a
    run without explanations.
    """
    import mlflow

    from churn_experiments import store

    tracking_uri = tracking_uri or store.active_uri()
    store.get_run(run_id, tracking_uri)
    if not mlflow.MlflowClient(tracking_uri).list_artifacts(run_id, ARTIFACT_DIR):
        raise FileNotFoundError(
            f"run {run_id} has no {ARTIFACT_DIR}/; explain it with "
            f"churn-explain run_id={run_id}"
        )

    with tempfile.TemporaryDirectory() as tmp, quiet_downloads():
        folder = Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=ARTIFACT_DIR,
                dst_path=tmp,
                tracking_uri=tracking_uri,
            )
        )
        summary = json.loads((folder / "summary.json").read_text())
        for key in ("mean_abs_shap", "mean_abs_shap_by_column"):
            summary.pop(key)
        return Explanation(
            values=np.load(folder / "shap_values.npy"),
            base_values=np.load(folder / "base_values.npy"),
            feature_names=json.loads((folder / "feature_names.json").read_text()),
            data=np.load(folder / "data.npy"),
            columns=json.loads((folder / "columns.json").read_text()),
            explainer=summary.pop("explainer"),
            output_space=summary.pop("output_space"),
            details=summary,
        )
