"""A policy's output is its decision table: no MLflow download bars in between."""

from __future__ import annotations

import os

from policy_helpers import make_policy, only_run

from churn_experiments.policy import apply_policies
from churn_experiments.tracking import PROGRESS_BAR_ENV


def test_comparing_with_the_champion_prints_no_progress_bar(
    store, client, capfd, monkeypatch
) -> None:
    monkeypatch.delenv(PROGRESS_BAR_ENV, raising=False)  # MLflow's default: bars on
    setup = make_policy("setup", candidates=only_run(store.run_ids["gb"]))
    challenge = make_policy(
        "challenge",
        candidates=only_run(store.run_ids["rf"]),
        compare_to={"alias": "champion"},
    )
    apply_policies([setup])
    capfd.readouterr()
    (decision,) = apply_policies([challenge])  # as the sweep's callback does
    assert decision.comparison is not None  # both models were downloaded and scored
    captured = capfd.readouterr()
    assert "Downloading artifacts" not in captured.err + captured.out
    assert "%|" not in captured.err
    assert PROGRESS_BAR_ENV not in os.environ  # left as it was
