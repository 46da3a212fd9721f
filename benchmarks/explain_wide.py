"""The model-agnostic explanation of an SVC on wide data, within its declared budget.

Run: ``python benchmarks/explain_wide.py [--reference-evaluations 300000]``. The data
is scikit-learn's ``make_classification``: 7,000 rows, 30 numeric features (8 of them
informative, 4 redundant), 23% positives; our pipeline (a scaler per column, then
``conf/model/svc.yaml``) is fitted on the usual 80% split. Then, in one MLflow store:

- budgeted: ``explain_and_log`` with ``conf/explain`` as it is (``explain.agnostic``),
  timed with everything it logs (arrays, JSON, four plots, metrics, tags);
- reference: ``explain`` with ``--reference-evaluations`` model evaluations (10x the
  default budget, 100 rows), standing in for an unbounded run;

and prints the seconds (target: budgeted <= 10 s), the model's evaluations per second
on this machine, the top-5 features by mean |SHAP| of both and how many they share.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import PROJECT
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from churn_experiments.data import split_dataset
from churn_experiments.explain import explain, explain_and_log
from churn_experiments.pipeline import build_pipeline

ROWS, FEATURES, SEED = 7000, 30, 124
COLUMNS = [f"x{i:02d}" for i in range(FEATURES)]
DATASET = {  # every column numeric (conf/features scales each one), no encoder
    "name": "wide",
    "columns": {
        **{column: {"role": "numeric", "dtype": "float"} for column in COLUMNS},
        "Target": {"role": "target", "dtype": "int"},
    },
    "target": {"column": "Target", "positive": 1},
    "split": {"test_size": 0.2, "seed": SEED},
}


def wide_frame() -> pd.DataFrame:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=ROWS,
        n_features=FEATURES,
        n_informative=8,
        n_redundant=4,
        class_sep=1.5,
        flip_y=0.01,
        weights=[0.77],
        random_state=SEED,
    )
    frame = pd.DataFrame(X, columns=COLUMNS)
    return frame.assign(Target=y)


def top5(explanation) -> list[str]:
    return list(explanation.mean_abs().index[:5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-evaluations", type=int, default=300_000)
    args = parser.parse_args()
    import mlflow

    folder = Path(tempfile.mkdtemp(prefix="bench-explain-wide-"))
    os.chdir(folder)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    with initialize_config_dir(str(PROJECT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["model=svc"])
    frame = wide_frame()
    split = split_dataset(frame, DATASET)
    pipeline = build_pipeline(cfg.features, cfg.model, DATASET)
    started = time.perf_counter()
    pipeline.fit(split.X_train, split.y_train)
    fit_seconds = time.perf_counter() - started
    settings = OmegaConf.to_container(cfg.explain, resolve=True)
    classifier = pipeline.named_steps["classifier"]
    probe = pipeline.named_steps["preprocess"].transform(split.X_train.head(500))
    started = time.perf_counter()
    classifier.decision_function(np.repeat(probe, 4, axis=0))
    per_second = 2000 / (time.perf_counter() - started)

    with mlflow.start_run() as run:
        started = time.perf_counter()
        budgeted = explain_and_log(pipeline, split, settings)
        total = time.perf_counter() - started
    tags = mlflow.get_run(run.info.run_id).data.tags
    reference_settings = {
        **settings,
        "agnostic": {**settings["agnostic"], "evaluations": args.reference_evaluations},
    }
    reference = explain(pipeline, split, reference_settings)
    shared = len(set(top5(budgeted)) & set(top5(reference)))

    print(
        f"SVC on {ROWS:,} rows x {FEATURES} features ({classifier.n_support_.sum()} "
        f"support vectors, fit {fit_seconds:.1f} s); this machine scores "
        f"{per_second:,.0f} rows/s with it"
    )
    print(f"{'run':10} {'explainer':11} {'SHAP s':>8} {'total s':>8}  budget")
    print(
        f"{'budgeted':10} {budgeted.explainer:11} {budgeted.details['seconds']:8.2f} "
        f"{total:8.2f}  {tags['shap_budget']} (target: total <= 10 s)"
    )
    budget = reference.details["budget"]
    print(
        f"{'reference':10} {reference.explainer:11} "
        f"{reference.details['seconds']:8.2f} {'':>8}  rows={budget['rows']} "
        f"coalitions={budget['coalitions_per_row']} per row, "
        f"{budget['evaluations']} evaluations"
    )
    print(f"top-5 budgeted:  {', '.join(top5(budgeted))}")
    print(f"top-5 reference: {', '.join(top5(reference))}")
    print(f"shared: {shared} of 5")


if __name__ == "__main__":
    main()
