"""Declarative churn-classification experiments: YAML in, MLflow runs out."""

__version__ = "0.1.0"
