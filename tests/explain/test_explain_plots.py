"""The four explanation plots: PNGs at 100 dpi, bars and points in SHAP's colours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from explain_helpers import fit
from PIL import Image

from churn_experiments.explain import explain
from churn_experiments.explain.plots import _ticks, explanation_figures


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(int)


def near(image: np.ndarray, colour: str, within: int = 12) -> int:
    """How many pixels lie within ``within`` of ``colour`` on every channel."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=2) <= within).sum())


def test_each_plot_is_a_png_of_its_size_with_bars_and_points_in_shap_colours():
    pipeline, split, settings = fit("model=rf")
    explanation = explain(pipeline, split, {**settings, "max_rows": 60})
    images = explanation_figures(explanation)
    assert len(images) == 4
    for shown, suffix in ((explanation, ""), (explanation.by_column(), "_by_column")):
        inches = max(3.6, 1.2 + 0.35 * len(shown.feature_names))  # 7 wide, at 100 dpi
        for kind in ("summary_bar", "beeswarm"):
            png = images[f"{kind}{suffix}.png"]
            assert pixels(png).shape == (round(100 * inches), 700, 3)
        bars = pixels(images[f"summary_bar{suffix}.png"])
        assert near(bars, "#ff0052", within=0) > 1000  # solid red bars
        swarm = pixels(images[f"beeswarm{suffix}.png"])[:, : int(0.86 * 700)]
        assert near(swarm, "#008bfb") > 50  # points of low feature values: blue
        assert near(swarm, "#ff0052") > 50  # and of high ones: red


@pytest.mark.parametrize(
    ("low", "high", "labels"),
    [
        (-0.3, 0.55, ["\u22120.2", "0.0", "0.2", "0.4"]),
        (0.0, 1.2, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2"]),
        (-1.1, 1.8, ["\u22121.0", "\u22120.5", "0.0", "0.5", "1.0", "1.5"]),
    ],
)
def test_x_ticks_are_matplotlibs_with_as_many_decimals_as_they_need(low, high, labels):
    assert [text for _, text in _ticks(low, high, bins=8)] == labels
