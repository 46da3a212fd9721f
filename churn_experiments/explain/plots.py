"""SHAP's summary bar and beeswarm plots, per encoded feature and per column.

Drawn with matplotlib alone, in SHAP's style (features by mean |SHAP|, largest on
top; beeswarm points coloured by the feature's value, blue low to red high, grey when
a one-hot column has no single value). ``shap.plots.bar`` and ``beeswarm`` drew the
same pictures at about four times the cost (0.35 s a figure here), which dominated an
explanation's time; these need neither SHAP's import nor a layout pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from churn_experiments.explain.explainers import Explanation

OUTPUT_LABELS = {
    "probability": "probability of class {}",
    "log_odds": "log-odds of class {}",
    "decision_function": "decision function for class {}",
}
LOW, HIGH, MISSING = "#008bfb", "#ff0052", "#777777"  # SHAP's colours
SWARM_BINS = 100  # points closer than 1/SWARM_BINS of the range stack up
ROW_INCHES, MIN_INCHES = 0.35, 3.6


def explanation_figures(explanation: Explanation, suffix: str = "") -> dict[str, Any]:
    """``summary_bar{suffix}.png`` and ``beeswarm{suffix}.png`` of ``explanation``.

    The run logs them for the encoded features and, with ``suffix="_by_column"``,
    for :meth:`Explanation.by_column`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = OUTPUT_LABELS.get(
        explanation.output_space, "raw output for class {}"
    ).format(explanation.details.get("explained_class", "?"))
    title = f"{explanation.explainer} SHAP on {len(explanation.values)} rows ({output})"
    order = np.argsort(np.abs(explanation.values).mean(axis=0))  # largest on top
    names = [explanation.feature_names[i] for i in order]
    figures = {}
    for name, draw in (("summary_bar", _bar), ("beeswarm", _beeswarm)):
        figure = plt.figure(figsize=_size(names), dpi=100)
        draw(figure, explanation.values[:, order], explanation.data[:, order], names)
        figure.axes[0].set_title(title, fontsize=10)
        figures[f"{name}{suffix}.png"] = figure
    return figures


def _size(names: list[str]) -> tuple[float, float]:
    return 7.0, max(MIN_INCHES, 1.2 + ROW_INCHES * len(names))


def _axes(figure: Any, names: list[str], right: float) -> Any:
    """Axes with room on the left for the longest name (no layout pass needed)."""
    width, height = figure.get_size_inches()
    left = min(0.45, (0.25 + 0.075 * max(len(n) for n in names)) / width)
    ax = figure.add_axes((left, 0.75 / height, right - left, 1 - 1.25 / height))
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_ylim(-0.6, len(names) - 0.4)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def _bar(figure: Any, values: np.ndarray, data: np.ndarray, names: list[str]) -> None:
    """Mean |SHAP value| per feature, its value printed at the bar's end."""
    importance = np.abs(values).mean(axis=0)
    ax = _axes(figure, names, right=0.95)
    bars = ax.barh(range(len(names)), importance, color=HIGH, height=0.7)
    ax.bar_label(bars, [f"+{v:.3g}" for v in importance], padding=3, fontsize=8)
    ax.set_xlim(0, importance.max() * 1.18 or 1)
    ax.set_xlabel("mean(|SHAP value|)", fontsize=9)


def _beeswarm(
    figure: Any, values: np.ndarray, data: np.ndarray, names: list[str]
) -> None:
    """Each row's SHAP value per feature, stacked where they crowd, coloured by the
    feature's value (5th to 95th percentile, blue to red; grey when unknown)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap

    colours = LinearSegmentedColormap.from_list("shap", [LOW, HIGH])
    ax = _axes(figure, names, right=0.86)
    ax.axvline(0, color="#999999", linewidth=0.8, zorder=0)
    for row in range(len(names)):
        x, value = values[:, row], data[:, row]
        y = row + 0.4 * _swarm(x)
        known = np.isfinite(value)
        ax.scatter(x[~known], y[~known], s=10, color=MISSING, linewidth=0)
        if known.any():
            low, high = np.percentile(value[known], [5, 95])
            if high <= low:
                low, high = value[known].min(), value[known].max()
            scaled = np.clip((value[known] - low) / ((high - low) or 1.0), 0, 1)
            ax.scatter(
                x[known], y[known], c=scaled, cmap=colours, vmin=0, vmax=1, s=10,
                linewidth=0,
            )  # fmt: skip
    ax.set_xlabel("SHAP value (impact on model output)", fontsize=9)
    box = ax.get_position()
    bar = figure.colorbar(
        ScalarMappable(cmap=colours),
        cax=figure.add_axes((0.89, box.y0, 0.015, box.height)),
        ticks=[0, 1],
    )
    bar.ax.set_yticklabels(["Low", "High"], fontsize=8)
    bar.set_label("Feature value", fontsize=9, labelpad=-10)
    bar.outline.set_visible(False)


def _swarm(x: np.ndarray) -> np.ndarray:
    """Vertical offsets in [-1, 1] that spread points sharing an x bin, alternately
    above and below the line, as SHAP's beeswarm does."""
    if len(x) == 0:
        return np.zeros(0)
    span = float(np.ptp(x)) or 1.0
    bins = np.round((x - x.min()) / span * SWARM_BINS).astype(int)
    order = np.argsort(bins, kind="stable")
    ranked = bins[order]
    rank = np.arange(len(x)) - np.searchsorted(ranked, ranked, side="left")
    offsets = np.empty(len(x))
    offsets[order] = np.ceil(rank / 2) * np.where(rank % 2 == 1, 1.0, -1.0)
    return offsets / max(1.0, np.abs(offsets).max())
