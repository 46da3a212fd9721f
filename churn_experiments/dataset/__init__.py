"""Dataset tools: ``churn-dataset`` drafts a dataset spec."""
