"""Hydra launcher running each job of a multirun as a Ray task: hydra/launcher=ray."""
