"""Time an rf search with and without 5-fold CV; does the best trial beat the default?

Run: ``python benchmarks/search.py [--trials 30] [--folds 5]``. Each search runs
``python -m churn_experiments -m search=rf`` in a fresh folder (new stores), without
SHAP explanations (a constant cost per trial). The default rf (``model=rf``) is
cross-validated the same way, so the best trial's CV F1 can be read against the
default's, in units of the folds' standard deviation: a gain within one std is
indistinguishable from a lucky draw of hyperparameters.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import fresh_dir, run_timed

NO_EXPLAIN = "explain.enabled=false"


def best_run(folder, metric: str) -> dict[str, float]:
    """Metrics and params of the child run with the highest ``metric`` in the store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("customer_churn_prediction")
    [run] = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and metrics.{metric} >= 0",
        order_by=[f"metrics.{metric} DESC"],
        max_results=1,
    )
    return {**run.data.metrics, **{f"param.{k}": v for k, v in run.data.params.items()}}


def search(trials: int, *overrides: str) -> tuple[float, Path]:
    """Wall seconds of one search and the folder holding its stores."""
    folder = fresh_dir("bench-search-")
    args = ["-m", "churn_experiments", "-m", "search=rf", NO_EXPLAIN]
    seconds, _ = run_timed(
        [*args, f"hydra.sweeper.n_trials={trials}", *overrides], folder
    )
    return seconds, folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    folder = fresh_dir("bench-default-rf-")
    run_timed(
        [
            "-m",
            "churn_experiments",
            "model=rf",
            NO_EXPLAIN,
            f"evaluation.cv.folds={args.folds}",
        ],
        folder,
    )
    default = best_run(folder, "cv_test_f1_mean")
    plain_seconds, plain_folder = search(
        args.trials, "evaluation.cv.folds=null", "leaderboard.sort_by=test_f1"
    )
    cv_seconds, cv_folder = search(args.trials, f"evaluation.cv.folds={args.folds}")
    plain = best_run(plain_folder, "test_f1")
    best = best_run(cv_folder, "cv_test_f1_mean")

    print(f"search=rf, {args.trials} trials, basic launcher, no SHAP")
    print(f"  wall time without CV:       {plain_seconds:7.1f} s")
    print(
        f"  wall time with {args.folds}-fold CV:    {cv_seconds:7.1f} s  "
        f"({cv_seconds / plain_seconds:.2f}x)"
    )
    print(
        f"default rf:            cv F1 {default['cv_test_f1_mean']:.3f} ± "
        f"{default['cv_test_f1_std']:.3f}, test F1 {default['test_f1']:.3f}"
    )
    print(
        f"best trial without CV: test F1 {plain['test_f1']:.3f} "
        "(picked on the test split itself)"
    )
    gain = best["cv_test_f1_mean"] - default["cv_test_f1_mean"]
    print(
        f"best trial with CV:    cv F1 {best['cv_test_f1_mean']:.3f} ± "
        f"{best['cv_test_f1_std']:.3f}, test F1 {best['test_f1']:.3f}; gain over "
        f"the default {gain:+.3f} = {gain / default['cv_test_f1_std']:+.1f} default std"
    )
    swept = (
        "n_estimators",
        "max_depth",
        "min_samples_leaf",
        "max_features",
        "class_weight",
    )
    print("  its parameters: " + ", ".join(f"{p}={best[f'param.{p}']}" for p in swept))


if __name__ == "__main__":
    main()
