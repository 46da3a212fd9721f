"""The same four fits as our sweep, written by hand against MLflow: the baseline.

What a careful user writes without this project: the tutorial's preprocessing and the
four models of ``conf/model`` (same hyperparameters, same seed and split), the same
test metrics, and ``mlflow.sklearn.log_model`` with explicit pip requirements and an
input example, into a fresh SQLite store in the current folder. No plots, no SHAP, no
profile. Prints one JSON line of phase timings (seconds) for ``benchmarks/sweep.py``.

Run: ``CHURN_DATA_DIR=../shared/data python benchmarks/handwritten_mlflow.py``.
"""

import json
import os
import time

STARTED = time.perf_counter()
phases: dict[str, float] = {}


def mark(name: str, since: float) -> float:
    now = time.perf_counter()
    phases[name] = round(now - since, 3)
    return now


import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

now = mark("imports", STARTED)

SEED = 124
REQUIREMENTS = ["mlflow", "scikit-learn", "pandas", "numpy", "skops"]
frame = pd.read_csv(f"{os.environ['CHURN_DATA_DIR']}/Customertravel.csv")
X, y = frame.drop(columns="Target"), frame["Target"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, random_state=SEED
)
nominal = ["FrequentFlyer", "AccountSyncedToSocialMedia", "BookedHotelOrNot"]
income = [["Low Income", "Middle Income", "High Income"]]
preprocess = ColumnTransformer(
    [
        ("nominal", OneHotEncoder(handle_unknown="ignore", drop="first"), nominal),
        ("Age", StandardScaler(), ["Age"]),
        (
            "AnnualIncomeClass",
            Pipeline(
                [
                    ("ordinal", OrdinalEncoder(categories=income)),
                    ("scale", StandardScaler()),
                ]
            ),
            ["AnnualIncomeClass"],
        ),
        ("ServicesOpted", StandardScaler(), ["ServicesOpted"]),
    ]
)
now = mark("data", now)

mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("customer_churn_prediction")
now = mark("store and experiment", now)

MODELS = {
    "lr": LogisticRegression(C=1.0, max_iter=1000, random_state=SEED),
    "rf": RandomForestClassifier(n_estimators=100, random_state=SEED),
    "svc": SVC(C=1.0, kernel="rbf", random_state=SEED),
    "gb": GradientBoostingClassifier(n_estimators=100, random_state=SEED),
}
for name, model in MODELS.items():
    with mlflow.start_run(run_name=name):
        pipeline = Pipeline([("preprocess", preprocess), ("classifier", model)])
        mlflow.log_params(model.get_params())
        pipeline.fit(X_train, y_train)
        now = mark(f"{name} fit", now)
        predicted = pipeline.predict(X_test)
        metrics = {
            "train_accuracy": accuracy_score(y_train, pipeline.predict(X_train)),
            "test_accuracy": accuracy_score(y_test, predicted),
            "test_precision": precision_score(y_test, predicted),
            "test_recall": recall_score(y_test, predicted),
            "test_f1": f1_score(y_test, predicted),
        }
        if hasattr(pipeline, "predict_proba"):
            scores = pipeline.predict_proba(X_test)[:, 1]
            metrics["test_log_loss"] = log_loss(y_test, scores)
        else:
            scores = pipeline.decision_function(X_test)
        metrics["test_roc_auc"] = roc_auc_score(y_test, scores)
        mlflow.log_metrics(metrics)
        now = mark(f"{name} metrics", now)
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            input_example=X_test.head(5),
            pip_requirements=REQUIREMENTS,
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
        now = mark(f"{name} log_model", now)
print(json.dumps(phases))
