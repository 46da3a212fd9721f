"""Permutation SHAP in NumPy: additive, exact in the limit, seeded, weighted."""

from __future__ import annotations

import itertools
import math

import numpy as np

from churn_experiments.explain.permutation import permutation_values

RNG = np.random.default_rng(7)
COEF = RNG.normal(size=4)
X = RNG.normal(size=(3, 4))
BACKGROUND = RNG.normal(size=(5, 4))
WEIGHTS = RNG.uniform(1, 3, size=5)


def model(rows: np.ndarray) -> np.ndarray:
    """Non-linear, with an interaction: no shortcut makes its SHAP values exact."""
    return np.tanh(rows @ COEF) + rows[:, 0] * rows[:, 1]


def exact_shapley(row: np.ndarray) -> np.ndarray:
    """Every coalition, features outside it taken from the weighted background."""
    weights = WEIGHTS / WEIGHTS.sum()

    def value(coalition: tuple[int, ...]) -> float:
        masked = BACKGROUND.copy()
        masked[:, list(coalition)] = row[list(coalition)]
        return float(weights @ model(masked))

    n = len(row)
    values = np.zeros(n)
    for feature in range(n):
        others = [f for f in range(n) if f != feature]
        for size in range(n):
            share = math.factorial(size) * math.factorial(n - size - 1)
            for coalition in itertools.combinations(others, size):
                gain = value((*coalition, feature)) - value(coalition)
                values[feature] += share / math.factorial(n) * gain
    return values


def test_one_pair_of_permutations_is_additive():
    values, base = permutation_values(model, X, BACKGROUND, WEIGHTS, 8, seed=0)
    np.testing.assert_allclose(base + values.sum(axis=1), model(X), atol=1e-12)
    np.testing.assert_allclose(base, (WEIGHTS / WEIGHTS.sum()) @ model(BACKGROUND))


def test_many_permutations_reach_the_exact_shapley_values():
    values, _ = permutation_values(model, X, BACKGROUND, WEIGHTS, 8_000, seed=0)
    exact = np.array([exact_shapley(row) for row in X])
    np.testing.assert_allclose(values, exact, atol=2e-3)


def test_the_seed_fixes_the_sample():
    first, again, other = (
        permutation_values(model, X, BACKGROUND, WEIGHTS, 8, seed=s)[0]
        for s in (1, 1, 2)
    )
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
