"""``churn-dataset`` drafts a spec that trains as it is."""

from __future__ import annotations

import hashlib

import pytest
import yaml
from fixture_project import FIXTURES, run_command

from churn_experiments.validation import validate_group

FILE = FIXTURES / "data" / "telco_like.csv"


def init(folder, *settings: str):
    return run_command(
        folder,
        f"file={FILE}",
        "target=Churn",
        "name=telco",
        "out=drafts",
        *settings,
        module="churn_experiments.dataset",
    )


def test_the_draft_guesses_roles_markers_digest_and_balance(tmp_path):
    result = init(tmp_path, "positive=Yes")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "drafts" / "dataset" / "telco.yaml").read_text()
    spec = yaml.safe_load(text.replace("${seed}", "1"))
    validate_group("dataset", spec, "draft")
    roles = {name: column["role"] for name, column in spec["columns"].items()}
    assert roles == {
        "customerID": "id",
        "Contract": "nominal",
        "Plan": "nominal",
        "tenure": "numeric",
        "MonthlyCharges": "numeric",
        "TotalCharges": "numeric",
        "gender": "nominal",
        "Churn": "target",
    }
    assert spec["columns"]["TotalCharges"]["na_values"] == [" "]
    assert spec["columns"]["Churn"]["categories"] == ["No", "Yes"]
    assert spec["target"] == {"column": "Churn", "positive": "Yes"}
    assert spec["sha256"] == hashlib.sha256(FILE.read_bytes()).hexdigest()
    assert "class balance: No 175 (72.9%), Yes 65 (27.1%)" in text
    assert "# every value different: an identifier" in text
    again = init(tmp_path)
    assert again.returncode == 1 and "exists; pass force=true" in again.stderr


def test_a_file_inside_the_working_folder_is_found_from_it(tmp_path):
    """A project's draft holds no path of the machine it was drafted on."""
    assert init_inside(tmp_path).returncode == 0
    text = (tmp_path / "drafts" / "dataset" / "telco.yaml").read_text()
    assert yaml.safe_load(text.replace("${seed}", "1"))["dir"] == "data"
    assert str(tmp_path) not in text


def init_inside(folder):
    """Draft from a copy of the file in ``folder/data``, the working folder."""
    (folder / "data").mkdir()
    (folder / "data" / FILE.name).write_bytes(FILE.read_bytes())
    return run_command(
        folder,
        f"file=data/{FILE.name}",
        "target=Churn",
        "name=telco",
        "out=drafts",
        "positive=Yes",
        module="churn_experiments.dataset",
    )


def test_a_bad_argument_is_one_line(tmp_path):
    result = init(tmp_path, "positive=Maybe")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: positive=Maybe: not a class of 'Churn'; its classes: ['No', 'Yes']"
    )


@pytest.mark.slow
def test_a_sweep_runs_on_the_draft_with_no_edit(tmp_path):
    assert init_inside(tmp_path).returncode == 0  # dir: data, from tmp_path
    result = run_command(
        tmp_path, "-m", "--config-dir", "drafts", "dataset=telco", "model=lr"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Leaderboard" in result.stdout + result.stderr
