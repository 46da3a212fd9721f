"""Deployment targets for the champion model (one module per target)."""
