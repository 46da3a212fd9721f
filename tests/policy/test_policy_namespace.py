"""One dataset, one namespace: a second dataset's runs, candidates and champions are its
own, and a champion of another data contract is refused in words.

The second dataset is ``tests/data/conf/dataset/status.yaml`` (a text target whose
positive label, ``Churned``, sorts first), used from a user's config folder.
"""

from __future__ import annotations

import json

import pytest
from policy_helpers import EXPERIMENT, MODEL
from support import compose_config, promote, run_sweep_in_process

from churn_experiments.deploy import load_target
from churn_experiments.naming import dataset_model
from churn_experiments.policy import ledger

STATUS = (
    "dataset=status",
    "explain.enabled=false",
    "profile.enabled=false",
    "policy=best_f1",
    "policy.best_f1.guards=[]",
)


def latest_decision(client, model: str) -> dict:
    (entry, *_) = ledger.history(client, model)
    path = client.download_artifacts(entry.info.run_id, "decision.json")
    with open(path) as text:
        return json.load(text)


def test_the_tutorial_keeps_its_names_and_a_new_dataset_defaults_to_its_own(
    user_conf,
) -> None:
    tutorial = compose_config()
    assert (tutorial.experiment_name, tutorial.registered_model) == (EXPERIMENT, MODEL)
    status = compose_config(["dataset=status"])
    assert (status.experiment_name, status.registered_model) == ("status", "status")
    policy = compose_config(["dataset=status", "policy=best_f1"]).policy.best_f1
    assert (policy.registered_model, policy.candidates.experiment) == (
        "status",
        "status",
    )
    assert load_target("local")["model_uri"] == f"models:/{MODEL}@champion"
    served = load_target("local", ["model_uri=models:/${dataset_model:status}@c"])
    assert served["model_uri"] == "models:/status@c"


def test_the_model_a_dataset_names_follows_its_file_within_one_process(
    user_conf,
) -> None:
    status = user_conf / "dataset" / "status.yaml"
    assert dataset_model("status") == dataset_model("status") == "status"
    status.write_text(status.read_text() + "registered_model: status_v2\n")
    assert dataset_model("status") == "status_v2"
    status.unlink()
    assert dataset_model() == MODEL  # the default dataset: unchanged


def test_a_second_dataset_sweeps_and_promotes_in_its_own_namespace(
    store, client, user_conf, capsys
) -> None:
    first = run_sweep_in_process(["lr"], STATUS)
    assert client.get_experiment(first.experiment_id).name == "status"
    champion = client.get_model_version_by_alias("status", "champion")
    assert champion.run_id == first.run_ids["lr"]
    assert client.search_registered_models(f"name = '{MODEL}'") == []

    # test_split: each model scored on the whole split, as its run was
    second = run_sweep_in_process(
        ["rf"], [*STATUS, "policy.best_f1.compare_to.rows=test_split"]
    )
    assert second.experiment_id == first.experiment_id
    comparison = latest_decision(client, "status")["comparison"]
    # both models re-scored on the same rows as the runs scored them: F1 of 'Churned'
    logged = {
        model: client.get_run(sweep.run_ids[model]).data.metrics["test_f1"]
        for model, sweep in (("rf", second), ("lr", first))
    }
    assert comparison["candidate_value"] == pytest.approx(logged["rf"])
    assert comparison["holder_value"] == pytest.approx(logged["lr"])

    # an on-demand promote of the tutorial still picks the tutorial's own sweep
    assert promote("policy=best_f1", "dry_run=true") == 0
    out = capsys.readouterr().out
    assert f"sweep {store.parent_run_id}" in out and f"-> {MODEL}@champion" in out
    assert promote("policy=best_f1", "dataset=status", "dry_run=true") == 0
    assert f"sweep {second.parent_run_id}" in capsys.readouterr().out


def test_a_champion_of_another_data_contract_is_refused_in_words(
    store, client, user_conf
) -> None:
    assert promote("policy=best_f1", f"sweep={store.parent_run_id}") == 0
    # a user who copied the tutorial's dataset file and kept its registered model
    run_sweep_in_process(["lr"], [*STATUS, f"+dataset.registered_model={MODEL}"])
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    decision = latest_decision(client, MODEL)
    assert decision["outcome"] == "refused"
    assert (
        "lr not compared with @champion: version 1 (@champion) was trained on "
        "another data contract than the winner (it takes Age, FrequentFlyer"
    ) in decision["reason"]
    assert "the winner takes tenure, plan, complaints" in decision["reason"]
