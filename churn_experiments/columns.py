"""Column roles: which part each declared column plays, and the value type it holds.

Every column of a dataset file is declared under ``dataset.columns`` with a ``role``
(the list lives once, in ``schemas/dataset.schema.json``): the ``target``, an ``id``
(kept out of the model, checked for duplicates by the profile), a ``nominal`` or
``ordinal`` category, a ``numeric`` value, or ``ignore`` (not read at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from churn_experiments.errors import DataContractError
from churn_experiments.validation import load_schema

ROLES: tuple[str, ...] = tuple(
    load_schema("dataset")["$defs"]["column"]["properties"]["role"]["enum"]
)
FEATURE_ROLES = ("nominal", "ordinal", "numeric")  # the columns the model reads


def columns_with_role(
    dataset: Mapping[str, Any], *roles: str
) -> dict[str, dict[str, Any]]:
    """The declared columns whose role is one of ``roles``, in file order."""
    return {
        name: spec for name, spec in dataset["columns"].items() if spec["role"] in roles
    }


def feature_columns(dataset: Mapping[str, Any]) -> list[str]:
    """The model's input columns (nominal, ordinal and numeric), in file order."""
    return list(columns_with_role(dataset, *FEATURE_ROLES))


def value_type(spec: Mapping[str, Any]) -> str:
    """``category``, ``int``, ``float`` or ``text`` (an id): what cells parse as."""
    if spec.get("dtype"):
        return spec["dtype"]
    return "category" if "categories" in spec else "text"


def typed_specs(
    dataset: Mapping[str, Any], roles: Iterable[str] = ROLES
) -> dict[str, dict[str, Any]]:
    """The columns of ``roles`` (all but ``ignore`` ones by default) as the contract
    check reads them: each spec with its ``dtype`` spelled out (category, int, float
    or text) and ``nullable`` (default false)."""
    wanted = [role for role in roles if role != "ignore"]
    return {
        name: {
            **spec,
            "dtype": value_type(spec),
            "nullable": bool(spec.get("nullable")),
        }
        for name, spec in columns_with_role(dataset, *wanted).items()
    }


def contract(dataset: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The served model's per-column spec: each input column with its role, value
    type (``dtype``: category, int or float), categories, range and missing values."""
    return typed_specs(dataset, FEATURE_ROLES)


def check_file_columns(
    found: Iterable[str], dataset: Mapping[str, Any], source: str
) -> None:
    """Every column of the file must be declared, and every declared one present."""
    found = list(found)
    declared = dataset["columns"]
    undeclared = [name for name in found if name not in declared]
    if undeclared:
        raise DataContractError(
            f"{source}: column(s) {undeclared} are not declared in dataset.columns; "
            f"give each a role ({', '.join(ROLES)}), e.g. "
            f"{undeclared[0]}: {{role: ignore}}"
        )
    missing = [name for name in declared if name not in found]
    if missing:
        raise DataContractError(
            f"{source}: missing column(s) {missing}; the file has {found}"
        )
