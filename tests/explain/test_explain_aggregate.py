"""Encoded features map back to their columns; one-hot SHAP values sum per column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from explain_helpers import fit
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from churn_experiments.explain.aggregate import aggregate, aggregate_data, column_groups

TRAVEL_GROUPS = {
    "FrequentFlyer": ["FrequentFlyer_No Record", "FrequentFlyer_Yes"],
    "AccountSyncedToSocialMedia": ["AccountSyncedToSocialMedia_Yes"],
    "BookedHotelOrNot": ["BookedHotelOrNot_Yes"],
    "Age": ["Age"],
    "AnnualIncomeClass": ["AnnualIncomeClass"],
    "ServicesOpted": ["ServicesOpted"],
}


def test_travel_features_map_back_to_their_columns():
    pipeline, _, _ = fit("model=lr")
    assert column_groups(pipeline.named_steps["preprocess"]) == TRAVEL_GROUPS


def test_one_hot_values_are_summed_into_their_column():
    names = ["Colour_blue", "Colour_red", "Size", "Shape_round"]
    groups = {"Colour": names[:2], "Size": ["Size"], "Shape": ["Shape_round"]}
    values = np.array([[0.1, 0.2, -1.0, 0.5], [-0.3, 0.0, 2.0, 0.0]])
    np.testing.assert_allclose(
        aggregate(values, names, groups), [[0.3, -1.0, 0.5], [-0.3, 2.0, 0.0]]
    )
    data = np.array([[0, 1, 1.5, 1], [1, 0, -0.5, 0]], dtype=float)
    np.testing.assert_array_equal(
        aggregate_data(data, names, groups), [[np.nan, 1.5, 1], [np.nan, -0.5, 0]]
    )


def test_groups_follow_counts_not_names():
    """Underscores in names, no drop, infrequent categories, multi-column scalers."""
    frame = pd.DataFrame(
        {
            "home_town": ["a_b", "a_b", "a_b", "c", "c", "c", "rare"],
            "plan": ["x", "y", "x", "y", "x", "y", "x"],
            "age": [1.0, 2, 3, 4, 5, 6, 7],
            "income_k": [9.0, 8, 7, 6, 5, 4, 3],
        }
    )
    preprocess = ColumnTransformer(
        [
            (
                "nominal",
                OneHotEncoder(min_frequency=2, sparse_output=False),
                ["home_town", "plan"],
            ),
            ("numbers", StandardScaler(), ["age", "income_k"]),
        ],
        verbose_feature_names_out=False,
    ).fit(frame)
    groups = column_groups(preprocess)
    assert {column: len(features) for column, features in groups.items()} == {
        "home_town": 3,  # a_b, c, infrequent
        "plan": 2,
        "age": 1,
        "income_k": 1,
    }
    assert sum(groups.values(), []) == list(preprocess.get_feature_names_out())


def test_a_transformer_mixing_columns_is_refused():
    frame = pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2]})
    preprocess = ColumnTransformer(
        [("poly", PolynomialFeatures(2), ["a", "b"])], verbose_feature_names_out=False
    ).fit(frame)
    with pytest.raises(ValueError, match="cannot tell which"):
        column_groups(preprocess)
