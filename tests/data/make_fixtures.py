"""Write the small synthetic CSVs the target tests read (run once; the CSVs are kept).

Subscription churn with a planted signal: more complaints, a shorter tenure and the
Basic plan make churn likelier. ``python tests/data/make_fixtures.py`` rewrites them.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
FEATURES = ["tenure", "plan", "complaints"]


def customers(rows: int, seed: int) -> list[dict]:
    """Feature rows and each one's churn log-odds."""
    rng = random.Random(seed)
    people = []
    for _ in range(rows):
        row = {
            "tenure": rng.randint(1, 72),
            "plan": rng.choice(["Basic", "Plus", "Pro"]),
            "complaints": rng.randint(0, 5),
        }
        logit = 0.9 * row["complaints"] - 0.05 * row["tenure"] - 0.5
        row["logit"] = logit + (1.0 if row["plan"] == "Basic" else 0.0)
        people.append(row)
    return people


def write(name: str, target: str, rows: list[dict]) -> None:
    with open(HERE / name, "w", newline="") as out:
        writer = csv.DictWriter(
            out, [*FEATURES, target], extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(7)
    status = customers(400, seed=1)
    for row in status:
        churned = rng.random() < 1 / (1 + math.exp(-row["logit"]))
        row["Status"] = "Churned" if churned else "Stayed"
    write("churned_stayed.csv", "Status", status)

    risk = customers(450, seed=2)
    for row in risk:
        noisy = row["logit"] + rng.gauss(0, 0.7)
        row["Risk"] = "High" if noisy > 0.5 else "Medium" if noisy > -1.0 else "Low"
    write("risk_three_class.csv", "Risk", risk)

    few = customers(30, seed=3)
    for index, row in enumerate(few):
        row["Status"] = "Churned" if index == 0 else "Stayed"
    write("one_churner.csv", "Status", few)
    for row in few:
        row["Status"] = "Stayed"
    write("one_class.csv", "Status", few)


if __name__ == "__main__":
    main()
