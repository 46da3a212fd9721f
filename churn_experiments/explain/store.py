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

from churn_experiments.explain.explainers import Explanation, Plan, compute
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
    Metrics ``shap_<column>`` hold the mean |SHAP| per original column, and
    ``shap_seconds`` the time SHAP took; tags ``shap_explainer`` and
    ``shap_output_space`` say how it was computed, and ``shap_budget`` the budget of
    a model-agnostic explainer (``explain.agnostic``).
    """
    import mlflow

    from churn_experiments import figures
    from churn_experiments.explain.plots import explanation_figures

    client = client or mlflow.MlflowClient()
    figures.submit(run_id, ARTIFACT_DIR, explanation_figures, explanation)  # drawn now
    files = explanation_files(explanation)
    figures.add_files(run_id, ARTIFACT_DIR, files)  # logged with the figures
    record_explanation(client, run_id, files)
    figures.collect_unless_deferred()


def submit_explanation(plan: Plan, run_id: str) -> None:
    """Compute ``plan`` and draw it in the figure worker, while this process goes
    on; its files, metrics and tags (as :func:`log_explanation` logs them) reach
    ``run_id`` when the figures are collected. A failure there is a warning and a
    ``figures_error`` tag on the run."""
    from churn_experiments import figures

    figures.submit(
        run_id, ARTIFACT_DIR, computed_files, plan, record=record_explanation
    )


def computed_files(plan: Plan) -> dict[str, Any]:
    """In the figure worker: the explanation of ``plan``, as files and figures."""
    from churn_experiments.explain.plots import explanation_figures

    explanation = compute(plan)
    return {**explanation_figures(explanation), **explanation_files(explanation)}


def explanation_files(explanation: Explanation) -> dict[str, bytes]:
    """The arrays and JSON files of ``explanation`` (all but its figures)."""
    summary = {
        "explainer": explanation.explainer,
        "output_space": explanation.output_space,
        "mean_abs_shap_by_column": explanation.by_column().mean_abs().to_dict(),
        "mean_abs_shap": explanation.mean_abs().to_dict(),
        **explanation.details,
    }
    return {
        "base_values.npy": _npy(explanation.base_values),
        "shap_values.npy": _npy(explanation.values),
        "data.npy": _npy(explanation.data),
        "feature_names.json": _json(explanation.feature_names),
        "columns.json": _json(explanation.columns),
        "summary.json": _json(summary),
    }


def record_explanation(
    client: MlflowClient, run_id: str, files: dict[str, bytes]
) -> None:
    """The metrics and tags of an explanation, read from its ``summary.json``."""
    from mlflow.entities import Metric, RunTag

    summary = json.loads(files["summary.json"])
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[
            Metric(metric_name(str(column)), float(value), now, 0)
            for column, value in summary["mean_abs_shap_by_column"].items()
        ]
        + [Metric("shap_seconds", summary["seconds"], now, 0)],
        tags=[
            RunTag("shap_explainer", summary["explainer"]),
            RunTag("shap_output_space", summary["output_space"]),
            *budget_tag(summary.get("budget")),
        ],
    )


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
