"""Which explainer each model gets, and additivity in the space it explains."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import COLUMNS, MODEL_FILES, fit

from churn_experiments.errors import ConfigError
from churn_experiments.explain import explain
from churn_experiments.explain.explainers import (
    agnostic_plan,
    encode,
    model_output,
    shap_values,
)

HIST_GB = (
    "model=gb",
    "model._target_=sklearn.ensemble.HistGradientBoostingClassifier",
    "~model.n_estimators",
    "~model.subsample",
    "+model.max_iter=30",
)
# model overrides, the explainer auto picks, the output space it explains
AUTO = [
    pytest.param(("model=rf",), "tree", "probability", id="rf"),
    pytest.param(("model=gb",), "tree", "log_odds", id="gb"),
    pytest.param(
        ("model=rf", "model._target_=sklearn.ensemble.ExtraTreesClassifier"),
        "tree",
        "probability",
        id="extra_trees",
    ),
    pytest.param(HIST_GB, "tree", "log_odds", id="hist_gb"),
    pytest.param(("model=lr",), "linear", "log_odds", id="lr"),
    pytest.param(
        ("model=svc", "explain.agnostic.evaluations=60000"),  # exact for 40 rows
        "kernel",
        "decision_function",
        id="svc",
    ),
]


def assert_additive(pipeline, explanation):
    classifier = pipeline.named_steps["classifier"]
    expected = model_output(
        classifier,
        explanation.data,
        explanation.output_space,
        explanation.details["explained_class"],
    )
    np.testing.assert_allclose(
        explanation.base_values + explanation.values.sum(axis=1), expected, atol=1e-6
    )


@pytest.mark.parametrize(("overrides", "explainer", "space"), AUTO)
def test_auto_picks_by_model_type_and_is_additive(overrides, explainer, space):
    pipeline, split, settings = fit(*overrides)
    explanation = explain(pipeline, split, {**settings, "max_rows": 40})
    assert (explanation.explainer, explanation.output_space) == (explainer, space)
    assert explanation.values.shape == (40, 7)
    assert_additive(pipeline, explanation)


@pytest.mark.parametrize("model", MODEL_FILES)
def test_every_model_family_gets_an_additive_explanation(model):
    pipeline, split, settings = fit(f"model={model}")
    explanation = explain(pipeline, split, {**settings, "max_rows": 20})
    assert explanation.feature_names == list(
        pipeline.named_steps["preprocess"].get_feature_names_out()
    )
    assert_additive(pipeline, explanation)


@pytest.mark.parametrize(
    ("model", "explainer", "space"),
    [
        ("lr", "kernel", "probability"),
        ("svc", "permutation", "decision_function"),
    ],
)
def test_model_agnostic_explainers_on_request(model, explainer, space):
    pipeline, split, settings = fit(f"model={model}")
    explanation = explain(
        pipeline,
        split,
        {**settings, "explainer": explainer, "max_rows": 5, "background_size": 10},
    )
    assert (explanation.explainer, explanation.output_space) == (explainer, space)
    assert_additive(pipeline, explanation)


@pytest.mark.parametrize(("model", "explainer"), [("svc", "tree"), ("rf", "linear")])
def test_an_explainer_that_cannot_explain_the_model_says_so(model, explainer):
    pipeline, split, settings = fit(f"model={model}")
    with pytest.raises(ConfigError, match=f"'{explainer}' cannot explain"):
        explain(pipeline, split, {**settings, "explainer": explainer})


@pytest.mark.parametrize(("model", "kind"), [("rf", "tree"), ("lr", "linear")])
def test_repeated_rows_get_the_values_of_explaining_every_row(model, kind):
    """Exact explainers explain each distinct row once and copy it to its repeats."""
    pipeline, split, _ = fit(f"model={model}")
    classifier = pipeline.named_steps["classifier"]
    X = encode(pipeline.named_steps["preprocess"], split.X_train.head(60))
    assert len(np.unique(X, axis=0)) < len(X)  # the tutorial data repeats rows
    background = X[:20]
    values, base, space = shap_values(classifier, kind, X, background, 0, 1)
    for row in range(len(X)):
        alone, alone_base, _ = shap_values(
            classifier, kind, X[row : row + 1], background, 0, 1
        )
        np.testing.assert_array_equal(values[row], alone[0])
        np.testing.assert_array_equal(np.broadcast_to(base, len(X))[row], alone_base)


def test_rows_are_a_seeded_sample_of_the_chosen_split_bounded_by_max_rows():
    pipeline, split, settings = fit("model=gb")
    settings = {**settings, "rows_from": "test", "max_rows": 30}
    first, again = (explain(pipeline, split, settings) for _ in range(2))
    assert len(first.details["rows"]) == 30
    assert set(first.details["rows"]) <= set(split.X_test.index)
    assert first.details["rows"] == again.details["rows"]
    everything = explain(pipeline, split, {**settings, "max_rows": 10_000})
    assert len(everything.values) == len(split.X_test)


def test_model_agnostic_explainers_explain_fewer_rows():
    pipeline, split, settings = fit("model=svc")
    settings = {**settings, "max_rows": 30, "agnostic": {**settings["agnostic"]}}
    settings["agnostic"]["rows"] = 12
    assert len(explain(pipeline, split, settings).values) == 12
    pipeline, split, _ = fit("model=rf")
    assert len(explain(pipeline, split, settings).values) == 30


def test_too_small_an_evaluation_budget_for_permutation_shap_says_so():
    pipeline, split, settings = fit("model=svc")
    settings = {**settings, "explainer": "permutation", "agnostic": {}}
    settings["agnostic"] = {"rows": 5, "background": 5, "evaluations": 10}
    with pytest.raises(ConfigError, match="against 5 background rows; at least 75"):
        explain(pipeline, split, settings)


def test_the_agnostic_budget_drops_rows_before_coalitions():
    budget = {"rows": 100, "background": 10, "evaluations": 30000}
    assert agnostic_plan("kernel", 7, 100, budget) == (23, 126)  # exact, 23 rows
    assert agnostic_plan("permutation", 30, 100, budget) == (49, 61)
    assert agnostic_plan("permutation", 30, 20, budget) == (20, 150)


def test_by_column_keeps_the_total_and_ranks_columns():
    pipeline, split, settings = fit("model=rf")
    explanation = explain(pipeline, split, {**settings, "max_rows": 50})
    by_column = explanation.by_column()
    assert by_column.feature_names == COLUMNS
    np.testing.assert_allclose(
        by_column.values.sum(axis=1), explanation.values.sum(axis=1)
    )
    ranking = by_column.mean_abs()
    assert list(ranking) == sorted(ranking, reverse=True)
