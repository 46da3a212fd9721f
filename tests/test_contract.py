"""The vectorised data contract: every bad cell found at once, with a reason per row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from support import DATA_FILE, RAW_ROWS, compose_config

from churn_experiments.columns import contract as served_contract
from churn_experiments.columns import typed_specs
from churn_experiments.contract import allowed_text, check_frame
from churn_experiments.data import read_csv, validate_frame
from churn_experiments.errors import DataContractError


@pytest.fixture(scope="module")
def dataset() -> dict:
    return OmegaConf.to_container(compose_config().dataset, resolve=True)


@pytest.fixture(scope="module")
def contract(dataset: dict) -> dict:
    """The input columns' specs, as a logged model carries them."""
    return served_contract(dataset)


def broken_rows() -> pd.DataFrame:
    """Four request rows: fine, two bad cells, fine, one bad cell (typed as JSON)."""
    rows = pd.concat([RAW_ROWS, RAW_ROWS], ignore_index=True).astype(object)
    rows.loc[1, ["Age", "FrequentFlyer"]] = [500, "Maybe"]
    rows.loc[3, "Age"] = "abc"
    return rows.set_axis([10, 11, 12, 13])


def test_the_real_file_keeps_the_contract_and_gets_declared_dtypes(dataset):
    checked = check_frame(read_csv(DATA_FILE), typed_specs(dataset))
    assert checked.ok
    rows = checked.valid_rows()
    assert rows.shape == (954, 7)
    assert rows.dtypes.to_dict() == {
        name: "int64" if spec["dtype"] == "int" else object
        for name, spec in typed_specs(dataset).items()
    }
    assert checked.reasons().empty


def test_every_bad_cell_is_found_with_a_reason_per_row(contract):
    checked = check_frame(broken_rows(), contract)
    assert not checked.ok
    assert list(checked.bad_rows()) == [11, 13]
    assert checked.reasons().to_dict() == {
        11: "Age=500 (allowed: an integer from 18 to 100); FrequentFlyer='Maybe'"
        " (allowed: one of 'Yes', 'No', 'No Record')",
        13: "Age='abc' (allowed: an integer from 18 to 100)",
    }
    valid = checked.valid_rows()
    assert list(valid.index) == [10, 12]
    assert valid["Age"].dtype == "int64"
    expected = RAW_ROWS.iloc[[0, 0]].astype({"Age": "int64", "ServicesOpted": "int64"})
    pd.testing.assert_frame_equal(
        valid, expected.set_axis([10, 12]).astype(valid.dtypes.to_dict())
    )


def test_the_message_names_every_bad_column_and_value(contract):
    message = check_frame(broken_rows(), contract).message("request")
    assert message == (
        "request: 2 of 4 row(s) break the data contract: column 'Age' has 500, 'abc'"
        " (allowed: an integer from 18 to 100); column 'FrequentFlyer' has 'Maybe'"
        " (allowed: one of 'Yes', 'No', 'No Record')"
    )


def test_missing_columns_and_bad_values_are_reported_together(contract):
    rows = broken_rows().drop(columns=["BookedHotelOrNot", "ServicesOpted"])
    checked = check_frame(rows, contract)
    message = checked.message("request")
    assert "missing column(s) ['ServicesOpted', 'BookedHotelOrNot']" in message
    assert "column 'Age' has 500, 'abc'" in message
    with pytest.raises(ValueError, match="missing column"):
        checked.valid_rows()


@pytest.mark.parametrize("empty", [None, np.nan, "", "  "])
def test_a_missing_cell_breaks_a_column_that_is_not_nullable(contract, empty):
    rows = RAW_ROWS.astype(object)
    rows.loc[0, "FrequentFlyer"] = empty
    rows.loc[1, "Age"] = empty
    reasons = check_frame(rows, contract).reasons()
    assert (
        reasons[0] == "FrequentFlyer=missing (allowed: one of 'Yes', 'No', 'No Record')"
    )
    assert reasons[1] == "Age=missing (allowed: an integer from 18 to 100)"


def test_nullable_columns_and_na_values_accept_missing_cells(contract):
    nullable = {
        **contract,
        "Age": {**contract["Age"], "nullable": True, "na_values": ["?"]},
        "FrequentFlyer": {**contract["FrequentFlyer"], "nullable": True},
    }
    rows = RAW_ROWS.astype(object)
    rows.loc[0, ["Age", "FrequentFlyer"]] = ["?", None]
    checked = check_frame(rows, nullable)
    assert checked.ok
    valid = checked.valid_rows()
    assert valid["Age"].dtype == "float64" and np.isnan(valid.loc[0, "Age"])
    assert pd.isna(valid.loc[0, "FrequentFlyer"])
    assert allowed_text(nullable["Age"]) == "an integer from 18 to 100, or missing"


def test_text_and_typed_numbers_are_checked_alike(contract):
    text = RAW_ROWS.astype(str)
    text.loc[0, "Age"] = " 34 "
    text.loc[1, "ServicesOpted"] = "1.5"
    reasons = check_frame(text, contract).reasons()
    assert list(reasons.index) == [1]
    assert reasons[1] == "ServicesOpted='1.5' (allowed: an integer from 1 to 6)"


def test_text_numbers_with_blanks_and_words_are_parsed_cell_by_cell(contract):
    nullable = {"Age": {**contract["Age"], "nullable": True}}
    text = pd.DataFrame({"Age": ["34", " ", "forty", "1e1", "55.0", ""]})
    checked = check_frame(text, nullable)
    typed = checked.typed["Age"].tolist()
    assert typed[0] == 34 and typed[4] == 55 and np.isnan(typed[1:4]).all()
    assert np.isnan(typed[5])
    assert checked.reasons().to_dict() == {
        2: "Age='forty' (allowed: an integer from 18 to 100, or missing)",
        3: "Age='1e1' (allowed: an integer from 18 to 100, or missing)",
    }


def test_many_bad_values_are_counted_past_the_first_ten(dataset):
    frame = read_csv(DATA_FILE)
    frame["Age"] = [str(100 + i) for i in range(len(frame))]
    with pytest.raises(DataContractError) as err:
        validate_frame(frame, typed_specs(dataset), "Customertravel.csv", first_row=2)
    assert str(err.value) == (
        "Customertravel.csv: 953 of 954 row(s) break the data contract: column 'Age'"
        " has '101', '102', '103', '104', '105', '106', '107', '108', '109', '110'"
        " and 943 more (allowed: an integer from 18 to 100; first at row 3)"
    )
