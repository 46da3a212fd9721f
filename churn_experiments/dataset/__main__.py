"""``python -m churn_experiments.dataset init file=PATH target=COL name=NAME out=DIR``.

Drafts ``DIR/dataset/NAME.yaml`` from a CSV file for review; then
``python -m churn_experiments --config-dir DIR dataset=NAME`` trains on it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from churn_experiments.errors import ChurnExperimentsError

REQUIRED = ("file", "target", "name", "out")
OPTIONAL = ("positive", "force")
EXAMPLE = (
    "python -m churn_experiments.dataset init file=data/telco.csv target=Churn "
    "positive=Yes name=telco out=my_conf"
)


def parse(argv: Sequence[str] | None = None) -> dict[str, str]:
    """``init`` and its ``key=value`` settings; a missing or unknown key exits."""
    parser = argparse.ArgumentParser(
        prog="python -m churn_experiments.dataset",
        description="Draft a dataset spec (conf/dataset/NAME.yaml) from a CSV file: "
        "every column with the role it looks like, for you to review.",
        epilog=f"keys: {', '.join(REQUIRED)} (required), positive (the label that "
        "means churned; default: the rarer class), force=true (replace an existing "
        f"draft). Example: {EXAMPLE}",
    )
    parser.add_argument("command", choices=["init"])
    parser.add_argument("settings", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    settings = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep or key not in (*REQUIRED, *OPTIONAL):
            parser.error(
                f"{item!r}: expected KEY=VALUE with KEY one of "
                f"{', '.join((*REQUIRED, *OPTIONAL))}"
            )
        settings[key] = value
    missing = [key for key in REQUIRED if key not in settings]
    if missing:
        keys = ", ".join(f"{key}=..." for key in missing)
        parser.error(f"missing {keys}; e.g. {EXAMPLE}")
    settings["force"] = settings.get("force", "false").lower() in ("true", "1", "yes")
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    """Write the draft and say where it is and how to use it."""
    from churn_experiments.dataset.draft import write_draft

    settings = parse(argv)
    try:
        path = write_draft(settings)
    except ChurnExperimentsError as err:
        sys.exit(f"Error: {err}")
    print(
        f"Wrote {path}: review each column's role, then run\n"
        f"  python -m churn_experiments --config-dir {path.parent.parent} "
        f"dataset={settings['name']}"
    )


if __name__ == "__main__":
    main()
