"""Choose a SHAP explainer for a fitted pipeline's classifier and run it.

The classifier is explained on the encoded features the preprocessing step hands it.
Which output is explained (``output_space``), always oriented toward the dataset's
positive label (:func:`churn_experiments.evaluation.positive_scores`):

- ``probability``: the positive class's probability (random forests, extra trees,
  decision trees; any model with ``predict_proba`` under permutation or kernel SHAP);
- ``log_odds``: the positive class's log-odds (gradient boosting, histogram gradient
  boosting, logistic regression, all exact in that space);
- ``decision_function``: for models without probabilities (SVC).

In every space ``base_values + values.sum(axis=1)`` equals :func:`model_output`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn_experiments.data import Split
from churn_experiments.errors import ConfigError
from churn_experiments.evaluation import positive_column, positive_scores
from churn_experiments.explain.aggregate import aggregate, aggregate_data, column_groups
from churn_experiments.explain.permutation import permutation_values

log = logging.getLogger(__name__)

# they cost coalitions x background model evaluations per row (explain.agnostic)
MODEL_AGNOSTIC = ("permutation", "kernel")
KERNEL_MIN_ROWS = 10  # auto picks exact kernel SHAP when the budget pays for this many
SUMMARY_ROWS = 2000  # training rows (a seeded sample) summarised by k-means, at most


@dataclass(frozen=True)
class Explanation:
    """SHAP values of explained rows, in the encoded feature space.

    ``values`` is rows x features, ``base_values`` has one entry per row, and
    ``base_values + values.sum(axis=1)`` is the model output in ``output_space``.
    ``columns`` maps each original column to its encoded features.
    """

    values: np.ndarray
    base_values: np.ndarray
    feature_names: list[str]
    data: np.ndarray
    columns: dict[str, list[str]]
    explainer: str
    output_space: str
    details: dict[str, Any] = field(default_factory=dict)

    def by_column(self) -> Explanation:
        """The same explanation with one-hot features summed into their columns."""
        return Explanation(
            values=aggregate(self.values, self.feature_names, self.columns),
            base_values=self.base_values,
            feature_names=list(self.columns),
            data=aggregate_data(self.data, self.feature_names, self.columns),
            columns={column: [column] for column in self.columns},
            explainer=self.explainer,
            output_space=self.output_space,
            details=self.details,
        )

    def mean_abs(self) -> pd.Series:
        """Mean |SHAP value| per feature, largest first."""
        importance = pd.Series(
            np.abs(self.values).mean(axis=0), index=self.feature_names
        )
        return importance.sort_values(ascending=False)

    def to_shap(self) -> Any:
        """A ``shap.Explanation``, for SHAP's own plots."""
        import shap

        return shap.Explanation(
            values=self.values,
            base_values=self.base_values,
            data=self.data,
            feature_names=self.feature_names,
        )


def model_output(
    classifier: Any, X: np.ndarray, output_space: str, positive: Any
) -> np.ndarray:
    """The ``positive`` label's output on encoded rows, in ``output_space``."""
    return positive_scores(
        classifier, X, positive, probabilities=output_space == "probability"
    )[0]


def choose_explainer(
    classifier: Any, n_features: int, budget: Mapping[str, int]
) -> str:
    """What ``explainer: auto`` picks: tree, linear, or a model-agnostic explainer.

    Kernel SHAP when the ``explain.agnostic`` budget pays for enumerating every
    coalition (exact) of at least ``KERNEL_MIN_ROWS`` rows; otherwise
    the permutation explainer, which spends a sampling budget better.
    """
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    trees = (
        RandomForestClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        DecisionTreeClassifier,
    )
    if isinstance(classifier, trees):
        return "tree"
    if _is_linear(classifier):
        return "linear"
    exact = (2**n_features - 2) * budget["background"] * KERNEL_MIN_ROWS
    return "kernel" if exact <= budget["evaluations"] else "permutation"


def agnostic_plan(
    kind: str, n_features: int, wanted_rows: int, budget: Mapping[str, int]
) -> tuple[int, int]:
    """Rows to explain and coalitions per row, within ``budget["evaluations"]``.

    Each coalition costs one model call per background row. Kernel SHAP takes every
    coalition (``2^n_features - 2``, exact) when one row's worth fits, else it samples
    like the permutation explainer, which needs at least ``2 * n_features + 1`` per
    row. Rows are dropped before coalitions go below that.
    """
    background, evaluations = budget["background"], budget["evaluations"]
    exact = 2**n_features - 2
    minimum = 2 * n_features + 1
    if kind == "kernel" and exact * background <= evaluations:
        minimum = exact
    if minimum * background > evaluations:
        raise ConfigError(
            f"explain.agnostic.evaluations: {evaluations} model evaluations cannot "
            f"explain one row of {n_features} features with {kind} SHAP against "
            f"{background} background rows; at least {minimum * background}"
        )
    rows = max(1, min(wanted_rows, evaluations // (minimum * background)))
    per_row = evaluations // (rows * background)
    return rows, min(per_row, exact) if kind == "kernel" else per_row


def _is_linear(classifier: Any) -> bool:
    """A binary classifier whose decision function is ``X @ coef_ + intercept_``."""
    coef = getattr(classifier, "coef_", None)  # an RBF SVC raises, so reads None
    return (
        isinstance(coef, np.ndarray)
        and coef.shape[0] == 1
        and hasattr(classifier, "intercept_")
        and hasattr(classifier, "decision_function")
    )


def explain(pipeline: Any, split: Split, settings: Mapping[str, Any]) -> Explanation:
    """Explain a seeded sample of rows of ``pipeline`` as ``settings`` say.

    The output explained is the one of the split's positive label (``split.positive``).
    ``settings`` holds the keys of ``conf/explain``: ``explainer``, ``rows_from``,
    ``max_rows``, ``background_size``, ``seed``, and the budget of the model-agnostic
    explainers, ``agnostic``: at most ``rows`` rows, a ``background`` of that many
    k-means centroids of the training rows, at most ``evaluations`` model
    evaluations in all (:func:`agnostic_plan`). The rows and the background are
    drawn from separate streams, so changing one size leaves the other sample as it
    was. The same as ``compute(plan(pipeline, split, settings))``.
    """
    return compute(plan(pipeline, split, settings))


@dataclass(frozen=True)
class Plan:
    """An explanation decided but not computed: the classifier, the explainer, the
    encoded rows to explain (``rows``: their index labels in the split) and background
    rows. Picklable, and smaller than the pipeline and split it comes from;
    :func:`compute` computes it, in this process or in a worker. Model-agnostic
    explainers summarise ``background`` into ``background_size`` k-means centroids
    and spend at most ``max_evaluations`` (None for the others).
    """

    classifier: Any
    kind: str
    X: np.ndarray
    rows: list[Any]
    rows_from: str
    background: np.ndarray
    background_size: int | None
    max_evaluations: int | None
    feature_names: list[str]
    columns: dict[str, list[str]]
    seed: int
    positive: Any
    coalitions: int | None


def plan(pipeline: Any, split: Split, settings: Mapping[str, Any]) -> Plan:
    """Choose the explainer, check it fits the model and its budget (a
    :class:`ConfigError` otherwise), sample and encode the rows and the background:
    the cheap part of :func:`explain`, which needs no SHAP."""
    preprocess = pipeline.named_steps["preprocess"]
    classifier = pipeline.named_steps["classifier"]
    names = [str(n) for n in preprocess.get_feature_names_out()]
    budget = settings["agnostic"]
    kind = settings["explainer"]
    if kind == "auto":
        kind = choose_explainer(classifier, len(names), budget)
    if kind == "linear":
        _check_linear(classifier)
    max_rows, coalitions = settings["max_rows"], None
    if kind in MODEL_AGNOSTIC:
        wanted = min(max_rows, budget["rows"])
        max_rows, coalitions = agnostic_plan(kind, len(names), wanted, budget)
    rows_rng, background_rng = (
        np.random.default_rng(stream)
        for stream in np.random.SeedSequence(settings["seed"]).spawn(2)
    )
    source = split.X_train if settings["rows_from"] == "train" else split.X_test
    rows = source.sample(n=min(max_rows, len(source)), random_state=rows_rng)
    agnostic = kind in MODEL_AGNOSTIC
    if agnostic:
        background = _summary_rows(split.X_train, background_rng)
    else:
        background = split.X_train.sample(
            n=min(settings["background_size"], len(split.X_train)),
            random_state=background_rng,
        )
    return Plan(
        classifier=classifier,
        kind=kind,
        X=encode(preprocess, rows),
        rows=[_plain(i) for i in rows.index],
        rows_from=settings["rows_from"],
        background=encode(preprocess, background),
        background_size=budget["background"] if agnostic else None,
        max_evaluations=budget["evaluations"] if agnostic else None,
        feature_names=names,
        columns=column_groups(preprocess),
        seed=settings["seed"],
        positive=split.positive,
        coalitions=coalitions,
    )


def compute(plan: Plan) -> Explanation:
    """The SHAP values :func:`plan` decided on (imports SHAP where it needs it)."""
    started = time.perf_counter()
    background: Any = plan.background
    budget: dict[str, Any] = {}
    if plan.background_size is not None:  # summarised, as the budget counts it
        background = _kmeans(plan.background, plan.background_size)
        rows, size = len(plan.X), len(background.data)
        budget["budget"] = {
            "rows": rows,
            "background": size,
            "background_summary": "kmeans",
            "coalitions_per_row": plan.coalitions,
            "evaluations": rows * size * plan.coalitions,
            "max_evaluations": plan.max_evaluations,
        }
    values, base_values, output_space = shap_values(
        plan.classifier,
        plan.kind,
        plan.X,
        background,
        plan.seed,
        plan.positive,
        plan.coalitions,
    )
    seconds = time.perf_counter() - started
    log.info(
        "SHAP (%s, %s) on %d rows x %d features in %.2f s",
        plan.kind,
        output_space,
        *plan.X.shape,
        seconds,
    )
    return Explanation(
        values=values,
        base_values=np.broadcast_to(base_values, len(plan.X)).astype(float),
        feature_names=plan.feature_names,
        data=plan.X,
        columns=plan.columns,
        explainer=plan.kind,
        output_space=output_space,
        details={
            "explained_class": _plain(plan.positive),
            "rows_from": plan.rows_from,
            "background_size": len(getattr(background, "data", background)),
            "seconds": seconds,
            "rows": plan.rows,  # index labels of the split
            **budget,
        },
    )


def summarised(preprocess: Any, rows: pd.DataFrame, size: int, seed: Any) -> Any:
    """SHAP's summary of raw ``rows``, encoded: ``size`` k-means centroids (``.data``,
    each feature rounded to a value it takes, so one-hot features stay 0 or 1) weighted
    by the rows each stands for (``.weights``).

    Beyond ``SUMMARY_ROWS`` rows, a sample of that many drawn with ``seed`` (an int or
    a NumPy generator) is summarised: k-means on 5,600 rows took seconds, as long as
    the explanation itself.
    """
    return _kmeans(encode(preprocess, _summary_rows(rows, seed)), size)


def _summary_rows(rows: pd.DataFrame, seed: Any) -> pd.DataFrame:
    """At most ``SUMMARY_ROWS`` of ``rows``, a sample drawn with ``seed``."""
    if len(rows) > SUMMARY_ROWS:
        return rows.sample(n=SUMMARY_ROWS, random_state=seed)
    return rows


def _kmeans(X: np.ndarray, size: int) -> Any:
    import shap

    return shap.kmeans(X, min(size, len(X)))


def encode(preprocess: Any, frame: pd.DataFrame) -> np.ndarray:
    """Raw rows through the fitted preprocessing step, as a dense float array."""
    encoded = preprocess.transform(frame)
    if hasattr(encoded, "toarray"):  # a sparse one-hot block
        encoded = encoded.toarray()
    return np.asarray(encoded, dtype=float)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


Result = tuple[np.ndarray, np.ndarray, str]


def _toward_positive(
    classifier: Any, positive: Any, values: np.ndarray, base: Any, space: str
) -> Result:
    """SHAP values of ``classes_[1]``'s output, turned toward ``positive``."""
    if positive_column(classifier.classes_, positive) == 1:
        return values, base, space
    return -values, (1 - base if space == "probability" else -base), space


def _tree(
    classifier: Any, X: np.ndarray, background: np.ndarray, seed: int, *, positive: Any
) -> Result:
    """Exact path-dependent Tree SHAP on the trees' raw output (needs no background)."""
    import shap

    try:
        explainer = shap.TreeExplainer(
            classifier, feature_perturbation="tree_path_dependent"
        )
    except Exception as err:  # shap raises InvalidModelError and others
        raise ConfigError(
            f"explain.explainer: 'tree' cannot explain {type(classifier).__name__} "
            f"({err}); use auto, permutation or kernel"
        ) from err
    result = explainer(X)
    values, base_values = result.values, result.base_values
    space = explainer.model.tree_output
    space = space if space in ("probability", "log_odds") else "raw"
    if values.ndim == 3:  # one output per class: keep the positive class
        column = positive_column(classifier.classes_, positive)
        return values[:, :, column], base_values[:, column], space
    return _toward_positive(classifier, positive, values, base_values, space)


def _linear(
    classifier: Any, X: np.ndarray, background: np.ndarray, seed: int, *, positive: Any
) -> Result:
    """Exact linear SHAP of the decision function, features independent."""
    import shap

    _check_linear(classifier)
    model = (classifier.coef_[0], float(np.ravel(classifier.intercept_)[0]))
    result = shap.LinearExplainer(
        model, shap.maskers.Independent(background, max_samples=len(background))
    )(X)
    space = "log_odds" if hasattr(classifier, "predict_proba") else "decision_function"
    return _toward_positive(
        classifier, positive, result.values, result.base_values, space
    )


def _check_linear(classifier: Any) -> None:
    if not _is_linear(classifier):
        raise ConfigError(
            f"explain.explainer: 'linear' cannot explain {type(classifier).__name__} "
            "(it has no single coef_ row); use auto, permutation or kernel"
        )


def _agnostic_space(classifier: Any) -> str:
    return (
        "probability" if hasattr(classifier, "predict_proba") else "decision_function"
    )


def _permutation(
    classifier: Any,
    X: np.ndarray,
    background: Any,
    seed: int,
    *,
    positive: Any,
    coalitions: int,
) -> Result:
    """Antithetic permutation sampling, ``coalitions`` masked rows per explained row,
    against the background centroids weighted by cluster size
    (:func:`.permutation.permutation_values`)."""
    space = _agnostic_space(classifier)
    data = getattr(background, "data", background)  # a k-means summary, or rows
    weights = getattr(background, "weights", None)
    values, base = permutation_values(
        lambda rows: model_output(classifier, rows, space, positive),
        X,
        data,
        np.ones(len(data)) if weights is None else weights,
        coalitions,
        seed,
    )
    return values, np.full(len(X), base), space


def _kernel(
    classifier: Any,
    X: np.ndarray,
    background: Any,
    seed: int,
    *,
    positive: Any,
    coalitions: int,
) -> Result:
    """Kernel SHAP against the weighted background centroids.

    With all ``2^features - 2`` coalitions the values are exact and ``seed`` is not
    needed; with fewer it samples ``coalitions`` of them with NumPy's global random
    state (shap takes no seed).
    """
    import shap

    space = _agnostic_space(classifier)
    explainer = shap.KernelExplainer(
        lambda rows: model_output(classifier, rows, space, positive), background
    )
    shap_log = logging.getLogger("shap")
    level = shap_log.level
    shap_log.setLevel(logging.WARNING)  # it logs each row's internals at INFO
    try:
        values = explainer.shap_values(
            X, nsamples=coalitions, l1_reg=False, silent=True
        )
    finally:
        shap_log.setLevel(level)
    return np.asarray(values), np.asarray(explainer.expected_value), space


def shap_values(
    classifier: Any,
    kind: str,
    X: np.ndarray,
    background: Any,
    seed: int,
    positive: Any,
    coalitions: int | None = None,
) -> Result:
    """SHAP values, base values and output space of encoded rows ``X``.

    ``kind`` is tree, linear, permutation or kernel (see :func:`choose_explainer`);
    ``background`` holds encoded training rows (unused by Tree SHAP) or, for
    permutation and kernel SHAP, their k-means summary; ``coalitions`` per row is
    the budget of those two (:func:`agnostic_plan`). The output explained is the
    ``positive`` label's (higher: more likely positive).

    Tree and linear SHAP are exact and a row's values depend on that row alone, so
    each distinct row is explained once and its values copied to its repeats (the
    tutorial's 763 training rows hold 366 distinct ones: Tree SHAP of a random forest
    takes half the time, with the same values).
    """
    if kind in MODEL_AGNOSTIC:
        return _RUNNERS[kind](
            classifier, X, background, seed, positive=positive, coalitions=coalitions
        )
    distinct, inverse = np.unique(X, axis=0, return_inverse=True)
    if len(distinct) == len(X):
        return _RUNNERS[kind](classifier, X, background, seed, positive=positive)
    values, base_values, space = _RUNNERS[kind](
        classifier, distinct, background, seed, positive=positive
    )
    inverse = inverse.ravel()
    if np.ndim(base_values):
        base_values = np.asarray(base_values)[inverse]
    return values[inverse], base_values, space


_RUNNERS = {
    "tree": _tree,
    "linear": _linear,
    "permutation": _permutation,
    "kernel": _kernel,
}
