"""Load the dataset a config declares, check it against its data contract, split it."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_experiments.columns import (
    check_file_columns,
    feature_columns,
    loaded_columns,
    value_type,
)
from churn_experiments.errors import DataContractError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """A train/test split of features and target."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def resolve_csv_path(dataset: Mapping[str, Any]) -> Path:
    """Return the local CSV path, downloading and verifying it first when missing."""
    folder = Path(dataset["dir"]).expanduser()
    path = folder / dataset["file"]
    if path.exists():
        return path.resolve()
    source = dataset.get("download")
    if not source:
        raise DataContractError(
            f"{path} does not exist and dataset '{dataset['name']}' declares no"
            " download source; set CHURN_DATA_DIR or dataset.dir to its folder"
        )
    return fetch(source["url"], dataset.get("sha256"), folder, dataset["file"])


def fetch(url: str, sha256: str | None, folder: Path, file_name: str) -> Path:
    """Download ``url`` into ``folder`` with pooch and verify its sha256 (if given)."""
    import pooch

    log.info("Downloading %s into %s", url, folder)
    try:
        fetched = pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}" if sha256 else None,
            fname=file_name,
            path=folder,
            progressbar=True,
        )
    except ValueError as err:  # pooch's hash mismatch
        raise DataContractError(
            f"download of {url} failed verification: {err}"
        ) from err
    except OSError as err:  # requests' connection errors are OSErrors too
        raise DataContractError(
            f"{folder / file_name} is missing and downloading {url} failed "
            f"({type(err).__name__}); set CHURN_DATA_DIR to the folder holding the file"
        ) from err
    return Path(fetched).resolve()


def load_dataset(dataset: Mapping[str, Any]) -> pd.DataFrame:
    """Read and validate the dataset (cached per file content and contract).

    A dataset with a ``synthetic`` block is generated instead (see
    :mod:`churn_experiments.synthetic`).
    """
    if dataset.get("synthetic"):
        from churn_experiments.synthetic import generate

        return generate(dataset)
    path = resolve_csv_path(dataset)
    digest = _file_digest(path)
    if dataset.get("sha256"):
        verify = dataset.get("verify", "warn")
        check_digest(str(path), digest, dataset["sha256"], verify)
    contract = _freeze(dataset["columns"])
    return _load_cached(str(path), digest, contract).copy()


@functools.lru_cache(maxsize=8)
def check_digest(path: str, found: str, declared: str, verify: str) -> None:
    """Warn once (``verify: strict``: stop) when a file is not the declared one."""
    if found == declared:
        return
    message = (
        f"{path} is not the file dataset.sha256 declares: its sha256 is {found}, "
        f"the declared one {declared} (a truncated or edited copy?)"
    )
    if verify == "strict":
        raise DataContractError(message + "; dataset.verify is strict")
    log.warning("%s; set dataset.verify=strict to stop on this", message)


def dataset_source(dataset: Mapping[str, Any]) -> Any:
    """The rows' source for MLflow: the CSV path, or the generator's settings."""
    if dataset.get("synthetic"):
        from churn_experiments.synthetic import source

        return source(dataset)
    return str(resolve_csv_path(dataset))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, digest: str, contract: tuple) -> pd.DataFrame:
    dataset = {"columns": {name: dict(spec) for name, spec in contract}}
    frame = read_csv(Path(path))
    check_file_columns(frame.columns, dataset, path)
    loaded = {name: dataset["columns"][name] for name in loaded_columns(dataset)}
    return validate_frame(frame, loaded, source=path)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _freeze(columns: Mapping[str, Mapping[str, Any]]) -> tuple:
    return tuple(
        (
            name,
            tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in spec.items()),
        )
        for name, spec in columns.items()
    )


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text columns (the contract decides the types); strips a BOM."""
    try:
        frame = pd.read_csv(
            path, encoding="utf-8-sig", dtype=str, keep_default_na=False
        )
    except pd.errors.EmptyDataError:
        raise DataContractError(
            f"{path} is empty: expected a header row, then one row per customer"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataContractError(f"{path}: not a readable CSV file: {err}") from err
    if frame.empty:
        raise DataContractError(
            f"{path} has a header row but no data rows: nothing to train on"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def validate_frame(
    frame: pd.DataFrame, columns: Mapping[str, Mapping[str, Any]], source: str = "data"
) -> pd.DataFrame:
    """Check ``frame`` against the declared columns and return it with declared dtypes.

    Raises :class:`DataContractError` naming the column (and the offending values) for a
    missing column, a value that is not of the declared type, an unknown category, a
    number outside its declared range, or a missing value where none is allowed. Cells
    listed in a column's ``na_values`` (and nulls) are missing: NaN in the result.
    """
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataContractError(
            f"{source}: missing column(s) {missing}; the file has {list(frame.columns)}"
        )
    typed = {}
    for name, spec in columns.items():
        typed[name] = _typed_column(frame[name], name, spec, source)
    return pd.DataFrame(typed)[list(columns)]


def _typed_column(
    values: pd.Series, name: str, spec: Mapping[str, Any], source: str
) -> pd.Series:
    kind = value_type(spec)
    null = values.isna()
    text = values.where(~null, "").astype(str).str.strip()
    missing = null | text.isin({marker.strip() for marker in spec.get("na_values", [])})
    if missing.any() and not spec.get("nullable", False):
        raise DataContractError(
            f"{source}: column '{name}' has {int(missing.sum())} missing value(s) "
            f"(first at {_row(missing[missing].index[0], source)}); declare "
            f"'nullable: true' for it to be imputed"
        )
    present = text[~missing]
    if kind in ("category", "text"):
        if kind == "category":
            _check_categories(present, name, spec, source)
        return present.astype(object).reindex(text.index)
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if kind == "int":
        bad = pd.concat([bad, present[numbers.notna() & (numbers % 1 != 0)]])
    if len(bad):
        blank = ' Blank cells mean missing only if declared: na_values: [" "].'
        raise DataContractError(
            f"{source}: column '{name}' must hold {kind} values; found "
            f"{sorted(set(bad))[:5]} (first at {_row(bad.index[0], source)})"
            + (blank if (bad == "").any() else "")
        )
    low, high = spec.get("min"), spec.get("max")
    outside = numbers[
        (numbers < (low if low is not None else -math.inf))
        | (numbers > (high if high is not None else math.inf))
    ]
    if len(outside):
        raise DataContractError(
            f"{source}: column '{name}' has value(s) {sorted(set(outside))[:5]} "
            f"outside the declared range [{low}, {high}]"
        )
    if kind == "int" and not missing.any():
        return numbers.astype("int64")
    return numbers.astype("float64").reindex(text.index)


def _check_categories(
    present: pd.Series, name: str, spec: Mapping[str, Any], source: str
) -> None:
    allowed = [str(c) for c in spec["categories"]]
    unknown = sorted(set(present) - set(allowed))
    if unknown:
        raise DataContractError(
            f"{source}: column '{name}' has unknown value(s) {unknown[:5]}; "
            f"allowed: {allowed}"
        )


def _row(index: Any, source: str) -> str:
    """Where a value is: its line in a file (after the header), or its request row."""
    return f"row {index}" if source == "request" else f"row {index + 2} of the file"


def split_dataset(frame: pd.DataFrame, dataset: Mapping[str, Any]) -> Split:
    """Split features and target as declared under ``dataset.split``.

    ``strategy: random`` is scikit-learn's ``train_test_split``; ``strategy:
    group_duplicates`` keeps identical rows on one side so none leaks into the test set.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    target = dataset["target"]["column"]
    split = dataset["split"]
    X, y = frame[feature_columns(dataset)], frame[target]
    if split.get("strategy", "random") == "group_duplicates":
        groups = pd.util.hash_pandas_object(X.assign(**{target: y}), index=False)
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=split["test_size"], random_state=split["seed"]
        )
        train_idx, test_idx = next(splitter.split(X, y, groups=groups))
        return Split(
            X.iloc[train_idx], X.iloc[test_idx], y.iloc[train_idx], y.iloc[test_idx]
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=split["test_size"],
        random_state=split["seed"],
        stratify=y if split.get("stratify") else None,
    )
    return Split(X_train, X_test, y_train, y_test)
