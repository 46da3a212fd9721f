"""Declared promotion policies: rank a sweep's runs, guard, compare, register, record.

``conf/policy/<name>.yaml`` declares a policy; :func:`apply_policies` runs the
selected ones (the sweep callback calls it at the end of a multirun), and
``churn-promote`` runs them on demand, prints the ledger and
rolls an alias back.
"""

from churn_experiments.policy.decision import Decision
from churn_experiments.policy.engine import apply_policies, decide, promote
from churn_experiments.policy.ledger import rollback
from churn_experiments.policy.spec import Policy, PolicyError, load_policies

__all__ = [
    "Decision",
    "Policy",
    "PolicyError",
    "apply_policies",
    "decide",
    "load_policies",
    "promote",
    "rollback",
]
