"""The data contract: the real file loads; every kind of bad input is a clear error."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from support import DATA_FILE, compose_config

from churn_experiments.columns import typed_specs
from churn_experiments.data import (
    feature_columns,
    load_dataset,
    split_dataset,
    validate_frame,
)
from churn_experiments.errors import DataContractError


@pytest.fixture
def dataset() -> dict:
    return OmegaConf.to_container(compose_config().dataset, resolve=True)


def write_variant(tmp_path: Path, dataset: dict, edit) -> dict:
    """Copy the real file with ``edit`` applied to its text; point ``dataset`` at it."""
    text = DATA_FILE.read_text(encoding="utf-8-sig")
    (tmp_path / dataset["file"]).write_text(edit(text), encoding="utf-8")
    return {**dataset, "dir": str(tmp_path), "download": None}


def test_real_file_loads_with_declared_types(dataset):
    frame = load_dataset(dataset)
    assert frame.shape == (954, 7)
    assert list(frame.columns)[0] == "Age"  # the byte-order mark is gone
    assert frame["Age"].dtype == "int64"
    assert set(frame["AnnualIncomeClass"]) == {
        "Low Income",
        "Middle Income",
        "High Income",
    }
    assert frame.duplicated().sum() == 507
    assert frame["Target"].sum() == 224


def test_unknown_category_names_column_and_value(tmp_path, dataset):
    bad = write_variant(
        tmp_path, dataset, lambda t: t.replace("Low Income", "Lower Income", 1)
    )
    with pytest.raises(DataContractError, match=r"'AnnualIncomeClass'.*Lower Income"):
        load_dataset(bad)


def test_missing_column_is_named(tmp_path, dataset):
    def drop_hotel(text: str) -> str:
        frame = pd.read_csv(io.StringIO(text))
        return frame.drop(columns="BookedHotelOrNot").to_csv(index=False)

    with pytest.raises(DataContractError, match="BookedHotelOrNot"):
        load_dataset(write_variant(tmp_path, dataset, drop_hotel))


def test_wrong_dtype_names_column_and_row(tmp_path, dataset):
    bad = write_variant(tmp_path, dataset, lambda t: t.replace("\n34,", "\nthirty,", 1))
    with pytest.raises(
        DataContractError,
        match=r"'Age' has 'thirty' \(allowed: an integer.*first at row 2\)",
    ):
        load_dataset(bad)


def test_value_out_of_range(dataset):
    frame = pd.DataFrame({name: ["1"] for name in dataset["columns"]})
    frame["ServicesOpted"] = "9"
    with pytest.raises(
        DataContractError,
        match="'ServicesOpted' has '9' .allowed: an integer from 1 to 6",
    ):
        validate_frame(frame, {"ServicesOpted": typed_specs(dataset)["ServicesOpted"]})


def test_malformed_csv_is_a_clear_error(tmp_path, dataset):
    bad = write_variant(tmp_path, dataset, lambda t: t + '\n"unterminated,1,2')
    with pytest.raises(DataContractError, match="not a readable CSV"):
        load_dataset(bad)


def test_random_split_matches_notebook_and_is_seeded(dataset):
    frame = load_dataset(dataset)
    first, second = split_dataset(frame, dataset), split_dataset(frame, dataset)
    assert len(first.X_train) == 763 and len(first.X_test) == 191
    assert first.y_test.sum() == 43  # the notebook's split: 43 churners held out
    assert first.X_test.index.equals(second.X_test.index)
    assert list(first.X_train.columns) == feature_columns(dataset)


def test_group_split_keeps_identical_rows_on_one_side(dataset):
    frame = load_dataset(dataset)
    dataset["split"]["strategy"] = "group_duplicates"
    split = split_dataset(frame, dataset)
    train = pd.concat([split.X_train, split.y_train], axis=1)
    test = pd.concat([split.X_test, split.y_test], axis=1)
    assert not set(map(tuple, test.values)) & set(map(tuple, train.values))


@pytest.fixture
def http_folder(tmp_path):
    """A loopback HTTP server serving ``tmp_path / 'served'``; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(DATA_FILE, served / DATA_FILE.name)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_missing_file_is_downloaded_and_verified(tmp_path, dataset, http_folder):
    digest = hashlib.sha256(DATA_FILE.read_bytes()).hexdigest()
    assert digest == dataset["sha256"]
    target = {
        **dataset,
        "dir": str(tmp_path / "cache"),
        "download": {"url": f"{http_folder}/{DATA_FILE.name}"},
    }
    assert load_dataset(target).shape == (954, 7)
    assert (tmp_path / "cache" / DATA_FILE.name).read_bytes() == DATA_FILE.read_bytes()


def test_download_with_wrong_hash_is_refused(tmp_path, dataset, http_folder):
    target = {
        **dataset,
        "dir": str(tmp_path / "cache"),
        "sha256": "0" * 64,
        "download": {"url": f"{http_folder}/{DATA_FILE.name}"},
    }
    with pytest.raises(DataContractError, match="failed verification"):
        load_dataset(target)
    assert not (tmp_path / "cache" / DATA_FILE.name).exists()


def test_missing_file_without_source_says_what_to_set(tmp_path, dataset):
    with pytest.raises(DataContractError, match="CHURN_DATA_DIR"):
        load_dataset({**dataset, "dir": str(tmp_path), "download": None})


def test_unreachable_download_says_what_to_set(tmp_path, dataset, http_folder):
    target = {
        **dataset,
        "dir": str(tmp_path / "cache"),
        "download": {"url": f"{http_folder}/nowhere.csv"},
    }
    with pytest.raises(
        DataContractError, match="downloading .* failed.*CHURN_DATA_DIR"
    ):
        load_dataset(target)


def test_a_file_on_disk_that_is_not_the_declared_one_warns_or_stops(
    tmp_path, dataset, caplog
):
    truncated = write_variant(
        tmp_path, dataset, lambda t: "\n".join(t.splitlines()[:100])
    )
    with caplog.at_level("WARNING", logger="churn_experiments.data"):
        assert len(load_dataset(truncated)) == 99
    digest = hashlib.sha256((tmp_path / dataset["file"]).read_bytes()).hexdigest()
    declared = dataset["sha256"]
    assert f"its sha256 is {digest}, the declared one {declared}" in caplog.text
    with pytest.raises(DataContractError, match="dataset.verify is strict"):
        load_dataset({**truncated, "verify": "strict"})
