"""Decisions and the ledger as text: what ``dry_run=true`` and history print."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from churn_experiments.policy.rules import GUARD_METRICS

if TYPE_CHECKING:
    from mlflow.entities import Run

    from churn_experiments.policy.decision import Decision

PLANNED = {
    "promote": "would PROMOTE",
    "refuse": "would REFUSE",
    "unchanged": "UNCHANGED (nothing to do)",
}


def render(decision: Decision) -> str:
    """The decision table: candidates, guards, comparison, actions, verdict."""
    target = f"{decision.registered_model}@{decision.alias or '(no alias)'}"
    if decision.outcome == "planned":
        state = (
            "would ROLL BACK"
            if decision.kind == "rollback"
            else PLANNED[decision.verdict]
        )
    else:
        state = decision.outcome.upper()
        if decision.outcome == "applied":
            state += f" (version {decision.new_version})"
    lines = [f"Policy {decision.policy} [{decision.policy_hash}] -> {target}: {state}"]
    if decision.kind == "promote":
        lines += _candidates(decision)
    if decision.guards:
        winner = decision.winner
        lines += ["", f"Guards on {winner.model} (run {winner.run_id}):"]
        lines.append(
            _table(
                [
                    (
                        g.guard,
                        _number(g.value),
                        "pass" if g.passed else "FAIL",
                        g.detail,
                    )
                    for g in decision.guards
                ],
                ("guard", "value", "result", "detail"),
            )
        )
    lines += _comparison(decision)
    lines += ["", "Actions:" if decision.actions else "Actions: none"]
    lines += [f"  {i}. {action}" for i, action in enumerate(decision.actions, 1)]
    lines += ["", f"Reason: {decision.reason}"]
    if decision.ledger_run_id:
        lines.append(f"Ledger: run {decision.ledger_run_id}")
    return "\n".join(lines)


def _candidates(decision: Decision) -> list[str]:
    scope = (
        f"sweep {decision.sweep_id}"
        if decision.sweep_id
        else f"run {decision.run_id}"
        if decision.run_id
        else "all runs"
    )
    header = (
        f"Candidates ({scope} in experiment {decision.experiment}), ranked by "
        + ", then ".join(decision.ranked_by)
        + ":"
    )
    if not decision.candidates:
        return ["", header, "  (none)"]
    columns = _metric_columns(decision)
    rows = [
        (rank, c.model, c.run_id, *(_number(c.metrics.get(m)) for m in columns))
        for rank, c in enumerate(decision.candidates, 1)
    ]
    return ["", header, _table(rows, ("rank", "model", "run_id", *columns))]


def _metric_columns(decision: Decision) -> list[str]:
    columns = [key.split()[0] for key in decision.ranked_by]
    for guard in decision.guards:
        for name in re.findall(r"[a-z_]+", guard.guard):
            if name in GUARD_METRICS and name not in columns:
                columns.append(name)
    return columns


def _comparison(decision: Decision) -> list[str]:
    if not decision.compare_alias:
        return []
    title = f"Comparison with @{decision.compare_alias}"
    comparison = decision.comparison
    if comparison is None:
        holder = decision.compare_holder
        note = f"version {holder} is the winner itself" if holder else "no holder"
        return ["", f"{title}: {note}"]
    significance = "-"
    if comparison.interval is not None:
        low, high = comparison.interval
        significance = f"CI [{low:+.4f}, {high:+.4f}]"
    elif comparison.p_value is not None:
        significance = f"p = {comparison.p_value:.4f}"
    improvement = comparison.improvement
    row = (
        comparison.metric,
        _number(comparison.candidate_value),
        _number(comparison.holder_value),
        "-" if improvement is None else f"{improvement:+.4f}",
        f"{comparison.margin:g}",
        f"{comparison.test or 'none'}: {significance}",
        "pass" if comparison.passed else "FAIL",
    )
    return [
        "",
        f"{title} (version {comparison.holder_version}), both scored on "
        f"{comparison.rows} of the winner's {comparison.rows + comparison.excluded} "
        f"test rows ({comparison.excluded} left out: a model trained on them):",
        _table(
            [row],
            (
                "metric",
                "winner",
                "holder",
                "improvement",
                "margin",
                "test",
                "result",
            ),
        ),
    ]


def render_history(runs: Sequence[Run]) -> str:
    """The ledger, newest first: one line per decision."""
    if not runs:
        return "No decisions recorded yet."
    rows = []
    for run in runs:
        tags = run.data.tags
        rows.append(
            (
                tags.get("decided_at", "")[:19].replace("T", " "),
                tags.get("policy", ""),
                tags.get("outcome", ""),
                f"{tags.get('registered_model', '')}@{tags.get('alias', '-')}",
                _version_change(tags),
                tags.get("winner_model", "-"),
                _shorten(tags.get("reason", ""), 70),
                run.info.run_id,
            )
        )
    return _table(
        rows,
        (
            "decided (UTC)",
            "policy",
            "outcome",
            "alias",
            "version",
            "winner",
            "reason",
            "ledger run",
        ),
    )


def _version_change(tags: dict[str, str]) -> str:
    previous = tags.get("previous_version", "-")
    if tags.get("outcome") == "applied":
        return f"{previous} -> {tags.get('new_version', '-')}"
    return f"{previous} (kept)"


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
