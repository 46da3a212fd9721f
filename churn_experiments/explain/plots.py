"""SHAP's summary bar and beeswarm plots, per encoded feature and per column."""

from __future__ import annotations

import warnings
from typing import Any

from churn_experiments.explain.explainers import Explanation

OUTPUT_LABELS = {
    "probability": "probability of class {}",
    "log_odds": "log-odds of class {}",
    "decision_function": "decision function for class {}",
}


def explanation_figures(explanation: Explanation) -> dict[str, Any]:
    """``summary_bar.png``, ``beeswarm.png`` and their ``*_by_column.png`` twins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    figures = {}
    for suffix, shown in (("", explanation), ("_by_column", explanation.by_column())):
        values = shown.to_shap()
        shown_all = len(shown.feature_names)
        for name, draw, options in (
            ("summary_bar", shap.plots.bar, {}),
            ("beeswarm", shap.plots.beeswarm, {"plot_size": None}),
        ):
            figure, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
            with warnings.catch_warnings():  # all-NaN colours of one-hot columns
                warnings.simplefilter("ignore", RuntimeWarning)
                draw(values, max_display=shown_all, ax=ax, show=False, **options)
            output = OUTPUT_LABELS.get(
                explanation.output_space, "raw output for class {}"
            ).format(explanation.details.get("explained_class", "?"))
            ax.set_title(
                f"{explanation.explainer} SHAP on {len(values)} rows ({output})",
                fontsize=10,
            )
            figure.tight_layout()
            figures[f"{name}{suffix}.png"] = figure
    return figures
