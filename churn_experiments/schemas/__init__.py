"""JSON Schemas for the config groups (one file per group)."""
