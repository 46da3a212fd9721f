"""One list of metrics: a score added to metric_names.DEFINITIONS is all it takes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import churn_experiments

# a new score, as a user would add it: one entry in the list
ADDED = (
    '    Score("test_balanced_accuracy", counts=lambda tp, fp, fn, tn: '
    "(_ratio(tp, tp + fn) + _ratio(tn, tn + fp)) / 2),\n"
)
# what the copy of the package is asked to accept and compute with the new name
PROBE = """
import json
import numpy as np
from churn_experiments import metric_names
from churn_experiments.data import Split
from churn_experiments.evaluation import Predictions, score_predictions
from churn_experiments.policy import load_policies
from churn_experiments.policy.compare import resampled_metric
from churn_experiments.validation import validate_group

validate_group("leaderboard", {"sort_by": "test_balanced_accuracy"}, "config.yaml")
(policy,) = load_policies({"p": {
    "registered_model": "m",
    "candidates": {"experiment": "e"},
    "select": {
        "metric": "cv_test_balanced_accuracy_mean",
        "tie_breakers": [{"metric": "test_balanced_accuracy"}],
    },
    "guards": ["test_balanced_accuracy - cv_test_balanced_accuracy_std >= 0.5"],
}})
truth = np.array([True, True, False, False, False])
predicted = np.array([True, False, False, False, True])
labels = np.where(predicted, 1, 0)
split = Split(None, None, np.array([1, 0]), truth.astype(int), 1)
made = Predictions(np.array([1, 0]), labels, predicted * 1.0, True)
scores = score_predictions(made, split)
print(json.dumps({
    "held_out": metric_names.held_out_score(policy.select.metric),
    "guard": [name for _, name in policy.guards[0].terms],
    "scored": scores["test_balanced_accuracy"],
    "resampled": resampled_metric(
        "test_balanced_accuracy", truth, predicted, predicted * 1.0, np.arange(5)[None]
    ).tolist(),
}))
"""


def test_a_score_added_to_the_list_is_accepted_and_computed_everywhere(
    tmp_path: Path,
) -> None:
    package = Path(churn_experiments.__file__).parent
    copy = tmp_path / "churn_experiments"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    names = copy / "metric_names.py"
    text = names.read_text()
    anchor = '    Score("test_roc_auc"'
    assert anchor in text
    names.write_text(text.replace(anchor, ADDED + anchor, 1))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout)
    assert probe["held_out"] == "test_balanced_accuracy"
    assert probe["guard"] == ["test_balanced_accuracy", "cv_test_balanced_accuracy_std"]
    # recall 1/2, specificity 2/3
    assert probe["scored"] == probe["resampled"][0] == (1 / 2 + 2 / 3) / 2
