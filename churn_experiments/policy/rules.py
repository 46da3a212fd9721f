"""The rules of a policy: which runs compete, how they rank, which guards hold."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from churn_experiments.metric_names import LOGGED

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from churn_experiments.policy.spec import Policy

GUARD_METRICS = LOGGED
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_COMPARISON = re.compile(r"^\s*(?P<lhs>.+?)\s*(?P<op>>=|<=|>|<)\s*(?P<rhs>\S+)\s*$")
_TERM = re.compile(r"\s*([-+])\s*")
_OPERATOR_LIKE = re.compile(r"[<>=!]+")
# pages of candidates fetched at most while skipping runs without a logged model
MAX_PAGES = 5
# runs per unordered probe, and probes at most, when narrowing by the select metric
PROBE_SIZE = 200
MAX_PROBES = 8


@dataclass(frozen=True)
class Guard:
    """``a - b <= 0.1``: a signed sum of metrics compared with a number."""

    text: str
    terms: tuple[tuple[int, str], ...]
    op: str
    threshold: float

    def value(self, metrics: Mapping[str, float]) -> float | None:
        """The left-hand side for ``metrics``; None when a metric was not logged."""
        if any(name not in metrics for _, name in self.terms):
            return None
        return sum(sign * metrics[name] for sign, name in self.terms)


@dataclass(frozen=True)
class GuardResult:
    """One guard checked against the winner: its value, verdict and explanation."""

    guard: str
    value: float | None
    passed: bool
    detail: str


@dataclass(frozen=True)
class Candidate:
    """A finished run with a logged model, as ranked by the policy."""

    run_id: str
    model: str
    metrics: dict[str, float]
    model_id: str
    artifact_uri: str = field(repr=False)

    @property
    def model_uri(self) -> str:
        """The logged model's URI (``models:/m-...``)."""
        return f"models:/{self.model_id}"


def parse_guard(text: str) -> Guard:
    """Parse ``"test_roc_auc >= 0.80"`` or ``"train_accuracy - test_accuracy <= 0.1"``.

    A tiny grammar, no ``eval``: metric names joined by ``+``/``-``, one of ``>=``,
    ``<=``, ``>``, ``<``, and a number. Raises ValueError saying what is wrong.
    """
    allowed = ", ".join(OPERATORS)
    for token in _OPERATOR_LIKE.findall(text):
        if token not in OPERATORS:
            raise ValueError(
                f"{token!r} is not a guard operator in {text!r}; allowed operators:"
                f" {allowed}"
            )
    match = _COMPARISON.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a guard like 'test_roc_auc >= 0.80' "
            "(metrics joined by + or -, then >=, <=, > or <, then a number)"
        )
    try:
        threshold = float(match["rhs"])
    except ValueError:
        raise ValueError(f"{text!r}: {match['rhs']!r} is not a number") from None
    if not math.isfinite(threshold):
        raise ValueError(f"{text!r}: the threshold must be a finite number")
    parts = ["+", *_TERM.split(match["lhs"].strip())]
    terms = []
    for sign, name in zip(parts[::2], parts[1::2], strict=True):
        if name not in GUARD_METRICS:
            raise ValueError(f"unknown metric {name!r} in {text!r}")
        terms.append((1 if sign == "+" else -1, name))
    return Guard(text.strip(), tuple(terms), match["op"], threshold)


def check_guard(guard: Guard, metrics: Mapping[str, float]) -> GuardResult:
    """Check ``guard``; a failure says by how much it missed its threshold."""
    value = guard.value(metrics)
    if value is None:
        missing = [name for _, name in guard.terms if name not in metrics]
        return GuardResult(
            guard.text, None, False, f"not logged by this run: {', '.join(missing)}"
        )
    passed = OPERATORS[guard.op](value, guard.threshold)
    held = f"{value:.4f} {guard.op} {guard.threshold:g}"
    if passed:
        return GuardResult(guard.text, value, True, held)
    return GuardResult(
        guard.text,
        value,
        False,
        f"{value:.4f} is not {guard.op} {guard.threshold:g}: misses by "
        f"{abs(value - guard.threshold):.4f}",
    )


def candidate_filter(
    policy: Policy, sweep_id: str | None, run_id: str | None = None
) -> str:
    """The MLflow filter string: finished runs, the user's filter, the sweep (or the
    single run ``run_id``, a sweep of one)."""
    clauses = ["attributes.status = 'FINISHED'"]
    if policy.candidates.filter:
        clauses.append(policy.candidates.filter)
    if run_id:
        clauses.append(f"attributes.run_id = '{run_id}'")
    elif policy.candidates.scope == "sweep":
        clauses.append(f"tags.sweep_id = '{sweep_id}'")
    return " and ".join(clauses)


def ranking(policy: Policy) -> list[tuple[str, str]]:
    """(metric, mode) of the select metric, then of each tie-breaker."""
    select = policy.select
    return [(select.metric, select.mode)] + [
        (tie.metric, tie.mode) for tie in select.tie_breakers
    ]


def order_by(policy: Policy) -> list[str]:
    """The select metric, the tie-breakers, then the earliest run first."""
    keys = ranking(policy)
    return [
        f"metrics.{metric} {'DESC' if mode == 'max' else 'ASC'}"
        for metric, mode in keys
    ] + ["attributes.start_time ASC"]


def search_candidates(
    client: MlflowClient,
    experiment_id: str,
    policy: Policy,
    sweep_id: str | None,
    excluded_sweeps: frozenset[str] = frozenset(),
    run_id: str | None = None,
) -> list[Candidate]:
    """The best ``max_results`` finished runs with a logged model, best first.

    Filtering and ranking happen in the tracking store (``search_runs``). Sorting by
    a metric there joins every matching run with every run's value of that metric
    (on SQLite that grows with matching runs x runs in the store: ~3.5 s per sort
    key at 10,000 runs), so the runs are first narrowed to those reaching a
    threshold of the select metric that at least ``max_results`` runs reach
    (:func:`select_threshold`); the ranking is exact either way.
    """
    base = candidate_filter(policy, sweep_id, run_id)
    threshold = select_threshold(client, experiment_id, policy, base)
    narrowed = _narrowed(policy, base, threshold)
    found = _ranked(client, experiment_id, policy, narrowed, excluded_sweeps)
    if not found and threshold is not None:  # the best runs have no logged model
        found = _ranked(client, experiment_id, policy, base, excluded_sweeps)
    return found


def select_threshold(
    client: MlflowClient, experiment_id: str, policy: Policy, base: str
) -> float | None:
    """A select-metric value at least ``max_results`` matching runs reach, or None.

    Each probe fetches an unordered page of the runs reaching the current threshold
    and raises it to the ``max_results``-th best value on that page, until fewer
    than a page of runs remain (typically two or three probes at 10,000 runs).
    """
    metric, wanted = policy.select.metric, policy.candidates.max_results
    threshold = None
    for _ in range(MAX_PROBES):
        page = client.search_runs(
            [experiment_id],
            filter_string=_narrowed(policy, base, threshold),
            max_results=PROBE_SIZE,
        )
        if len(page) < PROBE_SIZE:
            break
        values = sorted(
            (
                run.data.metrics[metric]
                for run in page
                if math.isfinite(run.data.metrics.get(metric, math.nan))
            ),
            reverse=policy.select.mode == "max",
        )
        if len(values) < wanted or values[wanted - 1] == threshold:
            break
        threshold = values[wanted - 1]
    return threshold


def _narrowed(policy: Policy, base: str, threshold: float | None) -> str:
    if threshold is None:
        return base
    op = ">=" if policy.select.mode == "max" else "<="
    return f"{base} and metrics.{policy.select.metric} {op} {threshold!r}"


def _ranked(
    client: MlflowClient,
    experiment_id: str,
    policy: Policy,
    filter_string: str,
    excluded_sweeps: frozenset[str],
) -> list[Candidate]:
    """Ranked runs with a logged model, outside ``excluded_sweeps``; runs without
    the select metric end it."""
    found: list[Candidate] = []
    token = None
    for _ in range(MAX_PAGES):
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by(policy),
            max_results=policy.candidates.max_results,
            page_token=token,
        )
        for run in page:
            if policy.select.metric not in run.data.metrics:
                return found
            if run.data.tags.get("sweep_id") in excluded_sweeps:
                continue
            outputs = run.outputs.model_outputs if run.outputs else []
            if outputs:
                found.append(_candidate(run, outputs[-1].model_id))
            if len(found) == policy.candidates.max_results:
                return found
        token = page.token
        if not token:
            break
    return found


def _candidate(run: Any, model_id: str) -> Candidate:
    tags = run.data.tags
    model = tags.get("model_family") or run.info.run_name or "?"
    return Candidate(
        run_id=run.info.run_id,
        model=f"{model} {tags['swept']}"
        if tags.get("swept")
        else model,  # rf n_estimators=50
        metrics=dict(run.data.metrics),
        model_id=model_id,
        artifact_uri=run.info.artifact_uri,
    )
