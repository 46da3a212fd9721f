"""Our four-model sweep against the same fits written by hand with MLflow, interleaved.

Run: ``python benchmarks/sweep.py [--repeat 3]``. Each repeat runs, in fresh folders
(a new SQLite store each, artifacts included), one after the other (A B A B ...):

- ours with defaults: ``python -m churn_experiments -m model=lr,rf,svc,gb``;
- the hand-written script ``benchmarks/handwritten_mlflow.py`` (same fits, explicit
  pip requirements, no plots, SHAP or profile);
- ours with ``explain.enabled=false profile.enabled=false``;
- the hand-written script again.

Each of ours is divided by the hand-written run next to it, so that the machine's drift
cancels; the medians of those ratios are printed against the targets (1.25x with
defaults, 1.10x without SHAP and profile), then the median seconds per phase of each.
Our phases are read back from the sweep's store; the script prints its own.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from _common import PROJECT, fresh_dir, median, run_timed

MODELS = ("lr", "rf", "svc", "gb")
HANDWRITTEN = str(PROJECT / "benchmarks" / "handwritten_mlflow.py")
CONFIGS = {  # name -> (extra overrides, target ratio)
    "defaults (profile, plots, SHAP)": ((), 1.25),
    "explain.enabled=false profile.enabled=false": (
        ("explain.enabled=false", "profile.enabled=false"),
        1.10,
    ),
}


def ours(folder: Path, overrides: tuple[str, ...]) -> tuple[float, dict[str, float]]:
    """Wall seconds of our sweep in ``folder`` and its phases read from the store."""
    started = time.time()
    wall, _ = run_timed(
        ["-m", "churn_experiments", "-m", f"model={','.join(MODELS)}", *overrides],
        folder,
    )
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (experiment,) = client.search_experiments(
        filter_string="name = 'customer_churn_prediction'"
    )
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "true"]
    kids = sorted((r for r in runs if r is not parent), key=lambda r: r.info.start_time)
    phases = {
        "start-up to parent run": parent.info.start_time / 1e3 - started,
        "sweep set-up (data, profile)": (
            kids[0].info.start_time - parent.info.start_time
        )
        / 1e3,
    }
    for run in kids:
        family = run.data.tags["model_family"]
        phases[f"{family} run"] = (run.info.end_time - run.info.start_time) / 1e3
        phases[f"{family}   of which fit"] = run.data.metrics["fit_seconds"]
        if "shap_seconds" in run.data.metrics:  # beside the run, in the worker
            phases[f"{family}   SHAP, in the worker"] = run.data.metrics["shap_seconds"]
    phases["close sweep (leaderboard)"] = (
        parent.info.end_time - kids[-1].info.end_time
    ) / 1e3
    phases["exit"] = started + wall - parent.info.end_time / 1e3
    return wall, phases


def handwritten(folder: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of the hand-written script and the phases it prints."""
    wall, result = run_timed([HANDWRITTEN], folder)
    phases = json.loads(result.stdout.strip().splitlines()[-1])
    phases["exit"] = wall - sum(phases.values())
    return wall, phases


def show_phases(title: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{title}: median seconds per phase")
    for key in runs[0]:
        print(f"  {key:<32} {median([r.get(key, 0.0) for r in runs]):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ratios, walls, phases = defaultdict(list), defaultdict(list), defaultdict(list)
    for repeat in range(args.repeat):
        for name, (overrides, _) in CONFIGS.items():
            our_wall, our_phases = ours(fresh_dir("bench_sweep_"), overrides)
            their_wall, their_phases = handwritten(fresh_dir("bench_handwritten_"))
            ratios[name].append(our_wall / their_wall)
            walls[name] += [(our_wall, their_wall)]
            phases[f"ours, {name}"].append(our_phases)
            phases["hand-written MLflow"].append(their_phases)
            print(
                f"repeat {repeat + 1}, {name}: ours {our_wall:.2f} s, "
                f"hand-written {their_wall:.2f} s, ratio {our_wall / their_wall:.2f}x",
                flush=True,
            )

    print(f"\nFour-model sweep against hand-written MLflow, medians of {args.repeat}:")
    for name, (_, target) in CONFIGS.items():
        ours_s = median([w[0] for w in walls[name]])
        theirs_s = median([w[1] for w in walls[name]])
        ratio = median(ratios[name])
        print(
            f"  {name:<45} ours {ours_s:6.2f} s  hand-written {theirs_s:6.2f} s  "
            f"ratio {ratio:.2f}x (target <= {target:.2f}x: "
            f"{'met' if ratio <= target else 'NOT met'})"
        )
    for title, runs in phases.items():
        show_phases(title, runs)


if __name__ == "__main__":
    main()
