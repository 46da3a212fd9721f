"""Declarative churn-classification experiments: YAML in, MLflow runs out."""

__version__ = "0.1.0"

from churn_experiments.search.storage import register_resolver as _register_resolver

_register_resolver()  # ${churn.beside:...} in conf/tracking/local.yaml
