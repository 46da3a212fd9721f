"""Declarative churn-classification experiments: YAML in, MLflow runs out."""

__version__ = "0.1.0"

from churn_experiments import labels
from churn_experiments.search.storage import register_resolvers

register_resolvers()  # ${churn.beside:...}, ${churn.in_schema:...} in conf/tracking/
labels.register_resolver()  # ${churn.job_dir:...} in conf/hydra/default.yaml
