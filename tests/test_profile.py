"""The data profile: leakage counts, the JSON summary, what the sweep's parent logs."""

from __future__ import annotations

import json
import logging

import mlflow
import pandas as pd
import pytest
from support import compose_config

from churn_experiments.errors import ConfigError
from churn_experiments.profile import leakage, leaked_rows, log_profile, profile
from churn_experiments.validation import validate_config

DATASET = {
    "name": "hand_made",
    "target": {"column": "y", "positive": 1},
    "columns": {
        "colour": {"role": "nominal", "categories": ["red", "blue"]},
        "size": {"role": "numeric", "dtype": "int"},
        "y": {"role": "target", "dtype": "int"},
    },
    "split": {"test_size": 0.5, "seed": 3, "strategy": "random"},
}


def hand_made() -> pd.DataFrame:
    """Ten rows: three rows repeated (five duplicates), then two unique ones."""
    repeated = [("red", 1, 0)] * 3 + [("blue", 2, 1)] * 3 + [("red", 3, 0)] * 2
    unique = [("blue", 4, 0), ("red", 5, 1)]
    return pd.DataFrame(repeated + unique, columns=["colour", "size", "y"])


def test_leaked_rows_counts_test_rows_identical_to_a_training_row():
    train = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    test = pd.DataFrame({"b": ["x", "x", "y", "y"], "a": [1, 1, 9, 2]})
    assert leaked_rows(train, test) == 3  # (1, x) twice and (2, y); column order aside


def test_leakage_by_split_strategy_on_known_duplicates():
    frame = hand_made()
    report = leakage(frame, DATASET)
    assert list(report["splits"]) == ["random", "group_duplicates"]
    assert report["configured"] == "random"
    random_split = report["splits"]["random"]
    assert random_split["test_rows"] == 5
    assert random_split["test_rows_in_train"] > 0
    assert random_split["share"] == random_split["test_rows_in_train"] / 5
    assert report["splits"]["group_duplicates"]["test_rows_in_train"] == 0


def test_profile_summarises_balance_columns_duplicates_and_warns_on_leakage():
    summary = profile(hand_made(), DATASET, leakage_warn_share=0.05)
    assert summary["rows"] == 10
    assert summary["duplicate_rows"] == 5
    assert summary["class_balance"] == {
        "0": {"count": 6, "share": 0.6},
        "1": {"count": 4, "share": 0.4},
    }
    assert summary["missing_values"] == {"colour": 0, "size": 0, "y": 0}
    assert summary["columns"]["colour"]["counts_by_target"]["red"] == {"0": 5, "1": 1}
    assert summary["columns"]["size"]["by_target"]["1"]["max"] == 5
    assert summary["leakage"]["warning"] is True
    json.dumps(summary)  # the summary is logged as JSON as it is
    grouped = {**DATASET, "split": {**DATASET["split"], "strategy": "group_duplicates"}}
    summary = profile(hand_made(), grouped, leakage_warn_share=0.05)
    assert list(summary["leakage"]["splits"])[0] == "group_duplicates"
    assert summary["leakage"]["warning"] is False


def test_the_sweep_parent_run_holds_the_profile(tutorial_sweep):
    client = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    parent = tutorial_sweep.parent_run_id
    listed = {a.path for a in client.list_artifacts(parent, "profile")}
    assert listed == {
        "profile/summary.json",
        "profile/class_balance.png",
        "profile/features_by_target.png",
        "profile/numeric_by_AnnualIncomeClass.png",
    }
    summary = mlflow.artifacts.load_dict(
        f"{client.get_run(parent).info.artifact_uri}/profile/summary.json"
    )
    assert (summary["rows"], summary["duplicate_rows"]) == (954, 507)
    metrics = client.get_run(parent).data.metrics
    assert metrics["profile_leakage_share_random"] > 0.05
    assert metrics["profile_leakage_share_group_duplicates"] == 0


def test_log_profile_warns_and_can_skip_plots(mlflow_store, caplog):
    config = compose_config(["profile.plots=false"])
    run_id = mlflow.MlflowClient().create_run("0").info.run_id
    with caplog.at_level(logging.INFO, logger="churn_experiments.profile"):
        summary = log_profile(config, run_id)
    assert "Data profile of travel_churn: 954 rows" in caplog.text
    assert "dataset.split.strategy=group_duplicates" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    listed = [a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "profile")]
    assert listed == ["profile/summary.json"]
    assert summary["leakage"]["warning"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("profile.leakage_warn_share=5", "profile.leakage_warn_share: 5"),
        ("+profile.plot=false", "unknown key profile.plot"),
    ],
)
def test_a_typo_in_the_profile_settings_is_a_clear_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(compose_config([override]))


def test_an_unchanged_dataset_is_profiled_once_per_store(mlflow_store):
    client = mlflow.MlflowClient()
    first, second, third = (client.create_run("0").info.run_id for _ in range(3))
    summary = log_profile(compose_config([]), first)
    assert log_profile(compose_config([]), second) == summary
    tags = client.get_run(second).data.tags
    assert tags["profile_reused_from"] == first
    assert tags["profile_key"] == client.get_run(first).data.tags["profile_key"]
    listed = [
        sorted(a.path for a in client.list_artifacts(run, "profile"))
        for run in (first, second)
    ]
    assert listed[0] == listed[1] and len(listed[0]) == 4
    assert client.get_run(second).data.metrics == client.get_run(first).data.metrics
    log_profile(compose_config(["dataset.split.seed=7"]), third)  # another split
    assert "profile_reused_from" not in client.get_run(third).data.tags
