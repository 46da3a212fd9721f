"""Draft ``conf/dataset/<name>.yaml`` from a CSV file: a guess per column, for review.

Each column gets the role it looks like: the ``target`` named by the user, an ``id``
(every value different), ``numeric`` (every cell a number), ``nominal`` (text with a
few levels) or ``ignore`` (text with too many levels to one-hot), with its categories
or observed range, the missing-value markers found (blank and single-space cells) and
a comment saying why. The file's sha256 and the target's class balance go in too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from churn_experiments.data import read_csv
from churn_experiments.errors import ConfigError

MAX_NOMINAL_LEVELS = 20  # text columns with more levels are left out (role: ignore)
PLAIN = re.compile(r"[A-Za-z_][\w .-]*")  # text that needs no quotes in a flow list


@dataclass(frozen=True)
class Guess:
    """One column's drafted spec and the reason for it."""

    spec: dict[str, Any]
    comment: str


def draft_dataset(path: Path, target: str, name: str, positive: Any = None) -> str:
    """The YAML text of a dataset spec for the CSV at ``path``."""
    frame = read_csv(path)
    if target not in frame.columns:
        raise ConfigError(
            f"target={target}: no such column in {path}; its columns: "
            f"{list(frame.columns)}"
        )
    guesses = {column: guess_column(frame[column]) for column in frame.columns}
    guesses[target], positive, balance = _target(frame[target], positive, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = [
        f"# Drafted by `churn-dataset` from {path.name}:",
        f"# {len(frame)} rows. Review every column's role; the comments say why each",
        "# was guessed. Roles: target, id, nominal, ordinal, numeric, ignore.",
        f"name: {name}",
        _dir_line(path),
        f"file: {_text(path.name)}",
        f"sha256: {digest}   # a different file on disk gets a warning",
        "verify: warn                         # strict: stop instead",
        "target:",
        f"  column: {_text(target)}",
        f"  positive: {_scalar(positive)}   # class balance: {balance}",
        "columns:",
    ]
    for column, guess in guesses.items():
        spec = ", ".join(f"{k}: {_value(v)}" for k, v in guess.spec.items())
        lines += [f"  # {guess.comment}", f"  {_text(column)}: {{{spec}}}"]
    lines += [
        "split:",
        "  test_size: 0.2",
        "  stratify: false                    # true keeps the class balance in both",
        "  seed: ${seed}",
    ]
    return "\n".join(lines) + "\n"


def guess_column(values: pd.Series) -> Guess:
    """The role, spec and reason for one column of text cells."""
    text = values.str.strip()
    blank = text == ""
    markers = sorted(set(values[blank]))
    present = text[~blank]
    missing = {"na_values": markers, "nullable": True} if markers else {}
    note = f"; {int(blank.sum())} blank cell(s) read as missing" if markers else ""
    numbers = pd.to_numeric(present, errors="coerce")
    is_numeric = len(present) > 0 and bool(numbers.notna().all())
    integral = is_numeric and bool((numbers % 1 == 0).all())
    levels = present.nunique()
    if not len(present):
        return Guess({"role": "ignore"}, "every cell blank: left out")
    if levels == len(present) and (integral or not is_numeric):
        return Guess({"role": "id", **missing}, "every value different: an identifier")
    if is_numeric:
        dtype = "int" if integral else "float"
        low, high = numbers.min(), numbers.max()
        low, high = (int(low), int(high)) if integral else (float(low), float(high))
        spec = {"role": "numeric", "dtype": dtype, "min": low, "max": high, **missing}
        return Guess(
            spec, f"{dtype} numbers; range as observed (widen it for new data){note}"
        )
    if levels <= MAX_NOMINAL_LEVELS:
        categories = sorted(present.unique())
        spec = {"role": "nominal", "categories": categories, **missing}
        return Guess(
            spec,
            f"text with {levels} levels; if they have an order, make it role: "
            f"ordinal and list them lowest first{note}",
        )
    return Guess(
        {"role": "ignore"},
        f"text with {levels} levels, too many to one-hot (more than "
        f"{MAX_NOMINAL_LEVELS}): left out",
    )


def _target(values: pd.Series, positive: Any, path: Path) -> tuple[Guess, Any, str]:
    text = values.str.strip()
    counts = text.value_counts()
    if len(counts) < 2:
        raise ConfigError(
            f"{path}: target column {values.name!r} holds one class only "
            f"({list(counts.index)}): nothing to predict"
        )
    numbers = pd.to_numeric(text, errors="coerce")
    integral = bool(numbers.notna().all() and (numbers % 1 == 0).all())
    if positive is None:
        positive = counts.index[-1]  # the rarer class: churners usually are
        why = "the rarer class; confirm it means churned"
    else:
        why = "as given"
    if str(positive) not in counts.index:
        raise ConfigError(
            f"positive={positive}: not a class of {values.name!r}; its classes: "
            f"{sorted(counts.index)}"
        )
    balance = ", ".join(
        f"{label} {n} ({n / len(text):.1%})" for label, n in counts.items()
    )
    if integral:
        spec = {
            "role": "target",
            "dtype": "int",
            "min": int(numbers.min()),
            "max": int(numbers.max()),
        }
        positive = int(positive)
    else:
        spec = {"role": "target", "categories": sorted(counts.index)}
    return Guess(spec, f"the target; positive label {why}"), positive, balance


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    """Numbers and booleans plain, text always quoted (so ``Yes`` stays text)."""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return _text(str(value))


def _dir_line(path: Path) -> str:
    """``dir:``, the file's folder: relative to the working directory when it lies
    inside it (the spec then works in every clone of a project), else absolute."""
    folder = path.parent.resolve()
    try:
        relative = folder.relative_to(Path.cwd().resolve())
    except ValueError:
        return f"dir: {_text(str(folder))}   # the folder holding the file"
    return (
        f"dir: {_text(str(relative))}   # the folder holding the file, from where "
        "you run the commands"
    )


def _text(value: str) -> str:
    """Plain when YAML reads it back as the same text, else double-quoted (JSON)."""
    if PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)  # a JSON string is a double-quoted YAML scalar


def write_draft(settings: Mapping[str, Any]) -> Path:
    """Write ``<out>/dataset/<name>.yaml`` from the ``init`` settings; refuse to
    overwrite unless ``force``."""
    path = Path(settings["file"]).expanduser()
    if not path.is_file():
        raise ConfigError(f"file={path}: no such file")
    target = Path(settings["out"]).expanduser() / "dataset" / f"{settings['name']}.yaml"
    if target.exists() and not settings.get("force"):
        raise ConfigError(f"{target} exists; pass force=true to replace it")
    text = draft_dataset(
        path, settings["target"], settings["name"], settings.get("positive")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
