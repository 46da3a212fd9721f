"""A decision: what a policy (or a rollback) found, decided and did."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from churn_experiments.policy.compare import Comparison
from churn_experiments.policy.rules import Candidate, GuardResult

# outcomes recorded in the ledger
PENDING, APPLIED, REFUSED, UNCHANGED, FAILED, ABANDONED = (
    "pending",
    "applied",
    "refused",
    "unchanged",
    "failed",
    "abandoned",  # its process ended while applying it
)


@dataclass
class Decision:
    """One decision; ``verdict`` is what deciding found, ``outcome`` what happened.

    ``verdict``: ``promote``, ``refuse`` or ``unchanged``. ``outcome`` is ``planned``
    until the decision is recorded, then one of the ledger outcomes above.
    """

    kind: str  # "promote" or "rollback"
    policy: str
    policy_hash: str
    registered_model: str
    alias: str | None
    verdict: str = "refuse"
    reason: str = ""
    sweep_id: str | None = None
    run_id: str | None = None  # after a single run: its only candidate
    experiment: str | None = None
    ranked_by: list[str] = field(default_factory=list)  # "test_f1 max", tie-breakers
    candidates: list[Candidate] = field(default_factory=list)
    guards: list[GuardResult] = field(default_factory=list)
    comparison: Comparison | None = None
    compare_alias: str | None = None
    compare_holder: str | None = None  # version holding compare_alias when decided
    previous_version: str | None = None  # version holding ``alias`` before
    existing_version: str | None = None  # version already registered from the winner
    config_hash: str | None = None
    actions: list[str] = field(default_factory=list)
    decided_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds")
    )
    outcome: str = "planned"
    new_version: str | None = None
    ledger_run_id: str | None = None

    @property
    def winner(self) -> Candidate | None:
        """The best-ranked candidate, if any."""
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict:
        """Everything, as JSON-ready values (the ledger's ``decision.json``)."""
        return asdict(self)

    def tags(self) -> dict[str, str]:
        """The searchable summary the ledger keeps as run tags."""
        winner = self.winner
        values = {
            "kind": self.kind,
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            "registered_model": self.registered_model,
            "alias": self.alias,
            "outcome": self.outcome,
            "verdict": self.verdict,
            "reason": self.reason[:5000],
            "decided_at": self.decided_at,
            "sweep_id": self.sweep_id,
            "single_run_id": self.run_id,
            "experiment": self.experiment,
            "previous_version": self.previous_version,
            "new_version": self.new_version,
            "winner_run_id": winner.run_id if winner else None,
            "winner_model": winner.model if winner else None,
            "config_hash": self.config_hash,
        }
        return {key: str(value) for key, value in values.items() if value is not None}
