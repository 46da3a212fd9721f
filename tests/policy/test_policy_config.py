"""Policy files and rules without a store: parsing, schema errors, queries."""

from __future__ import annotations

import numpy as np
import pytest
from policy_helpers import BASE_SPEC, EXPERIMENT, make_policy
from support import compose_config

from churn_experiments.errors import ConfigError
from churn_experiments.policy import load_policies, rules
from churn_experiments.policy.compare import mcnemar, resampled_metric
from churn_experiments.policy.rules import (
    candidate_filter,
    check_guard,
    order_by,
    parse_guard,
)
from churn_experiments.validation import load_schema, validate_group


def compose_policies(selection: str):
    return compose_config([f"policy={selection}"])


def test_shipped_policies_compose_together_and_load_in_order() -> None:
    cfg = compose_policies("[best_f1,best_recall]")
    best_f1, best_recall = load_policies(cfg.policy)
    assert (best_f1.name, best_recall.name) == ("best_f1", "best_recall")
    assert best_f1.candidates.experiment == cfg.experiment_name
    assert best_f1.compare_to.significance.seed == cfg.seed
    assert (best_f1.actions.alias, best_f1.actions.stage) == ("champion", "Production")
    assert (best_recall.actions.alias, best_recall.actions.stage) == (
        "challenger",
        "Staging",
    )
    assert best_f1.content_hash != best_recall.content_hash


def test_no_policy_is_selected_by_default() -> None:
    assert compose_config().get("policy") is None


@pytest.mark.parametrize(
    ("text", "terms", "op", "threshold"),
    [
        ("test_roc_auc >= 0.80", ((1, "test_roc_auc"),), ">=", 0.8),
        (
            "train_accuracy - test_accuracy <= 0.10",
            ((1, "train_accuracy"), (-1, "test_accuracy")),
            "<=",
            0.1,
        ),
        ("fit_seconds<2", ((1, "fit_seconds"),), "<", 2.0),
        (
            "test_f1 + test_recall > -1e-3",
            ((1, "test_f1"), (1, "test_recall")),
            ">",
            -0.001,
        ),
    ],
)
def test_guards_parse(text: str, terms: tuple, op: str, threshold: float) -> None:
    guard = parse_guard(text)
    assert (guard.terms, guard.op, guard.threshold) == (terms, op, threshold)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("test_auc >= 0.8", "unknown metric 'test_auc'"),
        ("__import__('os').system('true') >= 0", "unknown metric"),
        ("test_f1 >= high", "'high' is not a number"),
        ("test_f1 == 0.5", "is not a guard"),
        (
            "test_f1 => 0.5",
            "'=>' is not a guard operator in 'test_f1 => 0.5'; allowed operators:"
            " >=, <=, >, <",
        ),
        ("test_f1 * 2 >= 1", r"unknown metric 'test_f1 \* 2'"),
        ("test_f1 >= nan", "finite"),
    ],
)
def test_bad_guards_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_guard(text)


def test_a_failed_guard_says_by_how_much() -> None:
    gap = parse_guard("train_accuracy - test_accuracy <= 0.10")
    result = check_guard(gap, {"train_accuracy": 0.954, "test_accuracy": 0.838})
    assert not result.passed
    assert result.value == pytest.approx(0.116)
    assert "misses by 0.0160" in result.detail
    missing = check_guard(parse_guard("test_log_loss <= 0.5"), {"test_f1": 0.4})
    assert (
        not missing.passed and "not logged by this run: test_log_loss" in missing.detail
    )


def test_unknown_select_metric_names_file_key_and_allowed_metrics() -> None:
    spec = BASE_SPEC | {"select": {"metric": "f1"}}
    with pytest.raises(ConfigError) as error:
        load_policies({"best_f1": spec})
    message = str(error.value)
    assert "policy/best_f1.yaml" in message
    assert "policy.best_f1.select.metric" in message
    assert "'test_f1'" in message and "'test_roc_auc'" in message


def test_unknown_guard_metric_names_file_key_and_allowed_metrics() -> None:
    spec = BASE_SPEC | {"guards": ["test_roc_auc >= 0.8", "tst_recall >= 0.5"]}
    with pytest.raises(ConfigError) as error:
        load_policies({"best_recall": spec})
    message = str(error.value)
    assert "policy/best_recall.yaml: policy.best_recall.guards.1" in message
    assert "unknown metric 'tst_recall'" in message
    assert "allowed metrics: train_accuracy, test_accuracy" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actions": {"description": "{metrc} won"}}, "fields: policy, metric"),
        ({"actions": {"stage": "Prod"}}, "'Prod' is not allowed"),
        (
            {"actions": {"stage": "None"}},
            r"'None' is not allowed; allowed values: 'Staging', 'Production',"
            r" 'Archived', null \(write null, not None, for no value\)",
        ),
        ({"compare_to": {"alias": "champion", "significance": {"test": "t"}}}, "'t'"),
        ({"candidates": {"scope": "all", "experiment": EXPERIMENT}}, "scope"),
        ({"colour": "red"}, "unknown key policy.p.colour"),
    ],
)
def test_schema_errors_name_the_key(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policies({"p": BASE_SPEC | change})


def test_the_schema_words_a_bad_guard_without_its_regular_expression() -> None:
    """What the sweep's up-front check of every group says (before load_policies)."""
    spec = BASE_SPEC | {"guards": ["test_f1 => 0.5"]}
    with pytest.raises(ConfigError) as error:
        validate_group("policy", {"p": spec}, "policy/p.yaml")
    assert str(error.value) == (
        "policy/p.yaml: policy.p.guards.0: 'test_f1 => 0.5' is not allowed; allowed: a"
        " guard like 'test_roc_auc >= 0.80': metric names joined by + or -, one of"
        " the operators >=, <=, >, <, then a number; metrics: train_accuracy,"
        " test_accuracy, test_precision, test_recall, test_f1, test_roc_auc,"
        " test_log_loss, fit_seconds, and cv_<metric>_mean, cv_<metric>_std of each"
        " score"
    )


def test_bad_policy_stops_a_sweep_before_any_job(tmp_path, monkeypatch) -> None:
    from churn_experiments import tracking
    from churn_experiments.sweep_callback import MlflowSweepCallback

    monkeypatch.chdir(tmp_path)
    cfg = compose_config(
        ["policy=best_f1", "policy.best_f1.select.metric=accuracy"],
        return_hydra_config=True,
    )
    with pytest.raises(SystemExit, match="policy.best_f1.select.metric"):
        MlflowSweepCallback().on_multirun_start(cfg)
    assert tracking.sweep_context()["parent_run_id"] is None
    assert list(tmp_path.iterdir()) == []  # no store was even created


def test_candidate_query_is_pushed_into_search_runs() -> None:
    policy = make_policy(
        candidates={
            "scope": "sweep",
            "experiment": EXPERIMENT,
            "filter": "params.seed = '124'",
        },
        select={
            "metric": "test_log_loss",
            "mode": "min",
            "tie_breakers": [{"metric": "test_f1"}],
        },
    )
    assert candidate_filter(policy, "abc") == (
        "attributes.status = 'FINISHED' and params.seed = '124' "
        "and tags.sweep_id = 'abc'"
    )
    assert order_by(policy) == [
        "metrics.test_log_loss ASC",
        "metrics.test_f1 DESC",
        "attributes.start_time ASC",
    ]


def test_resampled_metrics_match_scikit_learn() -> None:
    from sklearn import metrics

    rng = np.random.default_rng(0)
    truth = rng.random(200) < 0.3
    scores = np.clip(truth * 0.4 + rng.random(200) * 0.6, 0.01, 0.99)
    predicted = scores > 0.5
    everything = np.arange(200)[None, :]
    expected = {
        "test_accuracy": metrics.accuracy_score(truth, predicted),
        "test_precision": metrics.precision_score(truth, predicted),
        "test_recall": metrics.recall_score(truth, predicted),
        "test_f1": metrics.f1_score(truth, predicted),
        "test_roc_auc": metrics.roc_auc_score(truth, scores),
        "test_log_loss": metrics.log_loss(truth, scores),
    }
    for name, value in expected.items():
        got = resampled_metric(name, truth, predicted, scores, everything)
        assert got[0] == pytest.approx(value), name


def test_mcnemar_counts_discordant_rows() -> None:
    truth = np.array([True] * 10 + [False] * 10)
    new = truth.copy()
    old = truth.copy()
    old[:8] = ~old[:8]  # the holder misses 8 rows the winner gets right
    p_value, right, wrong = mcnemar(truth, new, old)
    assert (right, wrong) == (8, 0)
    assert p_value == pytest.approx(0.5**8)
    assert mcnemar(truth, new, new)[0] == 1.0


def test_cross_validated_metrics_rank_and_guard() -> None:
    policy = make_policy(
        select={
            "metric": "cv_test_f1_mean",
            "tie_breakers": [{"metric": "cv_test_f1_std", "mode": "min"}],
        },
        guards=["cv_test_f1_std <= 0.08", "cv_test_roc_auc_mean >= 0.8"],
    )
    assert rules.ranking(policy) == [
        ("cv_test_f1_mean", "max"),
        ("cv_test_f1_std", "min"),
    ]
    assert policy.guards[0].terms == ((1, "cv_test_f1_std"),)
    # a spread is no ranking: the select metric must be a score or its mean
    with pytest.raises(ConfigError, match="'cv_test_f1_std' is not allowed.*mean"):
        make_policy(select={"metric": "cv_test_f1_std"})
    [shipped] = load_policies(compose_policies("best_cv_f1").policy)
    assert shipped.select.metric == "cv_test_f1_mean"
    assert shipped.compare_to.significance.test == "bootstrap"


def test_a_key_left_out_takes_its_default_from_the_schema() -> None:
    policy = make_policy(
        compare_to={"alias": "champion", "significance": {"test": "bootstrap"}}
    )
    assert policy.candidates.max_results == 10 and policy.candidates.filter is None
    assert (policy.select.mode, policy.select.tie_breakers, policy.guards) == (
        "max",
        (),
        (),
    )
    rule = policy.compare_to
    assert (rule.margin, rule.rows) == (0.0, "unseen")
    assert tuple(rule.significance.values()) == ("bootstrap", 0.05, 2000, 0)
    assert dict(policy.actions) == {
        "alias": "champion",
        "description": None,
        "tags": {},
        "stage": None,
        "archive_existing_versions": False,
    }
    assert make_policy(select={"metric": "test_f1"}).compare_to is None


def test_every_optional_policy_key_has_its_default_in_the_schema() -> None:
    """The schema is the one place a policy's defaults live: none in code or YAML."""
    schema = load_schema("policy")
    missing = []

    def visit(node: dict, path: str) -> None:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]] | node
        for key, child in node.get("properties", {}).items():
            if key not in node.get("required", ()) and "default" not in child:
                missing.append(f"{path}.{key}")
            visit(child, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            visit(node["items"], f"{path}[]")

    visit(schema["$defs"]["policy"], "policy")
    assert missing == []


def test_policies_cross_to_launcher_workers_intact():
    """The joblib and Ray launchers pickle the sweep callback, policies included."""
    import pickle

    policies = load_policies(compose_config(["policy=[best_f1,best_recall]"]).policy)
    copies = pickle.loads(pickle.dumps(policies))
    assert copies == policies
    assert copies[0].select.metric == "test_f1" and copies[0].guards
