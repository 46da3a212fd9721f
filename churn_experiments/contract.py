"""The data contract of a table, checked over a whole DataFrame at once.

A contract maps each column to its spec, as ``conf/dataset/*.yaml`` declares it:

- ``dtype``: ``int``, ``float`` or ``category``;
- ``categories``: the allowed values of a ``category`` column;
- ``min`` / ``max``: the inclusive range of a number (``null``: unbounded);
- ``nullable``: whether a cell may be missing (default ``false``); ``na_values``: the
  texts that mean missing besides an empty cell or a JSON ``null``.

Other keys (a column's role, say) are ignored here. :func:`check_frame` returns a
:class:`ContractCheck`: the rows with declared dtypes, and every broken cell with its
column, value and what is allowed, so a caller can refuse a request naming every bad
value (:meth:`ContractCheck.message`), or score the rows that keep the contract
(:meth:`ContractCheck.valid_rows`) and set the others aside with a reason each
(:meth:`ContractCheck.reasons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Spec = Mapping[str, Any]
Columns = Mapping[str, Spec]

NUMERIC_DTYPES = {"int": "int64", "float": "float64"}
VALUES_SHOWN = 10  # distinct bad values a message names per column
VIOLATION_COLUMNS = ["row", "column", "value", "allowed"]


@dataclass(frozen=True)
class ContractCheck:
    """What :func:`check_frame` found.

    ``typed`` holds every row of the frame (same index) and the declared columns
    present, with declared dtypes; a broken cell is NaN there. ``violations`` has one
    row per broken cell: ``row`` (the frame's index label), ``column``, ``value`` (as
    received) and ``allowed``. ``missing`` names declared columns the frame lacks;
    ``columns`` is the frame's own column list; ``dtypes`` the declared dtype of each
    column in ``typed``.
    """

    typed: pd.DataFrame
    violations: pd.DataFrame
    missing: tuple[str, ...]
    columns: tuple[str, ...]
    dtypes: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """Whether every column is present and every cell keeps the contract."""
        return not self.missing and self.violations.empty

    def bad_rows(self) -> pd.Index:
        """Index labels of the rows with at least one broken cell, in frame order."""
        return self.typed.index[self._bad_mask()]

    def valid_rows(self) -> pd.DataFrame:
        """The rows that keep the contract, declared columns and dtypes, frame index.

        Raises ValueError when a declared column is missing (no row can be valid).
        """
        if self.missing:
            raise ValueError(self.message())
        rows = self.typed[~self._bad_mask()] if len(self.violations) else self.typed
        return rows.astype(_final_dtypes(rows, self.dtypes))

    def reasons(self) -> pd.Series:
        """Per bad row (index label, frame order), why it breaks the contract.

        ``"Age=500 (allowed: an integer from 18 to 100); FrequentFlyer='Maybe'
        (allowed: one of 'Yes', 'No', 'No Record')"``
        """
        if self.violations.empty:
            return pd.Series([], dtype=object, name="reason")
        found = self.violations
        cells = found["column"] + "=" + found["value"].map(show_value)
        cells = cells + " (allowed: " + found["allowed"] + ")"
        by_row = cells.groupby(found["row"], sort=False).agg("; ".join)
        return by_row.reindex(self.bad_rows()).rename("reason")

    def problems(self, first_row: int | None = None) -> list[str]:
        """One line per missing column and per column with bad values (all named).

        With ``first_row``, each line ends with the first bad row's position plus
        ``first_row`` (2 gives a CSV file's line number: its header is line 1).
        """
        lines = []
        if self.missing:
            lines.append(
                f"missing column(s) {list(self.missing)}; the data has"
                f" {list(self.columns)}"
            )
        for column, cells in self.violations.groupby("column", sort=False):
            values = list(dict.fromkeys(cells["value"].map(show_value)))
            shown = ", ".join(values[:VALUES_SHOWN])
            if len(values) > VALUES_SHOWN:
                shown += f" and {len(values) - VALUES_SHOWN} more"
            line = f"column '{column}' has {shown} (allowed: {cells['allowed'].iloc[0]}"
            if first_row is not None:
                position = self.typed.index.get_loc(cells["row"].iloc[0])
                line += f"; first at row {position + first_row}"
            lines.append(line + ")")
        return lines

    def message(self, source: str = "data", first_row: int | None = None) -> str:
        """All problems in one text: ``"{source}: 2 of 5 row(s) break ...: ..."``."""
        problems = self.problems(first_row)
        if self.violations.empty:
            head = f"{source}: "
        else:
            head = (
                f"{source}: {len(self.bad_rows())} of {len(self.typed)} row(s) break"
                " the data contract: "
            )
        return head + "; ".join(problems)

    def _bad_mask(self) -> np.ndarray:
        if self.violations.empty:
            return np.zeros(len(self.typed), dtype=bool)
        return self.typed.index.isin(self.violations["row"])


def check_frame(frame: pd.DataFrame, columns: Columns) -> ContractCheck:
    """Check every cell of ``frame`` against ``columns`` (column name -> spec).

    Vectorised per column; extra columns of ``frame`` are ignored. Values may arrive
    as text (a CSV read with ``dtype=str``) or typed (a JSON request).
    """
    missing = tuple(name for name in columns if name not in frame.columns)
    typed: dict[str, pd.Series] = {}
    found: list[pd.DataFrame] = []
    for name, spec in columns.items():
        if name in missing:
            continue
        values, bad, allowed = check_column(frame[name], spec)
        typed[name] = values
        if bad.any():
            found.append(
                pd.DataFrame(
                    {
                        "row": frame.index[bad],
                        "column": name,
                        "value": frame[name][bad].to_numpy(dtype=object),
                        "allowed": allowed,
                    }
                )
            )
    violations = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame({name: [] for name in VIOLATION_COLUMNS}, dtype=object)
    )
    return ContractCheck(
        typed=pd.DataFrame(typed, index=frame.index),
        violations=violations,
        missing=missing,
        columns=tuple(map(str, frame.columns)),
        dtypes={name: columns[name]["dtype"] for name in typed},
    )


def check_column(values: pd.Series, spec: Spec) -> tuple[pd.Series, np.ndarray, str]:
    """One column: typed values (NaN where bad), a mask of bad cells, what's allowed."""
    typed_input = values.dtype.kind in "iuf"
    text = None if typed_input else values.astype(str).str.strip()
    absent = values.isna().to_numpy()
    if text is not None:
        tokens = ["", *map(str, spec.get("na_values") or ())]
        absent = absent | text.isin(tokens).to_numpy()
    if spec["dtype"] == "category":
        if text is None:
            text = values.astype(str)
        known = text.isin([str(c) for c in spec["categories"]]).to_numpy()
        bad = ~known & ~absent
        typed = text.astype(object).where(known, np.nan)
    else:
        if text is None:
            numbers = values.astype("float64")
        else:
            numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        wrong = numbers.isna().to_numpy()
        if spec["dtype"] == "int":
            wrong = wrong | (numbers % 1 != 0).to_numpy()
        low, high = spec.get("min"), spec.get("max")
        if low is not None:
            wrong = wrong | (numbers < low).to_numpy()
        if high is not None:
            wrong = wrong | (numbers > high).to_numpy()
        bad = wrong & ~absent
        typed = numbers.where(~wrong)
    if not spec.get("nullable", False):
        bad = bad | absent
    return typed, bad, allowed_text(spec)


def allowed_text(spec: Spec) -> str:
    """What a column may hold, in words: ``an integer from 18 to 100``."""
    if spec["dtype"] == "category":
        text = "one of " + ", ".join(repr(str(c)) for c in spec["categories"])
    else:
        text = "an integer" if spec["dtype"] == "int" else "a number"
        low, high = spec.get("min"), spec.get("max")
        if low is not None and high is not None:
            text += f" from {low:g} to {high:g}"
        elif low is not None:
            text += f" >= {low:g}"
        elif high is not None:
            text += f" <= {high:g}"
    return text + (", or missing" if spec.get("nullable", False) else "")


def show_value(value: Any) -> str:
    """A cell as a message shows it: ``'Maybe'``, ``500``, ``missing``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, str):
        return repr(value) if value.strip() else "missing"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _final_dtypes(rows: pd.DataFrame, declared: Mapping[str, str]) -> dict[str, str]:
    """int columns become int64 unless a (nullable) cell is missing, floats float64."""
    dtypes = {}
    for name, dtype in declared.items():
        if dtype == "int" and not rows[name].isna().any():
            dtypes[name] = NUMERIC_DTYPES["int"]
        elif dtype in NUMERIC_DTYPES:
            dtypes[name] = NUMERIC_DTYPES["float"]
    return dtypes
