"""SHAP's summary bar and beeswarm plots, per encoded feature and per column.

Drawn in SHAP's style (features by mean |SHAP|, largest on top; beeswarm points
coloured by the feature's value, blue low to red high, grey when a one-hot column has
no single value), straight into Pillow images: drawn at twice the size and halved
(antialiasing), in matplotlib's DejaVu Sans, with the x ticks matplotlib would choose.
``shap.plots`` drew the same pictures at 0.35 s a figure, matplotlib at about 0.1 s
(mostly creating and laying out ticks and text, which dominated an explanation's
time); this takes about a tenth of that.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
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
DPI = 100  # pixels per inch of the saved PNG
SCALE = 2  # drawn at SCALE times the size, then reduced: smooth edges and text
POINT = DPI / 72 * SCALE  # drawing pixels per typographic point
BLACK, GREY = (0, 0, 0), (153, 153, 153)
MARKER_AREA = 10  # beeswarm point area in points squared (matplotlib's s=10)


def explanation_figures(explanation: Explanation) -> dict[str, bytes]:
    """The four PNGs a run logs: ``summary_bar.png`` and ``beeswarm.png`` of the
    encoded features, ``summary_bar_by_column.png`` and ``beeswarm_by_column.png`` of
    :meth:`Explanation.by_column` (one call: the worker gets the explanation once)."""
    return {
        **_figures(explanation, ""),
        **_figures(explanation.by_column(), "_by_column"),
    }


def _figures(explanation: Explanation, suffix: str) -> dict[str, bytes]:
    """``summary_bar{suffix}.png`` and ``beeswarm{suffix}.png`` of ``explanation``."""
    output = OUTPUT_LABELS.get(
        explanation.output_space, "raw output for class {}"
    ).format(explanation.details.get("explained_class", "?"))
    title = f"{explanation.explainer} SHAP on {len(explanation.values)} rows ({output})"
    order = np.argsort(np.abs(explanation.values).mean(axis=0))  # largest on top
    names = [explanation.feature_names[i] for i in order]
    values, data = explanation.values[:, order], explanation.data[:, order]
    return {
        f"summary_bar{suffix}.png": _png(_bar(values, names, title)),
        f"beeswarm{suffix}.png": _png(_beeswarm(values, data, names, title)),
    }


def _size(names: list[str]) -> tuple[float, float]:
    return 7.0, max(MIN_INCHES, 1.2 + ROW_INCHES * len(names))


@dataclass
class _Axes:
    """A plot area on an image: rows of named features up the y axis, values along
    x from ``low`` to ``high``; coordinates in drawing pixels, y growing down. Text
    is kept aside and written once the image is reduced (:func:`_png`): FreeType
    smooths it at the saved size, at a quarter of the cost."""

    image: Any
    draw: Any
    left: float
    right: float
    top: float
    bottom: float
    low: float
    high: float
    rows: int
    texts: list[tuple[float, float, str, float, str, bool]] = field(
        default_factory=list
    )

    def text(
        self, x: float, y: float, text: str, points: float, anchor: str, *,
        vertical: bool = False,
    ) -> None:  # fmt: skip
        """Write ``text`` at (``x``, ``y``), placed by Pillow's ``anchor``, or
        ``vertical``: turned to read upward, its left edge at ``x``, centred on
        ``y``."""
        self.texts.append((x, y, text, points, anchor, vertical))

    def x(self, value: Any) -> Any:
        span = (self.high - self.low) or 1.0
        return self.left + (np.asarray(value) - self.low) / span * (
            self.right - self.left
        )

    def y(self, row: Any) -> Any:  # y limits -0.6 to rows - 0.4, as SHAP's plots
        return self.bottom - (np.asarray(row) + 0.6) / self.rows * (
            self.bottom - self.top
        )


def _axes(
    names: list[str], right: float, title: str, label: str, low: float, high: float
) -> _Axes:
    """A white image with axes: names as y tick labels (room on the left for the
    longest), x ticks and ``label`` below, ``title`` above; left and bottom spines."""
    from PIL import Image, ImageDraw

    width, height = _size(names)
    size = (round(width * DPI * SCALE), round(height * DPI * SCALE))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    left = min(0.45, (0.25 + 0.075 * max(len(n) for n in names)) / width)
    ax = _Axes(
        image,
        draw,
        left=left * width * DPI * SCALE,
        right=right * width * DPI * SCALE,
        top=0.5 * DPI * SCALE,
        bottom=(height - 0.75) * DPI * SCALE,
        low=low,
        high=high,
        rows=len(names),
    )
    line = max(1, round(0.8 * POINT))
    tick = 3.5 * POINT
    draw.line(
        [(ax.left, ax.top), (ax.left, ax.bottom), (ax.right, ax.bottom)],
        fill=BLACK,
        width=line,
    )
    for row, name in enumerate(names):
        y = float(ax.y(row))
        draw.line([(ax.left - tick, y), (ax.left, y)], fill=BLACK, width=line)
        ax.text(ax.left - 2 * tick, y, name, 9, "rm")
    width_points = (ax.right - ax.left) / POINT
    for value, text in _ticks(low, high, max(1, min(9, int(width_points // 30)))):
        x = float(ax.x(value))
        draw.line([(x, ax.bottom), (x, ax.bottom + tick)], fill=BLACK, width=line)
        ax.text(x, ax.bottom + 2 * tick, text, 9, "mt")
    middle = (ax.left + ax.right) / 2
    ax.text(middle, ax.bottom + 22 * POINT, label, 9, "mt")
    ax.text(middle, ax.top - 6 * POINT, title, 10, "md")
    return ax


def _bar(values: np.ndarray, names: list[str], title: str) -> _Axes:
    """Mean |SHAP value| per feature, its value printed at the bar's end."""
    importance = np.abs(values).mean(axis=0)
    high = float(importance.max() * 1.18) or 1.0
    ax = _axes(names, 0.95, title, "mean(|SHAP value|)", 0.0, high)
    half = 0.35 * (ax.bottom - ax.top) / len(names)
    for row, value in enumerate(importance):
        y, end = float(ax.y(row)), float(ax.x(value))
        ax.draw.rectangle([ax.left, y - half, end, y + half], fill=HIGH)
        ax.text(end + 3 * POINT, y, f"+{value:.3g}", 8, "lm")
    return ax


def _beeswarm(
    values: np.ndarray, data: np.ndarray, names: list[str], title: str
) -> _Axes:
    """Each row's SHAP value per feature, stacked where they crowd, coloured by the
    feature's value (5th to 95th percentile, blue to red; grey when unknown)."""
    from PIL import Image

    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    margin = 0.05 * (high - low) or 1.0  # matplotlib's default margins
    label = "SHAP value (impact on model output)"
    ax = _axes(names, 0.86, title, label, low - margin, high + margin)
    zero = float(ax.x(0.0))
    ax.draw.line([(zero, ax.top), (zero, ax.bottom)], fill=GREY, width=round(POINT))
    radius = math.sqrt(MARKER_AREA) / 2 * POINT
    for row in range(len(names)):
        x, value = values[:, row], data[:, row]
        xs, ys = ax.x(x), ax.y(row + 0.4 * _swarm(x))
        known = np.isfinite(value)
        colours = np.empty((len(x), 3), dtype=np.uint8)
        colours[:] = _rgb(MISSING)
        if known.any():
            low_value, high_value = np.percentile(value[known], [5, 95])
            if high_value <= low_value:
                low_value, high_value = value[known].min(), value[known].max()
            span = (high_value - low_value) or 1.0
            colours[known] = _shade(np.clip((value[known] - low_value) / span, 0, 1))
        order = np.concatenate([np.flatnonzero(~known), np.flatnonzero(known)])
        for x, y, colour in zip(  # grey below
            xs[order].tolist(),
            ys[order].tolist(),
            map(tuple, colours[order].tolist()),
            strict=True,
        ):
            ax.draw.ellipse((x - radius, y - radius, x + radius, y + radius), colour)
    # the colour bar: blue (low) to red (high), at the same height as the axes
    left, right = 0.89 * 7 * DPI * SCALE, 0.905 * 7 * DPI * SCALE
    top, bottom = round(ax.top), round(ax.bottom)
    gradient = _shade(np.linspace(1, 0, bottom - top))[:, None, :]
    strip = np.repeat(gradient, round(right - left), axis=1)
    ax.image.paste(Image.fromarray(strip), (round(left), top))
    for y, text in ((top, "High"), (bottom, "Low")):
        ax.text(right + 4 * POINT, y, text, 8, "lm")
    caption_y = (top + bottom) / 2
    ax.text(right + 14 * POINT, caption_y, "Feature value", 9, "lt", vertical=True)
    return ax


def _ticks(low: float, high: float, bins: int) -> list[tuple[float, str]]:
    """The x ticks matplotlib's default locator puts between ``low`` and ``high``,
    labelled with as many decimals as they need, negative with a true minus sign."""
    from matplotlib.ticker import MaxNLocator

    locator = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10])
    step = (high - low) * 1e-9
    ticks = [
        v for v in locator.tick_values(low, high) if low - step <= v <= high + step
    ]
    decimals = next(
        d
        for d in range(12)
        if all(abs(round(v, d) - v) < 1e-9 * (abs(v) + 1) for v in ticks)
    )
    return [(v, f"{v:.{decimals}f}".replace("-", "\u2212")) for v in ticks]


@functools.cache
def _font(points: float) -> Any:
    """DejaVu Sans (matplotlib's text font) at ``points``, in saved pixels."""
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), round(points * DPI / 72))


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _shade(scaled: np.ndarray) -> np.ndarray:
    """Colours from LOW (0) to HIGH (1), linearly in RGB, as uint8 rows."""
    low, high = np.array(_rgb(LOW), float), np.array(_rgb(HIGH), float)
    return np.rint(low + np.outer(scaled, high - low)).astype(np.uint8)


def _png(ax: _Axes) -> bytes:
    """The image at its saved size (reduced: antialiased) with its text, as PNG."""
    from PIL import Image, ImageDraw

    image = ax.image.reduce(SCALE)
    draw = ImageDraw.Draw(image)
    for x, y, text, points, anchor, vertical in ax.texts:
        if not vertical:
            draw.text((x / SCALE, y / SCALE), text, BLACK, _font(points), anchor)
            continue
        left, top, right, bottom = draw.textbbox((0, 0), text, _font(points), anchor)
        turned = Image.new("L", (right - left, bottom - top))
        ImageDraw.Draw(turned).text((-left, -top), text, 255, _font(points), anchor)
        turned = turned.rotate(90, expand=True)  # reads upward; its top now left
        where = (round(x / SCALE), round(y / SCALE - turned.height / 2))
        box = (*where, where[0] + turned.width, where[1] + turned.height)
        image.paste(BLACK, box, turned)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


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
