"""Batch scoring: a table scored in chunks, bad rows rejected, the run recorded."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from support import CONF_DIR, DATA_FILE, MODEL, RAW_ROWS, run_in_process

from churn_experiments.data import Split, read_csv
from churn_experiments.errors import ConfigError
from churn_experiments.explain import explain
from churn_experiments.score import ScoreError, ScoreSettings, score
from churn_experiments.score.__main__ import cli as score_cli
from churn_experiments.score.__main__ import settings_from_config

MODEL_NAME = MODEL
FEATURES = list(RAW_ROWS.columns)  # the dataset's input columns


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    run_ids: dict[str, str]


@pytest.fixture(scope="module")
def store(tutorial_sweep, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A copy of the tutorial store where the gb run is the registered champion."""
    folder = tmp_path_factory.mktemp("score_store")
    shutil.copy(tutorial_sweep.tracking_uri.removeprefix("sqlite:///"), folder)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        run_id = tutorial_sweep.run_ids["gb"]
        version = mlflow.register_model(f"runs:/{run_id}/model", MODEL_NAME).version
        mlflow.MlflowClient().set_registered_model_alias(
            MODEL_NAME, "champion", version
        )
        yield Store(uri, dict(tutorial_sweep.run_ids))


@pytest.fixture(autouse=True)
def _on_store(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.tracking_uri)
    mlflow.set_tracking_uri(store.tracking_uri)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """The tutorial rows as text, with a customer id, as a user's export would be."""
    rows = read_csv(DATA_FILE)
    rows.insert(0, "CustomerId", [f"C{i:05d}" for i in range(len(rows))])
    return rows


def settings(input: Path, output: Path, **overrides) -> ScoreSettings:
    """The settings ``conf/score.yaml`` gives, with ``overrides``."""
    overrides = {"input": input, "output": output, "id_columns": "[CustomerId]"} | (
        overrides
    )
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("score", overrides=[f"{k}={v}" for k, v in overrides.items()])
    return settings_from_config(cfg)


def test_scores_equal_the_models_own_predictions_across_chunk_boundaries(
    customers: pd.DataFrame, store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    customers.to_csv(source, index=False)
    chunked = score(settings(source, tmp_path / "chunked.csv", chunk_size=100))
    whole = score(settings(source, tmp_path / "whole.csv", chunk_size=10_000))

    out = pd.read_csv(chunked.output)
    assert chunked.model_version == "1" and chunked.rejected == 0
    assert list(out.columns) == [
        "row",
        "CustomerId",
        "churn_probability",
        "churn_predicted",
    ]
    assert out["CustomerId"].tolist() == customers["CustomerId"].tolist()
    pd.testing.assert_frame_equal(out, pd.read_csv(whole.output))

    typed = pd.read_csv(DATA_FILE, encoding="utf-8-sig")[FEATURES]
    pipeline = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    positive = list(pipeline.classes_).index(1)
    np.testing.assert_array_equal(
        out["churn_probability"].to_numpy(),
        pipeline.predict_proba(typed)[:, positive],
    )
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    np.testing.assert_array_equal(
        out["churn_predicted"].to_numpy(), np.asarray(pyfunc.predict(typed)) == 1
    )
    assert chunked.churn_share == pytest.approx(out["churn_predicted"].mean())


def test_parquet_in_and_out_with_reasons_agree_with_explain(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "customers.parquet"
    typed = pd.read_csv(DATA_FILE, encoding="utf-8-sig")
    typed.insert(0, "CustomerId", customers["CustomerId"])
    typed.to_parquet(source, index=False)
    csv_source = tmp_path / "customers.csv"
    customers.to_csv(csv_source, index=False)

    result = score(settings(source, tmp_path / "scores.parquet", reasons=6))
    out = pd.read_parquet(result.output)
    from_csv = pd.read_csv(score(settings(csv_source, tmp_path / "s.csv")).output)
    np.testing.assert_array_equal(
        out["churn_probability"], from_csv["churn_probability"]
    )

    pipeline = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    rows, target = typed[FEATURES], typed["Target"]
    explained = explain(
        pipeline,
        Split(rows, rows.iloc[:0], target, target.iloc[:0], positive=1),
        {
            "explainer": "auto",
            "rows_from": "train",
            "max_rows": len(rows),
            "agnostic": {"rows": 1, "background": 1, "evaluations": 1},
            "background_size": 1,
            "seed": 0,
        },
    ).by_column()
    shap_values = pd.DataFrame(
        explained.values,
        index=explained.details["rows"],
        columns=explained.feature_names,
    ).sort_index()
    for position in range(0, len(out), 97):
        expected = shap_values.iloc[position]
        expected = expected[expected > 0].sort_values(ascending=False, kind="stable")
        got = out.iloc[position]
        for slot in range(1, 7):
            if slot <= len(expected):
                assert got[f"reason_{slot}"] == expected.index[slot - 1]
                assert got[f"reason_{slot}_shap"] == pytest.approx(
                    expected.iloc[slot - 1]
                )
            else:
                assert pd.isna(got[f"reason_{slot}"])
                assert np.isnan(got[f"reason_{slot}_shap"])


def test_rows_breaking_the_contract_are_rejected_with_a_reason(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    broken = customers.copy()
    broken.loc[3, "Age"] = "thirty"
    broken.loc[150, "FrequentFlyer"] = "Maybe"
    broken.loc[700, "ServicesOpted"] = "9"
    source = tmp_path / "customers.csv"
    broken.to_csv(source, index=False)

    result = score(settings(source, tmp_path / "scores.csv", chunk_size=100))

    assert (result.rows, result.scored, result.rejected) == (954, 951, 3)
    rejects = pd.read_csv(result.rejects)
    assert rejects["row"].tolist() == [4, 151, 701]
    assert rejects["CustomerId"].tolist() == ["C00003", "C00150", "C00700"]
    assert "Age" in rejects["reason"][0] and "thirty" in rejects["reason"][0]
    assert "FrequentFlyer" in rejects["reason"][1] and "Maybe" in rejects["reason"][1]
    assert "ServicesOpted" in rejects["reason"][2]
    out = pd.read_csv(result.output)
    assert len(out) == 951 and not set(out["row"]) & {4, 151, 701}


def test_the_scoring_run_records_model_input_counts_histogram_and_drift(
    customers: pd.DataFrame, store: Store, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    customers.to_csv(source, index=False)
    result = score(settings(source, tmp_path / "scores.csv"))

    run = mlflow.get_run(result.run_id)
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.name == "customer_churn_prediction-scoring"
    assert run.info.status == "FINISHED"
    assert run.data.params["model_uri"] == f"models:/{MODEL_NAME}@champion"
    assert run.data.params["model_version"] == "1"
    assert run.data.params["model_run_id"] == store.run_ids["gb"]
    assert (
        run.data.params["input_digest"]
        == hashlib.sha256(source.read_bytes()).hexdigest()
    )
    metrics = run.data.metrics
    assert metrics["rows"] == 954 and metrics["rejected_rows"] == 0
    assert metrics["churn_share"] == pytest.approx(result.churn_share)
    assert {f"psi_{c}" for c in FEATURES} <= set(metrics)
    assert max(metrics[f"psi_{c}"] for c in FEATURES) < 0.2  # the training file
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"plots", "drift.json"} <= artifacts
    plots = mlflow.MlflowClient().list_artifacts(result.run_id, "plots")
    assert [a.path for a in plots] == ["plots/probability_histogram.png"]


def test_a_drifted_input_warns_naming_the_column(
    customers: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older = customers[customers["Age"].astype(int) >= 36]
    source = tmp_path / "older.csv"
    older.to_csv(source, index=False)
    with caplog.at_level(logging.WARNING, logger="churn_experiments"):
        result = score(settings(source, tmp_path / "scores.csv"))

    assert result.drifted and result.drifted[0] == "Age"
    assert result.psi["Age"] > 0.2
    warning = [r.getMessage() for r in caplog.records if "drift" in r.getMessage()]
    assert len(warning) == 1 and "Age" in warning[0]
    tags = mlflow.get_run(result.run_id).data.tags
    assert tags["drifted_columns"].split(",")[0] == "Age"


def test_clear_errors_before_anything_is_written(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    customers.drop(columns=["Age"]).to_csv(source, index=False)
    with pytest.raises(ScoreError, match=r"missing column\(s\) \['Age'\]"):
        score(settings(source, tmp_path / "scores.csv"))
    customers.to_csv(source, index=False)
    with pytest.raises(ConfigError, match="model_uri .models:/nope@champion."):
        score(
            settings(source, tmp_path / "scores.csv", model_uri="models:/nope@champion")
        )
    with pytest.raises(ScoreError, match="agnostic.rows=100"):
        score(
            settings(
                source,
                tmp_path / "scores.csv",
                reasons=1,
                **{"explain.explainer": "kernel"},
            )
        )
    with pytest.raises(ConfigError, match="score.reasons: -1 is less than the minimum"):
        settings(source, tmp_path / "scores.csv", reasons=-1)
    assert not list(tmp_path.glob("scores*"))


@pytest.mark.slow
def test_command_line_exit_code_tells_of_rejected_rows(
    customers: pd.DataFrame, store: Store, tmp_path: Path
) -> None:
    broken = customers.copy()
    broken.loc[0, "BookedHotelOrNot"] = "Perhaps"
    broken.to_csv(tmp_path / "customers.csv", index=False)
    done = run_in_process(
        score_cli, "input=customers.csv", "output=scores.csv",
        "id_columns=[CustomerId]", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Scored 953 of 954 rows")
    assert lines[1] == "Rejected 1 rows: scores.rejects.csv says why per row"
    assert (tmp_path / "scores.csv").exists() and not list(tmp_path.glob("outputs"))


@pytest.mark.slow
@pytest.mark.ray
def test_the_ray_engine_writes_what_the_local_engine_writes(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    broken = customers.copy()
    broken.loc[10, "Age"] = "old"
    source = tmp_path / "customers.csv"
    broken.to_csv(source, index=False)

    local = score(settings(source, tmp_path / "local.csv", chunk_size=200, reasons=2))
    on_ray = score(
        settings(source, tmp_path / "ray.csv", chunk_size=200, reasons=2, engine="ray")
    )

    pd.testing.assert_frame_equal(pd.read_csv(on_ray.output), pd.read_csv(local.output))
    pd.testing.assert_frame_equal(
        pd.read_csv(on_ray.rejects), pd.read_csv(local.rejects)
    )
    assert on_ray.psi == local.psi
    assert mlflow.get_run(on_ray.run_id).data.params["engine"] == "ray"
