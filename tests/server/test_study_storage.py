"""A search's study in the tracking server's PostgreSQL database, beside MLflow."""

import mlflow
import optuna

from churn_experiments.search.storage import in_schema, prepare


def test_study_lives_in_its_own_schema_of_the_tracking_database(
    postgres_database: str,
) -> None:
    mlflow.MlflowClient(postgres_database).search_experiments()  # MLflow's tables
    storage = in_schema(postgres_database, "optuna")
    assert storage == postgres_database + "?options=-csearch_path%3Doptuna"
    assert in_schema(storage, "other") == storage  # an explicit search_path wins
    prepare(storage)
    prepare(storage)  # idempotent
    study = optuna.create_study(study_name="s", storage=storage)
    study.tell(study.ask(), 0.5)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 1
    assert mlflow.MlflowClient(postgres_database).search_experiments()  # unharmed
