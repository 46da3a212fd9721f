"""Which packages the distribution holds; everything else is in pyproject.toml.

The top-level ``conf/`` (the folder users edit in a checkout) ships as the package
``churn_experiments.conf``: the commands read it as ``pkg://churn_experiments.conf``,
so an installed copy (editable or not) finds its configs from any folder.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["churn_experiments", "churn_experiments.*"]),
        *find_namespace_packages("plugins", include=["hydra_plugins.*"]),
        *(
            f"churn_experiments.{name}"
            for name in find_namespace_packages(include=["conf", "conf.*"])
        ),
    ],
    package_dir={
        "churn_experiments.conf": "conf",
        "hydra_plugins": "plugins/hydra_plugins",
    },
)
