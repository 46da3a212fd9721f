"""Lets users keep their own config groups (``model/xgb.yaml``...) outside the repo."""
