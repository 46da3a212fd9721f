"""Policies decided and applied over the tutorial sweep's runs, in process."""

from __future__ import annotations

import json
import logging

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from policy_helpers import MODEL, make_policy, only_run, snapshot
from support import CHEAP, compose_config

from churn_experiments.policy import (
    PolicyError,
    apply_policies,
    decide,
    engine,
    ledger,
    load_policies,
    promote,
    registry,
    rollback,
    rules,
)
from churn_experiments.policy.plan import render


def shipped_policies():
    return load_policies(compose_config(["policy=[best_f1,best_recall]"]).policy)


def holder(client, alias: str) -> str:
    """The version ``alias`` points at, as a string."""
    return str(client.get_model_version_by_alias(MODEL, alias).version)


def make_champion(client, run_id: str, alias: str = "champion") -> str:
    """Promote ``run_id`` onto ``alias`` unconditionally; its version."""
    decision = promote(
        make_policy("setup", candidates=only_run(run_id), actions={"alias": alias}),
        client,
    )
    assert decision.outcome == "applied", decision.reason
    return decision.new_version


def test_tutorial_scenario_two_policies_end_to_end(store, client) -> None:
    f1, recall = apply_policies(shipped_policies(), sweep_run_id=store.parent_run_id)

    assert (f1.outcome, f1.new_version) == ("applied", "1")
    assert f1.winner.run_id == store.run_ids["gb"]
    assert f1.winner.metrics["test_f1"] == pytest.approx(0.658, abs=5e-4)
    assert (recall.outcome, recall.new_version) == ("applied", "2")
    assert recall.winner.run_id == store.run_ids["rf"]
    assert recall.winner.metrics["test_recall"] == pytest.approx(0.651, abs=5e-4)

    champion = client.get_model_version_by_alias(MODEL, "champion")
    challenger = client.get_model_version_by_alias(MODEL, "challenger")
    assert (str(champion.version), champion.current_stage) == ("1", "Production")
    assert (str(challenger.version), challenger.current_stage) == ("2", "Staging")
    assert champion.description == (
        f"Best test_f1 = 0.658 ({f1.winner.model}) in sweep {store.parent_run_id}"
    )
    assert champion.tags["selected_by"] == "best_f1"
    decision_run = client.get_run(champion.tags["policy.best_f1.decision"])
    assert decision_run.data.tags["outcome"] == "applied"
    assert decision_run.data.tags["new_version"] == "1"
    recorded = json.loads(
        mlflow.artifacts.load_text(f"runs:/{decision_run.info.run_id}/decision.json")
    )
    assert [c["run_id"] for c in recorded["candidates"]][0] == store.run_ids["gb"]
    assert (
        recorded["candidates"][0]["metrics"]["test_f1"] == f1.winner.metrics["test_f1"]
    )
    assert recorded["policy_hash"] == f1.policy_hash

    served = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    original = mlflow.sklearn.load_model(f1.winner.model_uri)
    rows = _test_rows(f1.winner)
    np.testing.assert_array_equal(served.predict(rows), original.predict(rows))


def _test_rows(candidate):
    from churn_experiments.policy.compare import rebuild_split, run_dataset

    return rebuild_split(run_dataset(candidate.run_id, candidate.artifact_uri)).X_test


def test_second_run_of_a_policy_creates_no_second_version(store, client) -> None:
    apply_policies(shipped_policies(), sweep_run_id=store.parent_run_id)
    before = snapshot(client)
    again = apply_policies(shipped_policies(), sweep_run_id=store.parent_run_id)
    assert [d.outcome for d in again] == ["unchanged", "unchanged"]
    after = snapshot(client)
    assert after["versions"] == before["versions"]
    assert after["models"] == before["models"]
    assert len(after["ledger"]) == len(before["ledger"]) + 2


def test_a_reused_run_keeps_its_version(store, client) -> None:
    gb = store.run_ids["gb"]
    first = make_champion(client, gb, alias="champion")
    second = make_champion(client, gb, alias="stable")
    assert first == second
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 1


def test_dry_run_leaves_the_store_exactly_as_it_was(store, client) -> None:
    make_champion(client, store.run_ids["rf"])
    before = snapshot(client)
    decisions = apply_policies(
        shipped_policies(), sweep_run_id=store.parent_run_id, dry_run=True
    )
    # gb's F1 edge over rf is within the bootstrap's noise; nobody holds challenger
    assert [d.verdict for d in decisions] == ["refuse", "promote"]
    comparison = decisions[0].comparison
    assert comparison.rows + comparison.excluded == 191  # the winner's test split
    assert snapshot(client) == before


def test_select_min_skips_runs_without_the_metric(store, client) -> None:
    policy = make_policy(select={"metric": "test_log_loss", "mode": "min"})
    decision = decide(policy, client, None)
    ranked = [c.run_id for c in decision.candidates]
    assert ranked[0] == store.run_ids["gb"]
    assert store.run_ids["svc"] not in ranked  # an SVC without probabilities


def test_failing_guard_refuses_and_says_which_and_by_how_much(store, client) -> None:
    policy = make_policy(guards=["test_roc_auc >= 0.95", "test_f1 >= 0.5"])
    decision = promote(policy, client)
    assert decision.outcome == "refused"
    assert "guard 'test_roc_auc >= 0.95'" in decision.reason
    assert "misses by 0.0112" in decision.reason
    assert "test_f1 >= 0.5" not in decision.reason
    assert snapshot(client)["versions"] == {}
    entry = client.get_run(decision.ledger_run_id)
    assert entry.data.tags["outcome"] == "refused"


def test_no_candidate_refuses(store, client) -> None:
    policy = make_policy(candidates=only_run("0" * 32))
    decision = promote(policy, client)
    assert decision.outcome == "refused"
    assert "no FINISHED run with a logged model" in decision.reason


def test_compare_to_champion_refuses_a_worse_model(store, client) -> None:
    make_champion(client, store.run_ids["gb"])
    policy = make_policy(
        candidates=only_run(store.run_ids["rf"]),
        compare_to={"alias": "champion", "margin": 0.0},
    )
    decision = promote(policy, client)
    assert decision.outcome == "refused"
    comparison = decision.comparison
    assert 0 < comparison.rows < 191  # only rows neither model trained on
    assert comparison.holder_value > comparison.candidate_value
    assert comparison.improvement < 0 and not comparison.passed
    assert "does not beat @champion: test_f1" in decision.reason
    assert holder(client, "champion") == "1"


def test_margin_and_significance(store, client) -> None:
    """On the whole test split rf's recall beats gb's by 2 of 43 churners: noise."""
    make_champion(client, store.run_ids["gb"])

    def recall_vs_champion(**compare_to):
        policy = make_policy(
            candidates=only_run(store.run_ids["rf"]),
            select={"metric": "test_recall"},
            compare_to={"alias": "champion", "rows": "test_split", **compare_to},
        )
        return decide(policy, client, None)

    plain = recall_vs_champion(margin=0.0)
    assert plain.verdict == "promote"
    assert plain.comparison.improvement == pytest.approx(0.0465, abs=1e-3)
    assert recall_vs_champion(margin=0.05).verdict == "refuse"

    bootstrap = recall_vs_champion(
        significance={"test": "bootstrap", "alpha": 0.05, "resamples": 1000, "seed": 1}
    )
    assert bootstrap.verdict == "refuse"
    low, high = bootstrap.comparison.interval
    assert low <= 0 < high
    assert "lower end not above 0" in bootstrap.reason

    mcnemar = recall_vs_champion(significance={"test": "mcnemar", "alpha": 0.05})
    assert mcnemar.verdict == "refuse"
    assert mcnemar.comparison.p_value > 0.05


def test_significance_passes_a_real_difference(store, client) -> None:
    make_champion(client, store.run_ids["lr"])
    policy = make_policy(
        candidates=only_run(store.run_ids["gb"]),
        select={"metric": "test_f1"},
        compare_to={
            "alias": "champion",
            "significance": {"test": "bootstrap", "resamples": 1000, "seed": 3},
        },
    )
    decision = decide(policy, client, None)
    assert decision.verdict == "promote", decision.reason
    assert decision.comparison.interval[0] > 0
    with_mcnemar = make_policy(
        candidates=only_run(store.run_ids["gb"]),
        select={"metric": "test_accuracy"},
        compare_to={
            "alias": "champion",
            "rows": "test_split",
            "significance": {"test": "mcnemar"},
        },
    )
    decision = decide(with_mcnemar, client, None)
    assert decision.verdict == "promote", decision.reason
    assert decision.comparison.p_value < 0.05


def test_rollback_restores_the_previous_holder_and_is_recorded(store, client) -> None:
    gb_version = make_champion(client, store.run_ids["gb"])
    rf_version = make_champion(client, store.run_ids["rf"])
    assert holder(client, "champion") == rf_version

    planned = rollback(MODEL, "champion", client, dry_run=True)
    assert holder(client, "champion") == rf_version
    assert planned.outcome == "planned"

    done = rollback(MODEL, "champion", client)
    assert (done.outcome, done.previous_version, done.new_version) == (
        "applied",
        rf_version,
        gb_version,
    )
    assert holder(client, "champion") == gb_version
    kinds = [r.data.tags["kind"] for r in ledger.history(client, MODEL, "champion")]
    assert kinds == ["rollback", "promote", "promote"]
    with pytest.raises(PolicyError, match="nothing to roll back to"):
        rollback(MODEL, "champion", client)


def test_holder_moving_between_decide_and_apply_is_caught(store, client) -> None:
    """Compare-and-set: a decision taken against an old holder is not applied."""
    policy = make_policy(
        candidates=only_run(store.run_ids["rf"]),
        compare_to={"alias": "champion"},
    )
    stale = decide(policy, client, None)  # no champion yet: rf would win
    assert stale.verdict == "promote"
    make_champion(client, store.run_ids["gb"])  # another process, meanwhile
    location = client.get_experiment(store.experiment_id).artifact_location
    with pytest.raises(engine.HolderChanged, match="moved from none to version 1"):
        engine.apply(stale, policy, client, location)
    again = promote(policy, client)  # decides afresh: rf loses to gb
    assert again.outcome == "refused"
    assert holder(client, "champion") == "1"
    assert (
        registry.alias_holder(client, MODEL, "champion").run_id == store.run_ids["gb"]
    )


def test_a_stale_decision_whose_winner_took_the_alias_meanwhile_is_unchanged(
    store, client
) -> None:
    """Two promotions of one run: the second to take the lock changes nothing."""
    policy = make_policy(candidates=only_run(store.run_ids["rf"]))
    stale = decide(policy, client, None)  # nothing registered, no champion yet
    assert (stale.verdict, stale.existing_version) == ("promote", None)
    version = make_champion(client, store.run_ids["rf"])  # the other promotion
    location = client.get_experiment(store.experiment_id).artifact_location
    late = engine.apply(stale, policy, client, location)
    assert (late.outcome, late.previous_version) == ("unchanged", version)
    assert "another promotion set it" in late.reason
    assert [r.data.tags["outcome"] for r in ledger.history(client)] == [
        "unchanged",
        "applied",
    ]
    assert holder(client, "champion") == version
    # decided afresh, the alias held by the winner's run is unchanged too
    assert decide(policy, client, None).verdict == "unchanged"


def test_failure_half_way_is_recorded_as_failed_not_applied(
    store, client, monkeypatch
) -> None:
    def unreachable(*args, **kwargs):
        raise MlflowException("registry unreachable")

    monkeypatch.setattr(registry, "transition", unreachable)
    policy = make_policy(actions={"alias": "champion", "stage": "Production"})
    with pytest.raises(PolicyError, match="registry unreachable") as error:
        promote(policy, client)
    assert "records it as failed" in str(error.value)
    (entry,) = ledger.history(client)
    assert entry.data.tags["outcome"] == "failed"
    assert entry.info.status == "FAILED"
    assert client.search_registered_models(f"name = '{MODEL}.policy-lock'") == []


def test_missing_holder_model_gives_a_clear_error(store, client) -> None:
    client.create_registered_model(MODEL)
    ghost = client.create_model_version(
        MODEL, source="/nonexistent/model", run_id=store.run_ids["lr"]
    )
    client.set_registered_model_alias(MODEL, "champion", ghost.version)
    policy = make_policy(
        candidates=only_run(store.run_ids["gb"]), compare_to={"alias": "champion"}
    )
    with pytest.raises(PolicyError, match=f"cannot load model models:/{MODEL}/1"):
        promote(policy, client)
    assert ledger.history(client) == []


def test_sweep_callback_applies_the_policy_it_validated_once(run_sweep, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="churn_experiments.validation")
    sweep = run_sweep(["lr", "gb"], ["policy=best_f1", *CHEAP])
    client = mlflow.MlflowClient(sweep.tracking_uri)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == sweep.run_ids["gb"]
    assert client.get_run(sweep.parent_run_id).info.status == "FINISHED"
    validated = [r for r in caplog.messages if r.startswith("validating policy")]
    assert len(validated) == 1, validated  # at the sweep's start; jobs never use it


def test_a_single_run_is_its_own_sweep_for_a_policy(store, client) -> None:
    gb, rf = store.run_ids["gb"], store.run_ids["rf"]
    best_f1 = shipped_policies()[:1]  # scope: sweep
    (decision,) = apply_policies(best_f1, run_id=rf)
    assert [c.run_id for c in decision.candidates] == [rf]  # not gb, the sweep's best
    assert (decision.run_id, decision.sweep_id) == (rf, None)
    assert decision.outcome == "refused"
    assert decision.reason.startswith(f"rf (run {rf}) fails guard 'train_accuracy")
    (decision,) = apply_policies(best_f1, run_id=gb)
    assert decision.outcome == "applied", decision.reason
    assert client.get_model_version_by_alias(MODEL, "champion").run_id == gb
    assert f"Candidates (run {gb} in experiment" in render(decision)
    everywhere = make_policy(actions={"alias": "best"})  # scope: experiment
    (decision,) = apply_policies([everywhere], run_id=rf)
    assert decision.winner.run_id == gb and decision.run_id is None


@pytest.mark.parametrize(
    ("metric", "mode", "wanted"),
    [("test_f1", "max", 1), ("test_log_loss", "min", 1), ("test_roc_auc", "max", 2)],
)
def test_narrowing_by_a_threshold_keeps_the_exact_ranking(
    store, client, monkeypatch, metric: str, mode: str, wanted: int
) -> None:
    monkeypatch.setattr(rules, "PROBE_SIZE", wanted + 1)  # force the probing path
    policy = make_policy(
        candidates={
            "scope": "experiment",
            "experiment": "customer_churn_prediction",
            "max_results": wanted,
        },
        select={"metric": metric, "mode": mode},
    )
    base = rules.candidate_filter(policy, None)
    assert rules.select_threshold(client, store.experiment_id, policy, base) is not None
    ranked = rules.search_candidates(client, store.experiment_id, policy, None)
    every = client.search_runs([store.experiment_id], base, max_results=1000)
    expected = sorted(
        (r for r in every if metric in r.data.metrics),
        key=lambda r: r.data.metrics[metric],
        reverse=mode == "max",
    )
    assert [c.run_id for c in ranked] == [r.info.run_id for r in expected[:wanted]]


def test_unseen_rows_leave_out_what_either_model_trained_on(store, client) -> None:
    """A holder trained on another split would be scored on rows it learnt."""
    import pandas as pd
    from omegaconf import OmegaConf

    from churn_experiments.policy.compare import (
        rebuild_split,
        run_config_text,
        run_dataset,
        unseen_rows,
    )

    gb = client.get_run(store.run_ids["gb"])
    config = OmegaConf.create(run_config_text(gb.info.run_id, gb.info.artifact_uri))
    config.dataset.split.seed = 7
    other = client.create_run(store.experiment_id)
    client.log_text(other.info.run_id, OmegaConf.to_yaml(config), "config.yaml")

    split = rebuild_split(run_dataset(gb.info.run_id, gb.info.artifact_uri))
    same = unseen_rows(
        split, registry.Holder("1", gb.info.run_id), gb.info.artifact_uri
    )
    cross = unseen_rows(
        split, registry.Holder("2", other.info.run_id), other.info.artifact_uri
    )

    def rows(X, y):
        return set(pd.util.hash_pandas_object(pd.concat([X, y], axis=1), index=False))

    trained = rows(split.X_train, split.y_train)
    assert not rows(same.X_test, same.y_test) & trained
    assert len(cross.y_test) < len(same.y_test) < len(split.y_test)
    with pytest.raises(PolicyError, match="rows it trained on are unknown"):
        unseen_rows(split, registry.Holder("3", None), None)


def test_an_unfinished_sweep_never_competes_even_across_the_experiment(
    store, client, caplog
) -> None:
    policy = make_policy(
        candidates={"scope": "experiment", "experiment": "customer_churn_prediction"}
    )
    client.update_run(store.parent_run_id, status="RUNNING")  # a sweep under way
    caplog.set_level("WARNING", logger="churn_experiments.policy.sweeps")
    decision = decide(policy, client, None)
    assert decision.candidates == [] and decision.winner is None
    assert caplog.messages == [
        f"the runs of 1 unfinished sweep(s) do not compete: {store.parent_run_id}"
        " (RUNNING)"
    ]
    client.set_terminated(store.parent_run_id, "FINISHED")
    assert decide(policy, client, None).winner.run_id == store.run_ids["gb"]
