"""Profile the dataset once per sweep: balance, distributions, duplicates, leakage.

Logged on the sweep's parent run under ``profile/`` (``summary.json`` and PNGs) with a
few metrics, and summarised in the log as the sweep starts (``conf/profile``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from churn_experiments.columns import FEATURE_ROLES, columns_with_role
from churn_experiments.data import load_dataset, split_dataset
from churn_experiments.tracking import quiet_downloads
from churn_experiments.validation import validate_config

log = logging.getLogger(__name__)

SPLIT_STRATEGIES = ("random", "group_duplicates")


def leaked_rows(train: pd.DataFrame, test: pd.DataFrame) -> int:
    """How many rows of ``test`` also appear in ``train``, identical in every column."""
    seen = set(pd.util.hash_pandas_object(train, index=False))
    hashes = pd.util.hash_pandas_object(test[list(train.columns)], index=False)
    return int(hashes.isin(seen).sum())


def leakage(frame: pd.DataFrame, dataset: Mapping[str, Any]) -> dict[str, Any]:
    """Test rows found in training under each split strategy, the configured one first.

    Uses :func:`churn_experiments.data.split_dataset`, so the numbers are those of
    the split the jobs get (``random``) and of the one that keeps identical rows on
    one side (``group_duplicates``).
    """
    target = dataset["target"]["column"]
    configured = dataset["split"].get("strategy", "random")
    report = {}
    for strategy in sorted(SPLIT_STRATEGIES, key=lambda s: s != configured):
        split = split_dataset(
            frame, {**dataset, "split": {**dataset["split"], "strategy": strategy}}
        )
        count = leaked_rows(
            split.X_train.assign(**{target: split.y_train}),
            split.X_test.assign(**{target: split.y_test}),
        )
        report[strategy] = {
            "test_rows": len(split.X_test),
            "test_rows_in_train": count,
            "share": count / len(split.X_test),
        }
    return {"configured": configured, "splits": report}


def profile(
    frame: pd.DataFrame, dataset: Mapping[str, Any], leakage_warn_share: float
) -> dict[str, Any]:
    """The JSON summary: class balance, columns by target, missing values per column,
    duplicate rows (ids left out) and ids, and leakage (with ``warning`` set when the
    configured split leaks too much)."""
    target = dataset["target"]["column"]
    features = columns_with_role(dataset, *FEATURE_ROLES)
    balance = frame[target].value_counts().sort_index()
    duplicates = int(frame[[*features, target]].duplicated().sum())
    report = leakage(frame, dataset)
    configured_share = report["splits"][report["configured"]]["share"]
    return {
        "dataset": dataset["name"],
        "rows": len(frame),
        "features": len(features),
        "target": target,
        "class_balance": {
            str(label): {"count": int(count), "share": count / len(frame)}
            for label, count in balance.items()
        },
        "missing_values": {c: int(n) for c, n in frame.isna().sum().items()},
        "duplicate_rows": duplicates,
        "duplicate_share": duplicates / len(frame),
        "duplicate_ids": {
            column: int(frame[column].dropna().duplicated().sum())
            for column in columns_with_role(dataset, "id")
        },
        "columns": {
            column: _describe(frame, column, target, spec)
            for column, spec in features.items()
        },
        "leakage": {
            **report,
            "warn_share": leakage_warn_share,
            "warning": configured_share > leakage_warn_share,
        },
    }


def _describe(
    frame: pd.DataFrame, column: str, target: str, spec: Mapping[str, Any]
) -> dict[str, Any]:
    groups = frame.groupby(target)[column]
    if spec["role"] != "numeric":
        counts = pd.crosstab(frame[column], frame[target])
        return {
            "kind": "categorical",
            "counts_by_target": {
                str(value): {str(t): int(n) for t, n in row.items()}
                for value, row in counts.iterrows()
            },
        }
    stats = groups.agg(["mean", "std", "min", "median", "max"])
    return {
        "kind": "numeric",
        "by_target": {
            str(t): {k: float(v) for k, v in row.items()} for t, row in stats.iterrows()
        },
    }


def render(summary: Mapping[str, Any]) -> str:
    """A few lines for the log."""
    balance = ", ".join(
        f"{label} = {c['count']} ({c['share']:.1%})"
        for label, c in summary["class_balance"].items()
    )
    missing = ", ".join(
        f"{column} {count}"
        for column, count in summary["missing_values"].items()
        if count
    )
    ids = "".join(
        f"; duplicate {column} values: {count}"
        for column, count in summary.get("duplicate_ids", {}).items()
    )
    report = summary["leakage"]
    splits = "; ".join(
        f"{s['test_rows_in_train']} of {s['test_rows']} ({s['share']:.1%}) with "
        f"{strategy}{' (configured)' if strategy == report['configured'] else ''}"
        for strategy, s in report["splits"].items()
    )
    return "\n".join(
        [
            f"Data profile of {summary['dataset']}: {summary['rows']} rows, "
            f"{summary['features']} features, target {summary['target']}",
            f"  class balance: {balance}",
            f"  missing values: {missing or 'none'}; duplicate rows: "
            f"{summary['duplicate_rows']} ({summary['duplicate_share']:.1%}){ids}",
            f"  test rows also in training: {splits}",
        ]
    )


def profile_figures(frame: pd.DataFrame, dataset: Mapping[str, Any]) -> dict[str, Any]:
    """Class balance, each feature by target, and numeric features by each ordinal
    column (``numeric_by_<column>.png``), categories in their declared order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = dataset["target"]["column"]
    labels = sorted(frame[target].unique())
    columns = columns_with_role(dataset, *FEATURE_ROLES)
    numeric = list(columns_with_role(dataset, "numeric"))
    ordinal = {
        column: [str(c) for c in spec["categories"]]
        for column, spec in columns_with_role(dataset, "ordinal").items()
    }
    figures = {}

    figure, ax = plt.subplots(figsize=(4, 3), dpi=100)
    counts = frame[target].value_counts().reindex(labels)
    bars = ax.bar(
        range(len(labels)),
        counts,
        color=[f"C{i}" for i in range(len(labels))],
        tick_label=[str(v) for v in labels],
    )
    ax.bar_label(bars, [f"{c} ({c / len(frame):.0%})" for c in counts])
    ax.margins(y=0.15)
    ax.set(title=f"{target}: class balance", xlabel=target, ylabel="rows")
    figures["class_balance.png"] = figure

    figure, axes = _grid(plt, len(columns))
    for ax, (column, spec) in zip(axes, columns.items(), strict=False):
        if spec["role"] != "numeric":
            _counts(ax, frame, column, spec["categories"], target, labels)
        else:
            _boxes(ax, frame, column, target, labels)
        ax.set_title(f"{column} by {target}", fontsize=10)
    figures["features_by_target.png"] = figure

    for by, order in ordinal.items():
        figure, axes = _grid(plt, len(numeric))
        for ax, column in zip(axes, numeric, strict=False):
            _boxes(ax, frame, column, by, list(order), hue=target, hue_order=labels)
            ax.set_title(f"{column} by {by} and {target}", fontsize=10)
        figures[f"numeric_by_{by}.png"] = figure
    for figure in figures.values():
        figure.tight_layout()
    return figures


def _grid(plt: Any, n: int) -> tuple[Any, list[Any]]:
    cols = min(n, 3)
    rows = -(-n // cols)
    figure, axes = plt.subplots(
        rows, cols, figsize=(4 * cols, 3 * rows), dpi=100, squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return figure, list(axes.flat[:n])


def _counts(
    ax: Any,
    frame: pd.DataFrame,
    column: str,
    categories: Sequence[Any],
    hue: str,
    hue_order: Sequence[Any],
) -> None:
    """A count plot: one bar per category and target value."""
    table = pd.crosstab(frame[column], frame[hue]).reindex(
        index=[str(c) for c in categories], columns=hue_order, fill_value=0
    )
    width = 0.8 / len(hue_order)
    x = np.arange(len(table))
    for i, label in enumerate(hue_order):
        ax.bar(
            x + (i - (len(hue_order) - 1) / 2) * width,
            table[label],
            width,
            label=f"{hue}={label}",
            color=f"C{i}",
        )
    ax.set_xticks(x, table.index, fontsize=8)
    ax.set_ylabel("rows")
    ax.legend(fontsize=7)


def _boxes(
    ax: Any,
    frame: pd.DataFrame,
    column: str,
    by: str,
    order: Sequence[Any],
    hue: str | None = None,
    hue_order: Sequence[Any] = (None,),
) -> None:
    """Box plots of ``column`` per value of ``by``, side by side per ``hue`` value."""
    width = 0.8 / len(hue_order)
    for i, label in enumerate(hue_order):
        rows = frame if hue is None else frame[frame[hue] == label]
        data = [
            rows.loc[rows[by] == value, column].dropna().to_numpy() for value in order
        ]
        parts = ax.boxplot(
            data,
            positions=np.arange(len(order)) + (i - (len(hue_order) - 1) / 2) * width,
            widths=width * 0.9,
            patch_artist=True,
            manage_ticks=False,
            medianprops={"color": "black"},
        )
        for box in parts["boxes"]:
            box.set_facecolor(f"C{i}" if hue else "C0")
        if hue is not None:
            parts["boxes"][0].set_label(f"{hue}={label}")
    ax.set_xticks(np.arange(len(order)), [str(v) for v in order], fontsize=8)
    ax.set(xlabel=by, ylabel=column)
    if hue is not None:
        ax.legend(fontsize=7)


def profile_key(
    frame: pd.DataFrame,
    dataset: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> str:
    """A digest of the rows and of everything else the profile depends on."""
    rows = hashlib.sha256(pd.util.hash_pandas_object(frame).to_numpy().tobytes())
    inputs = {
        "rows": rows.hexdigest(),
        "dataset": {k: dataset.get(k) for k in ("name", "columns", "target", "split")},
        "profile": dict(settings),
    }
    return hashlib.sha256(
        json.dumps(inputs, sort_keys=True, default=str).encode()
    ).hexdigest()


def log_profile(config: DictConfig, run_id: str) -> dict[str, Any]:
    """Profile ``config.dataset`` and log it on ``run_id`` (the sweep's parent run).

    Returns the summary. Warns when the configured split puts more than
    ``profile.leakage_warn_share`` of the test rows, identical, in training. An
    unchanged file is profiled once per store: the parent run is tagged
    ``profile_key`` (:func:`profile_key`), and a later sweep with the same key copies
    that run's ``profile/`` instead of computing it again (tag ``profile_reused_from``).
    """
    import mlflow
    from mlflow.entities import Metric

    from churn_experiments import figures

    validate_config(config, groups=("dataset", "profile"))
    started = time.perf_counter()
    dataset = OmegaConf.to_container(config.dataset, resolve=True)
    settings = OmegaConf.to_container(config.profile, resolve=True)
    frame = load_dataset(dataset)
    key = profile_key(frame, dataset, settings)
    client = mlflow.MlflowClient()
    summary = _reuse(client, key, run_id)
    if summary is None:
        summary = profile(frame, dataset, settings["leakage_warn_share"])
        client.log_dict(run_id, summary, "profile/summary.json")
        if settings.get("plots", True):
            figures.submit(run_id, "profile", profile_figures, frame, dataset)
            figures.collect_unless_deferred()
    client.set_tag(run_id, "profile_key", key)
    log.info("%s", render(summary))
    report = summary["leakage"]
    if report["warning"]:
        log.warning(
            "%.1f%% of the test rows also appear, identical, in training with the "
            "%s split (more than profile.leakage_warn_share = %.1f%%): test metrics "
            "look better than they are. dataset.split.strategy=group_duplicates "
            "keeps identical rows on one side.",
            100 * report["splits"][report["configured"]]["share"],
            report["configured"],
            100 * report["warn_share"],
        )
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[
            Metric("profile_duplicate_rows", summary["duplicate_rows"], now, 0),
            *(
                Metric(f"profile_leakage_share_{strategy}", s["share"], now, 0)
                for strategy, s in report["splits"].items()
            ),
        ],
    )
    log.debug("profile logged in %.2f s", time.perf_counter() - started)
    return summary


def _reuse(client: Any, key: str, run_id: str) -> dict[str, Any] | None:
    """Copy ``profile/`` of the latest run tagged ``key`` onto ``run_id``."""
    import tempfile

    import mlflow

    previous = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"tags.profile_key = '{key}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if not previous:
        return None
    source = previous[0].info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with quiet_downloads():
                folder = mlflow.artifacts.download_artifacts(
                    run_id=source, artifact_path="profile", dst_path=tmp
                )
            summary = json.loads(Path(folder, "summary.json").read_text())
        except Exception as err:  # artifacts deleted or unreadable: profile again
            log.info("profile of run %s not reusable (%s)", source, err)
            return None
        client.log_artifacts(run_id, folder, "profile")
    client.set_tag(run_id, "profile_reused_from", source)
    log.info("data unchanged since sweep %s: its profile is reused", source)
    return summary
