"""Compare the winner with an alias holder on the same held-out rows.

Both models are scored on the winner's test split, rebuilt from the winner's logged
``config.yaml`` (the holder may come from another run or data version), with the
metric function the jobs use (:func:`churn_experiments.evaluation.score`). With
``rows: unseen`` (the default) only the test rows that neither model trained on are
kept, compared by content (features and target): the holder's training rows are
rebuilt from its own run's ``config.yaml``, and a row duplicated into a training set
counts as seen. Otherwise a holder trained on another split is scored on rows it
learnt (with the tutorial data, 177 of 191 for seeds 124 and 7). ``rows:
test_split`` keeps the whole test split. A cross-validated select metric
(``cv_test_f1_mean``) is compared through the test score it averages (``test_f1``).
A holder whose data contract (the input columns and their specs,
``data_contract.json`` of the logged model) differs from the winner's belongs to
another dataset: :class:`ContractMismatch` refuses the comparison. A paired test may
be required on top of the margin:

- ``bootstrap``: the rows are resampled with replacement (a seeded numpy Generator);
  the improvement's one-sided lower bound at level ``alpha`` must exceed the margin.
  The recorded interval is the (1 - 2 alpha) percentile interval.
- ``mcnemar``: an exact binomial test on the rows exactly one model classifies
  correctly (one-sided: the winner is right more often); ``p`` must be below
  ``alpha``. It tests per-row correctness (accuracy), whatever the select metric.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from churn_experiments.errors import ChurnExperimentsError
from churn_experiments.metric_names import confusion, definition
from churn_experiments.policy.spec import PolicyError
from churn_experiments.tracking import quiet_downloads

if TYPE_CHECKING:
    import pandas as pd

    from churn_experiments.data import Split
    from churn_experiments.policy.registry import Holder
    from churn_experiments.policy.rules import Candidate
    from churn_experiments.validation import Settings

log = logging.getLogger(__name__)


class ContractMismatch(PolicyError):
    """The alias holder takes other input columns than the winner (another dataset)."""


@dataclass(frozen=True)
class Comparison:
    """The winner against the alias holder, both re-scored on the same rows."""

    alias: str
    holder_version: str
    metric: str
    candidate_value: float | None
    holder_value: float | None
    improvement: float | None  # oriented: positive means the winner is better
    margin: float
    rows: int  # the rows both were scored on
    excluded: int  # test rows left out because a model trained on them
    test: str | None
    interval: tuple[float, float] | None
    p_value: float | None
    passed: bool
    reason: str


def compare(
    rule: Settings,  # the policy's compare_to block
    metric: str,
    mode: str,
    candidate: Candidate,
    holder: Holder,
    holder_model_uri: str,
    holder_artifact_uri: str | None,
) -> Comparison:
    """Re-score ``candidate`` and the holder on the same held-out rows."""
    from churn_experiments.evaluation import score

    split = rebuild_split(run_dataset(candidate.run_id, candidate.artifact_uri))
    positive = split.positive
    (new, new_contract), (old, old_contract) = (
        load_model(candidate.model_uri),
        load_model(holder_model_uri),
    )
    check_same_contract(new_contract, old_contract, rule.alias, holder.version)
    _check_logged(candidate, metric, score(new, split)[metric])
    total = len(split.y_test)
    if rule.rows == "unseen":
        split = unseen_rows(split, holder, holder_artifact_uri)
    base = {
        "alias": rule.alias,
        "holder_version": holder.version,
        "metric": metric,
        "margin": rule.margin,
        "rows": len(split.y_test),
        "excluded": total - len(split.y_test),
    }
    try:
        candidate_value = score(new, split)[metric]
        holder_value = score(old, split)[metric]
    except ValueError as err:  # no rows left, or one class only (ROC AUC)
        return Comparison(
            **base,
            candidate_value=None,
            holder_value=None,
            improvement=None,
            test=None,
            interval=None,
            p_value=None,
            passed=False,
            reason=f"{metric} cannot be computed on the {len(split.y_test)} test "
            f"rows neither model trained on: {err}",
        )
    sign = 1.0 if mode == "max" else -1.0
    improvement = sign * (candidate_value - holder_value)
    base |= {
        "candidate_value": candidate_value,
        "holder_value": holder_value,
        "improvement": improvement,
    }
    beats = improvement > rule.margin
    verdict = (
        f"{metric} {candidate_value:.4f} vs {holder_value:.4f} (version "
        f"{holder.version}) on {len(split.y_test)} rows: improvement "
        f"{improvement:+.4f}, margin {rule.margin:g}"
    )
    test = rule.significance
    if test is None:
        return Comparison(
            **base, test=None, interval=None, p_value=None, passed=beats, reason=verdict
        )
    truth = (split.y_test == positive).to_numpy()
    new_out, old_out = outputs(new, split), outputs(old, split)
    if test.test == "bootstrap":
        low, high = bootstrap_interval(
            metric, sign, truth, new_out, old_out, test.alpha, test.resamples, test.seed
        )
        passed = beats and low > rule.margin
        detail = (
            f"bootstrap {1 - 2 * test.alpha:.0%} CI of the improvement "
            f"[{low:+.4f}, {high:+.4f}] ({test.resamples} resamples)"
        )
        return Comparison(
            **base,
            test="bootstrap",
            interval=(low, high),
            p_value=None,
            passed=passed,
            reason=f"{verdict}; {detail}"
            + ("" if low > rule.margin else f": lower end not above {rule.margin:g}"),
        )
    p_value, right, wrong = mcnemar(truth, new_out[0], old_out[0])
    passed = beats and p_value < test.alpha
    return Comparison(
        **base,
        test="mcnemar",
        interval=None,
        p_value=p_value,
        passed=passed,
        reason=f"{verdict}; McNemar exact p = {p_value:.4f} (winner alone right on "
        f"{right} rows, holder alone on {wrong}), alpha {test.alpha:g}",
    )


def _check_logged(candidate: Candidate, metric: str, rescored: float) -> None:
    logged = candidate.metrics.get(metric)
    if logged is not None and abs(logged - rescored) > 1e-9:
        log.warning(
            "run %s logged %s = %.4f but scores %.4f on its rebuilt test split "
            "(the data changed?); comparing re-scored values",
            candidate.run_id,
            metric,
            logged,
            rescored,
        )


def unseen_rows(split: Split, holder: Holder, holder_artifact_uri: str | None) -> Split:
    """``split`` with only the test rows neither model trained on (by content)."""
    from churn_experiments.data import Split

    if holder.run_id is None or holder_artifact_uri is None:
        raise PolicyError(
            f"version {holder.version} was not registered from a run, so the rows it "
            "trained on are unknown; set compare_to.rows: test_split to score it on "
            "the winner's whole test split"
        )
    try:
        trained = rebuild_split(run_dataset(holder.run_id, holder_artifact_uri))
    except ChurnExperimentsError as err:
        raise PolicyError(
            f"cannot rebuild the rows version {holder.version} (run {holder.run_id}) "
            f"trained on: {err}; compare_to.rows: test_split skips this"
        ) from err
    seen = set(_row_hashes(split.X_train, split.y_train))
    seen |= set(_row_hashes(trained.X_train, trained.y_train))
    keep = ~_row_hashes(split.X_test, split.y_test).isin(seen).to_numpy()
    return Split(
        split.X_train,
        split.X_test[keep],
        split.y_train,
        split.y_test[keep],
        split.positive,
    )


def _row_hashes(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.util.hash_pandas_object(pd.concat([X, y], axis=1), index=False)


def run_dataset(run_id: str, artifact_uri: str) -> dict[str, Any]:
    """The ``dataset`` section of a run's logged ``config.yaml``."""
    from omegaconf import OmegaConf

    text = run_config_text(run_id, artifact_uri)
    return OmegaConf.to_container(OmegaConf.create(text).dataset, resolve=True)


def run_config_text(run_id: str, artifact_uri: str) -> str:
    """The text of a run's ``config.yaml`` artifact."""
    from mlflow.store.artifact.artifact_repository_registry import (
        get_artifact_repository,
    )

    repository = get_artifact_repository(artifact_uri)
    with tempfile.TemporaryDirectory() as folder, quiet_downloads():
        try:
            path = repository.download_artifacts("config.yaml", folder)
        except Exception as err:
            raise PolicyError(
                f"run {run_id} has no readable config.yaml artifact, so its "
                f"split cannot be rebuilt: {err}"
            ) from err
        return Path(path).read_text()


def rebuild_split(dataset: dict[str, Any]) -> Split:
    """The train/test split a run used, from its dataset config."""
    from churn_experiments.data import load_dataset, split_dataset

    return split_dataset(load_dataset(dataset), dataset)


def load_model(uri: str) -> tuple[Any, dict[str, Any] | None]:
    """A logged scikit-learn pipeline and its data contract (None if it has none).

    A clear PolicyError when it cannot load.
    """
    import mlflow

    from churn_experiments.model_flavor import read_contract

    try:
        with tempfile.TemporaryDirectory() as folder, quiet_downloads():
            path = mlflow.artifacts.download_artifacts(uri, dst_path=folder)
            return mlflow.sklearn.load_model(path), read_contract(path)
    except Exception as err:
        raise PolicyError(f"cannot load model {uri}: {err}") from err


def check_same_contract(
    winner: dict[str, Any] | None,
    holder: dict[str, Any] | None,
    alias: str,
    version: str,
) -> None:
    """Refuse to compare models that take different inputs; one sentence says how."""
    if winner is None or holder is None or winner == holder:
        return
    if list(winner) != list(holder):
        difference = (
            f"it takes {', '.join(holder)}; the winner takes {', '.join(winner)}"
        )
    else:
        column = next(name for name in winner if winner[name] != holder[name])
        difference = (
            f"column '{column}' is {holder[column]} there and {winner[column]} here"
        )
    raise ContractMismatch(
        f"version {version} (@{alias}) was trained on another data contract than "
        f"the winner ({difference}), so it belongs to another dataset or data "
        "version; give each dataset its own registered_model in its dataset file, "
        "or set compare_to: null to promote without comparing"
    )


def outputs(model: Any, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Whether each test row is predicted positive, and the positive-class scores."""
    from churn_experiments.evaluation import positive_scores

    predicted = np.asarray(model.predict(split.X_test)) == split.positive
    return predicted, positive_scores(model, split.X_test, split.positive)[0]


def bootstrap_interval(
    metric: str,
    sign: float,
    truth: np.ndarray,
    new: tuple[np.ndarray, np.ndarray],
    old: tuple[np.ndarray, np.ndarray],
    alpha: float,
    resamples: int,
    seed: int,
) -> tuple[float, float]:
    """The (alpha, 1 - alpha) percentiles of the oriented improvement's bootstrap."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(truth), size=(resamples, len(truth)))
    diff = sign * (
        resampled_metric(metric, truth, *new, rows)
        - resampled_metric(metric, truth, *old, rows)
    )
    low, high = np.nanquantile(diff, [alpha, 1 - alpha])
    return float(low), float(high)


def resampled_metric(
    metric: str,
    truth: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """``metric`` on each row sample (one per line of ``rows``), as
    :mod:`churn_experiments.metric_names` defines it.

    ``truth`` and ``predicted`` say whether each row is (predicted) positive.
    Count-based scores are computed for all samples at once; ranking scores (ROC AUC,
    log loss) per sample, NaN where a sample holds one class only.
    """
    score = definition(metric)
    if score.counts is not None:
        return score.counts(*confusion(truth[rows], predicted[rows]))
    return np.array(
        [
            score.ranking(truth[sample], scores[sample])
            if truth[sample].any() and not truth[sample].all()
            else np.nan
            for sample in rows
        ]
    )


def mcnemar(
    truth: np.ndarray, new: np.ndarray, old: np.ndarray
) -> tuple[float, int, int]:
    """One-sided exact McNemar: p, rows only the winner gets right, only the holder.

    ``new`` and ``old`` say whether each model predicts each row positive.
    """
    from scipy.stats import binomtest

    new_right, old_right = new == truth, old == truth
    right = int((new_right & ~old_right).sum())
    wrong = int((~new_right & old_right).sum())
    if right + wrong == 0:
        return 1.0, 0, 0
    return (
        binomtest(right, right + wrong, 0.5, alternative="greater").pvalue,
        right,
        wrong,
    )
