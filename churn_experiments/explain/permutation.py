"""Permutation SHAP in NumPy: antithetic permutations against weighted background rows.

The same estimator as ``shap.PermutationExplainer`` (each feature's value is the change
in output when it joins the features before it in a random order, averaged over the
order and its reverse), without its numba kernels: compiling those cost 10 to 25 s the
first time a process explained a model this way, more than the explanation itself.
The background rows (k-means centroids) are weighted by the rows each stands for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def permutation_values(
    output: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    background: np.ndarray,
    weights: np.ndarray,
    coalitions: int,
    seed: int,
) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features) of ``output`` at rows ``X``, and the base value.

    Each antithetic pair of permutations costs ``2 * features`` coalitions, each
    evaluated against every background row; ``coalitions`` per row buys at least
    one pair. ``base + values.sum(axis=1)`` equals ``output(X)``.
    """
    n_rows, n_features = X.shape
    pairs = max(1, coalitions // (2 * n_features))
    weights = np.asarray(weights, dtype=float) / np.sum(weights)
    base = float(weights @ output(background))
    rng = np.random.default_rng(seed)
    steps = np.arange(n_features + 1)[:, None]
    values = np.zeros((n_rows, n_features))
    for i, row in enumerate(X):
        for _ in range(pairs):
            order = rng.permutation(n_features)
            rank = np.empty(n_features, dtype=int)
            rank[order] = np.arange(n_features)
            forward = rank[None, :] < steps  # step k: the first k features of order on
            masks = np.vstack([forward, ~forward[1:-1]])  # then the reverse order's
            masked = np.where(masks[:, None, :], row, background[None, :, :])
            out = output(masked.reshape(-1, n_features)).reshape(len(masks), -1)
            ahead = out @ weights  # forward[0..n], then ~forward[1..n-1]
            reverse = np.concatenate(
                [ahead[n_features : n_features + 1], ahead[n_features + 1 :], ahead[:1]]
            )
            # reverse[j] is the output with ~forward[j] on: feature order[j] joins it
            # when going from ~forward[j + 1] to ~forward[j]
            values[i, order] += np.diff(ahead[: n_features + 1])
            values[i, order] += reverse[:-1] - reverse[1:]
    return values / (2 * pairs), base
