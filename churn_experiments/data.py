"""Load the dataset a config declares, check it against its data contract, split it."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_experiments.columns import check_file_columns, feature_columns, typed_specs
from churn_experiments.contract import check_frame
from churn_experiments.errors import DataContractError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """A train/test split of features and target.

    ``positive`` is the label the model learns as positive: the dataset's
    ``target.positive``, or ``True`` for a binarised target (see :mod:`.target`).
    """

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    positive: Any


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
    return validate_frame(frame, typed_specs(dataset), source=path, first_row=2)


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
    frame: pd.DataFrame,
    columns: Mapping[str, Mapping[str, Any]],
    source: str = "data",
    first_row: int | None = None,
) -> pd.DataFrame:
    """Check ``frame`` against the declared columns and return it with declared dtypes.

    Raises :class:`DataContractError` naming every missing column and every column
    with bad values (a wrong type, an unknown category, a number out of range, a
    missing cell in a column that is not nullable), each with its values and what is
    allowed (see :mod:`churn_experiments.contract`). ``first_row`` turns positions
    into row numbers in messages (2 for a CSV file).
    """
    checked = check_frame(frame, columns)
    if not checked.ok:
        message = checked.message(source, first_row)
        if first_row is not None and "has missing" in message:
            message += (
                "; a column whose cells may be missing declares `nullable: true`"
                ' (and `na_values: [" "]` when blanks are single spaces)'
            )
        raise DataContractError(message)
    return checked.valid_rows()[list(columns)]


def split_dataset(frame: pd.DataFrame, dataset: Mapping[str, Any]) -> Split:
    """Split features and target as declared under ``dataset.split``.

    ``strategy: random`` is scikit-learn's ``train_test_split``; ``strategy:
    group_duplicates`` keeps identical rows on one side so none leaks into the test set.
    The target is checked first and learnt as :func:`target.model_labels` says; a
    split whose training or test part lacks a class is refused, naming the counts.
    """
    from churn_experiments import target as target_spec

    target = dataset["target"]
    target_spec.check_classes(
        frame[target["column"]], target, f"dataset '{dataset['name']}'"
    )
    split = dataset["split"]
    X = frame[feature_columns(dataset)]
    y = target_spec.model_labels(frame[target["column"]], target)
    X_train, X_test, y_train, y_test = _split_rows(X, y, split)
    target_spec.check_split(y_train, y_test, target, bool(split.get("stratify")))
    return Split(X_train, X_test, y_train, y_test, target_spec.model_positive(target))


def _split_rows(
    X: pd.DataFrame, y: pd.Series, split: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if split.get("strategy", "random") == "group_duplicates":
        groups = pd.util.hash_pandas_object(X.assign(**{y.name: y}), index=False)
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=split["test_size"], random_state=split["seed"]
        )
        train_idx, test_idx = next(splitter.split(X, y, groups=groups))
        return X.iloc[train_idx], X.iloc[test_idx], y.iloc[train_idx], y.iloc[test_idx]
    return train_test_split(
        X,
        y,
        test_size=split["test_size"],
        random_state=split["seed"],
        stratify=y if split.get("stratify") else None,
    )
