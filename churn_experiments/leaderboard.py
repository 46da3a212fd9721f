"""The end-of-sweep leaderboard: the child runs of a parent run, ranked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from churn_experiments.metric_names import (
    CV_METRICS,
    CV_STATS,
    LOSSES,
    TEST_SCORES,
    cv_name,
    held_out_score,
)

LEADERBOARD_COLUMNS = ("model", *TEST_SCORES, "fit_seconds", "run_id")


def child_runs(experiment_id: str, parent_run_id: str) -> pd.DataFrame:
    """All runs attached to ``parent_run_id``, any status (``mlflow.search_runs``)."""
    import mlflow

    return mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        output_format="pandas",
    )


def build_leaderboard(
    runs: pd.DataFrame,
    sort_by: str,
    ascending: bool = False,
    params: Sequence[str] = (),
) -> pd.DataFrame:
    """Finished runs ranked by ``sort_by``: model, test metrics, fit time, run id.

    A sweep that varies more than the model shows each run's swept values
    (``n_estimators=50 max_depth=null``, the run's tag ``swept``). A search's runs
    show their trial number and instead a column per swept hyperparameter in
    ``params``; when ``sort_by`` is cross-validated, its mean and std too.
    """
    finished = runs[runs["status"] == "FINISHED"] if len(runs) else runs
    columns = {"model": finished.get("tags.model_family", pd.Series(dtype=str))}
    if "tags.search_trial" in finished:
        columns["trial"] = pd.to_numeric(finished["tags.search_trial"]).astype("Int64")
    for name in params:
        columns[name] = finished.get(f"params.{name}", pd.Series(dtype=str))
    if not params and finished.get("tags.swept", pd.Series()).notna().any():
        columns["swept"] = finished["tags.swept"].fillna("")
    metrics = list(LEADERBOARD_COLUMNS[1:-1])
    if sort_by in CV_METRICS:
        score = held_out_score(sort_by)
        metrics = [cv_name(score, stat) for stat in CV_STATS] + metrics
    table = pd.DataFrame(
        {
            **columns,
            **{
                name: finished.get(f"metrics.{name}", pd.Series(dtype=float))
                for name in metrics
            },
            "run_id": finished.get("run_id", pd.Series(dtype=str)),
        }
    )
    return table.sort_values(
        sort_by, ascending=ascending, na_position="last"
    ).reset_index(drop=True)


def failed_jobs(runs: pd.DataFrame) -> Sequence[str]:
    """One line per child run that did not finish: model, run id and recorded error."""
    if not len(runs):
        return []
    failed = runs[runs["status"] != "FINISHED"]
    if "tags.search_pruned" in failed:  # stopped by a search's pruner, not failed
        failed = failed[failed["tags.search_pruned"].isna()]
    return [
        f"{row.get('tags.mlflow.runName') or row.get('tags.model_family')} "
        f"(run {row['run_id']}, {row['status']}): "
        f"{row.get('tags.error') or 'no error recorded'}"
        for _, row in failed.iterrows()
    ]


def render(table: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table with metrics to 3 decimals."""
    return table.to_markdown(index=False, floatfmt=".3f")


def figures(table: pd.DataFrame, sort_by: str) -> dict[str, Any]:
    """``leaderboard.png``: each model's test metrics as grouped bars, in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [c for c in table if c in TEST_SCORES and c not in LOSSES]
    labels = table["model"].astype(str)
    if "trial" in table:  # a search: one bar group per trial
        labels = labels + " #" + table["trial"].astype(str)
    elif "swept" in table:  # rf, then n_estimators=50, max_depth=null: a line each
        labels = (labels + " " + table["swept"]).str.strip().str.replace(" ", "\n")
    widest = max((len(line) for text in labels for line in text.split("\n")), default=0)
    group = max(1.2, 0.1 * widest)  # inches per bar group: its label fits under it
    fig, ax = plt.subplots(figsize=(max(8, 2 + group * len(table)), 4), dpi=100)
    table.set_index(labels)[metrics].plot.bar(ax=ax, rot=0, width=0.8)
    ax.tick_params(axis="x", labelsize="small")
    ax.set_xlabel("")
    ax.set_ylim(0, 1)
    ax.set_ylabel("score on the test split")
    ax.set_title(f"Leaderboard (sorted by {sort_by})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.tight_layout()
    return {"leaderboard.png": fig}
