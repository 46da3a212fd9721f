"""Dataset tools: ``python -m churn_experiments.dataset init`` drafts a dataset spec."""
