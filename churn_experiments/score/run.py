"""One scoring of a customer table, recorded as an MLflow run.

:func:`score` loads the model once, streams the input through :class:`ChunkScorer`
(locally, or on Ray with ``engine="ray"``), writes the output and rejects files and
records the run in ``<experiment>-scoring``: model, input digest, counts, share
predicted to churn, a histogram of the probabilities and the drift per column.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churn_experiments import tracking
from churn_experiments.reference import background_rows, load_reference
from churn_experiments.score import tables
from churn_experiments.score.model import (
    ScoreError,
    ScoringModel,
    default_model_uri,
    load_scoring_model,
)
from churn_experiments.score.reasons import ReasonFinder
from churn_experiments.score.scorer import ChunkScorer
from churn_experiments.score.sink import ScoreSink
from churn_experiments.target import model_positive

log = logging.getLogger(__name__)

EXPERIMENT_SUFFIX = "-scoring"
HISTOGRAM_ARTIFACT = "plots/probability_histogram.png"


@dataclass(frozen=True)
class ScoreSettings:
    """What to score with what: the keys of ``conf/score.yaml`` and its groups."""

    input: str
    output: str
    dataset: Mapping[str, Any]
    explain: Mapping[str, Any]
    artifact_location: str | None = None
    rejects: str | None = None
    model_uri: str | None = None
    id_columns: tuple[str, ...] = ()
    reasons: int = 0
    chunk_size: int = 100_000
    engine: str = "local"
    drift_threshold: float = 0.2
    experiment: str | None = None

    @property
    def rejects_path(self) -> Path:
        """``rejects``, or ``<output stem>.rejects<suffix>`` beside the output."""
        if self.rejects:
            return Path(self.rejects)
        output = Path(self.output)
        return output.with_name(f"{output.stem}.rejects{output.suffix}")


@dataclass(frozen=True)
class ScoreResult:
    """What a scoring did; ``psi`` maps each column to its stability index."""

    run_id: str
    model_uri: str
    model_version: str | None
    rows: int
    scored: int
    rejected: int
    churn_share: float
    seconds: float
    output: Path
    rejects: Path | None
    psi: dict[str, float] = field(default_factory=dict)
    drifted: list[str] = field(default_factory=list)


def score(settings: ScoreSettings) -> ScoreResult:
    """Score ``settings.input`` into ``settings.output``; record the scoring run.

    Raises :class:`ScoreError` (or another ChurnExperimentsError) with a one-line
    message before anything is written when the model, the input's columns or the
    reasons' budget are wrong. A failure while scoring leaves a FAILED run with the
    error and no output file.
    """
    import mlflow

    uri = settings.model_uri or default_model_uri(settings.dataset)
    model = load_scoring_model(uri, model_positive(settings.dataset["target"]))
    total_rows = _check_input(settings, model)
    reference = load_reference(model.run_id) if model.run_id else None
    if reference is None:
        log.warning("the model's run has no reference.json: drift is not measured")
    finder = _reason_finder(settings, model, reference, total_rows)
    experiment_id = tracking.ensure_experiment(
        settings.experiment or _scoring_experiment(model), settings.artifact_location
    )
    sink = ScoreSink(
        settings.output,
        settings.rejects_path,
        settings.id_columns,
        settings.reasons,
        reference,
    )
    with mlflow.start_run(experiment_id=experiment_id, run_name="scoring") as run:
        mlflow.log_params(_params(settings, model))
        mlflow.log_param("input_digest", tables.file_digest(settings.input))
        started = time.perf_counter()
        try:
            with tracking.quiet_known_warnings():
                for frame in _progress(_frames(settings, model, finder), total_rows):
                    sink.consume(frame)
            sink.close()
        except BaseException as err:  # the run ends FAILED, with the error
            sink.abort()
            mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:5000])
            raise
        seconds = time.perf_counter() - started
        result = _record(run.info.run_id, settings, model, sink, seconds)
    return result


def _check_input(settings: ScoreSettings, model: ScoringModel) -> int:
    """Stop before scoring when a column is missing; return the input's row count."""
    for path in (settings.output, settings.rejects_path):
        tables.table_format(path)
    columns = tables.input_columns(settings.input)
    missing = [c for c in (*model.contract, *settings.id_columns) if c not in columns]
    if missing:
        raise ScoreError(
            f"{settings.input}: missing column(s) {missing}; it has {columns}"
        )
    if settings.reasons > len(model.contract):
        raise ScoreError(
            f"reasons={settings.reasons}: the model has only {len(model.contract)}"
            " input columns"
        )
    return tables.count_rows(settings.input)


def _reason_finder(
    settings: ScoreSettings,
    model: ScoringModel,
    reference: Mapping[str, Any] | None,
    total_rows: int,
) -> ReasonFinder | None:
    if not settings.reasons:
        return None
    background = background_rows(reference) if reference else None
    finder = ReasonFinder(
        model.pipeline, model.positive, settings.reasons, settings.explain, background
    )
    if finder.needs_background and background is None:
        raise ScoreError(
            f"reasons by {finder.kind} SHAP need training rows as a background, and"
            f" the model's run has no reference.json: retrain it, or drop reasons="
        )
    budget = settings.explain["agnostic"]["rows"]
    if finder.agnostic and total_rows > budget:
        raise ScoreError(
            f"reasons for {type(finder.classifier).__name__} need {finder.kind} SHAP"
            f" (it calls the model per row); {total_rows} rows exceed"
            f" explain.agnostic.rows={budget}: raise it or drop reasons="
        )
    return finder


def _frames(
    settings: ScoreSettings, model: ScoringModel, finder: ReasonFinder | None
) -> Iterator[Any]:
    if settings.engine == "ray":
        from churn_experiments.score.ray_engine import ray_frames

        return ray_frames(settings, model, finder)
    scorer = ChunkScorer(model, settings.id_columns, finder)
    return map(scorer, tables.read_chunks(settings.input, settings.chunk_size))


def _progress(frames: Iterator[Any], total: int) -> Iterator[Any]:
    """Yield ``frames``; a bar with rows/s on stderr once scoring takes a second."""
    from tqdm import tqdm

    with tqdm(
        total=total, unit=" rows", unit_scale=True, delay=1.0, file=sys.stderr
    ) as bar:
        for frame in frames:
            yield frame
            bar.update(len(frame))


def _scoring_experiment(model: ScoringModel) -> str:
    import mlflow

    if model.run_id is None:
        raise ScoreError(
            f"{model.uri} has no training run to name the scoring experiment after;"
            " set experiment=NAME"
        )
    run = mlflow.get_run(model.run_id)
    trained_in = mlflow.get_experiment(run.info.experiment_id).name
    return trained_in + EXPERIMENT_SUFFIX


def _params(settings: ScoreSettings, model: ScoringModel) -> dict[str, Any]:
    return {
        "model_uri": model.uri,
        "model_version": model.version,
        "model_run_id": model.run_id,
        "input": str(Path(settings.input).resolve()),
        "output": str(Path(settings.output).resolve()),
        "engine": settings.engine,
        "reasons": settings.reasons,
        "chunk_size": settings.chunk_size,
    }


def _record(
    run_id: str,
    settings: ScoreSettings,
    model: ScoringModel,
    sink: ScoreSink,
    seconds: float,
) -> ScoreResult:
    import matplotlib.pyplot as plt
    import mlflow

    from churn_experiments.score.report import histogram_figure, psi_metrics

    share = sink.predicted / sink.scored if sink.scored else float("nan")
    psi = sink.drift.psi_by_column() if sink.drift else {}
    drifted = [c for c, value in psi.items() if value > settings.drift_threshold]
    mlflow.log_metrics(
        {
            "rows": sink.rows,
            "scored_rows": sink.scored,
            "rejected_rows": sink.rejected,
            "churn_share": share,
            "seconds": seconds,
            "rows_per_second": sink.rows / seconds if seconds else 0.0,
            **psi_metrics(psi),
        }
    )
    figure = histogram_figure(sink.histogram)
    mlflow.log_figure(figure, HISTOGRAM_ARTIFACT)
    plt.close(figure)
    if psi:
        mlflow.log_dict(
            {"psi": psi, "threshold": settings.drift_threshold}, "drift.json"
        )
    if drifted:
        mlflow.set_tag("drifted_columns", ",".join(drifted))
        log.warning(
            "drift: population stability index above %g in %s",
            settings.drift_threshold,
            ", ".join(f"{c} ({psi[c]:.2f})" for c in drifted),
        )
    return ScoreResult(
        run_id=run_id,
        model_uri=model.uri,
        model_version=model.version,
        rows=sink.rows,
        scored=sink.scored,
        rejected=sink.rejected,
        churn_share=share,
        seconds=seconds,
        output=Path(settings.output),
        rejects=settings.rejects_path if sink.rejected else None,
        psi=psi,
        drifted=drifted,
    )
