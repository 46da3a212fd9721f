"""Each mistake in a user's dataset YAML is one line naming the file, the column or key,
the value and what is allowed; it stops before the store is created."""

from __future__ import annotations

import pytest
from fixture_project import edit_yaml, make_project, run_command

pytestmark = pytest.mark.slow

SPEC = "conf/dataset/telco_like.yaml"

CASES = {
    "undeclared column": (
        ("  gender: {role: ignore}\n", ""),
        (),
        "data/telco_like.csv: column(s) ['gender'] are not declared in dataset.columns;"
        " give each a role (target, id, nominal, ordinal, numeric, ignore)",
    ),
    "misspelled ordinal category": (
        ("[Basic, Standard, Premium]", "[Basic, Standrd, Premium]"),
        (),
        "column 'Plan' has 'Standard' (allowed: one of 'Basic', 'Standrd', 'Premium';"
        " first at row 5)",
    ),
    "empty file": (
        None,
        ("dataset.file=empty.csv",),
        "data/empty.csv is empty: expected a header row",
    ),
    "header-only file": (
        None,
        ("dataset.file=header_only.csv",),
        "data/header_only.csv has a header row but no data rows",
    ),
    "unquoted Yes": (
        ('positive: "Yes"', "positive: Yes"),
        (),
        f"{SPEC}: dataset.target.positive: True is a boolean: YAML reads an unquoted "
        'yes, no, true, false, on or off as one; quote the label ("Yes")',
    ),
    "unquoted [No, Yes]": (
        ('categories: ["No", "Yes"]', "categories: [No, Yes]"),
        (),
        f"{SPEC}: dataset.columns.Churn.categories.0: False, "
        "dataset.columns.Churn.categories.1: True are booleans: YAML reads an unquoted"
        ' yes, no, true, false, on or off as one; quote the labels ("No", "Yes")',
    ),
    "text declared numeric": (
        (
            "Contract: {role: nominal, categories: "
            "[Month-to-month, One year, Two year]}",
            "Contract: {role: numeric, dtype: float}",
        ),
        (),
        "column 'Contract' has 'One year', 'Month-to-month', 'Two year' (allowed: a"
        " number; first at row 2)",
    ),
    "blank cells not declared missing": (
        (', na_values: [" "], nullable: true', ""),
        (),
        "column 'TotalCharges' has missing (allowed: a number; first at row 51); a "
        "column whose cells may be missing declares `nullable: true`",
    ),
    "YAML syntax error": (
        ("split:\n", "split: [oops\n"),
        (),
        f"{SPEC}:18:8: YAML syntax error: while parsing a flow sequence",
    ),
    "target column without the target role": (
        ("Churn: {role: target,", "Churn: {role: nominal,"),
        (),
        f"{SPEC}: dataset.target.column is 'Churn', but no column has role target",
    ),
    "positive label not a class": (
        ('positive: "Yes"', 'positive: "yes"'),
        (),
        f"{SPEC}: dataset.target.positive: 'yes' is not a class of Churn; "
        "its classes: ['No', 'Yes']",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_is_one_line_and_leaves_no_store(tmp_path, case):
    edit, overrides, message = CASES[case]
    conf = make_project(tmp_path)
    if edit:
        edit_yaml(tmp_path / SPEC, *edit)
    result = run_command(
        tmp_path, "--config-dir", str(conf), "dataset=telco_like", *overrides
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert message in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) <= 2, output
    assert not (tmp_path / "mlflow.db").exists()
