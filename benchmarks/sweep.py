"""Time the four-model sweep end to end (target: <= 15 s wall), phase by phase.

Run: ``python benchmarks/sweep.py [--repeat 3] [--no-notebook]``. Each repeat runs
``python -m churn_experiments -m model=lr,rf,svc,gb`` in a fresh folder (a new SQLite
store, artifacts included). The phases come from the store: process start to the
parent run, each child run's duration (fit_seconds inside it), and closing the sweep.
``--notebook`` (default on) also times the notebook way once: autolog, and
``log_model`` inferring its requirements, for the same four models.
"""

from __future__ import annotations

import argparse
import time

from _common import DATA_DIR, fresh_dir, median, run_timed

MODELS = ("lr", "rf", "svc", "gb")

NOTEBOOK = f"""
import mlflow, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
df = pd.read_csv("{DATA_DIR}/Customertravel.csv", encoding="utf-8-sig")
df["AnnualIncomeClass"] = df["AnnualIncomeClass"].map(
    {{"Low Income": 0, "Middle Income": 1, "High Income": 2}})
X, y = df.drop(columns="Target"), df["Target"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, random_state=124)
mlflow.set_experiment("customer_churn_prediction")
mlflow.sklearn.autolog()
for name, model in [("lr", LogisticRegression()), ("rf", RandomForestClassifier()),
                    ("svc", SVC()), ("gb", GradientBoostingClassifier())]:
    with mlflow.start_run(run_name=name):
        cat = ["FrequentFlyer", "AccountSyncedToSocialMedia", "BookedHotelOrNot"]
        ct = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore", drop="first"), cat)],
            remainder=StandardScaler())
        pipe = Pipeline([("preprocessor", ct), ("classifier", model)])
        pipe.fit(X_train, y_train)
        pred = pipe.predict(X_test)
        mlflow.log_metrics({{"accuracy": accuracy_score(y_test, pred),
                            "precision": precision_score(y_test, pred),
                            "recall": recall_score(y_test, pred),
                            "f1": f1_score(y_test, pred)}})
        mlflow.sklearn.log_model(pipe, name="model", input_example=X_test.head(5),
                                 serialization_format="cloudpickle")
"""


def phases(folder) -> dict[str, float]:
    """Per-phase seconds read back from the sweep's store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (experiment,) = client.search_experiments(
        filter_string="name = 'customer_churn_prediction'"
    )
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "true"]
    kids = sorted((r for r in runs if r is not parent), key=lambda r: r.info.start_time)
    result = {
        f"{r.data.tags['model_family']} run": (r.info.end_time - r.info.start_time)
        / 1e3
        for r in kids
    }
    result |= {
        f"{r.data.tags['model_family']} fit": r.data.metrics["fit_seconds"]
        for r in kids
    }
    result["close sweep"] = (parent.info.end_time - kids[-1].info.end_time) / 1e3
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-notebook", dest="notebook", action="store_false")
    args = parser.parse_args()

    walls, breakdowns = [], []
    for _ in range(args.repeat):
        folder = fresh_dir("bench_sweep_")
        started = time.time()
        wall, _ = run_timed(
            ["-m", "churn_experiments", "-m", f"model={','.join(MODELS)}"], folder
        )
        walls.append(wall)
        breakdown = phases(folder)
        breakdown["start-up to first run"] = (
            wall
            - sum(v for k, v in breakdown.items() if k.endswith(" run"))
            - breakdown["close sweep"]
        )
        breakdowns.append(breakdown)
        print(f"sweep wall {wall:.2f} s (started {time.ctime(started)}) in {folder}")

    print(
        f"\nfour-model sweep, median of {args.repeat}: {median(walls):.2f} s "
        f"(runs: {' '.join(f'{w:.2f}' for w in walls)}); target <= 15 s"
    )
    print(f"{'phase':<26} {'median s':>9}")
    for key in breakdowns[0]:
        print(f"{key:<26} {median([b[key] for b in breakdowns]):>9.3f}")

    if args.notebook:
        folder = fresh_dir("bench_notebook_")
        wall, _ = run_timed(["-c", NOTEBOOK], folder)
        print(
            f"\nnotebook way (autolog + inferred requirements), 1 run: {wall:.2f} s; "
            f"ratio notebook/ours: {wall / median(walls):.1f}x"
        )


if __name__ == "__main__":
    main()
